import type { ControlClient } from "../daemon/control-client.js";
import type { ControlMethod, ControlMethods } from "../daemon/control-protocol.js";
import { ConnectError } from "../errors.js";

export type FakeControlHandlers = {
  [M in ControlMethod]?: (params: ControlMethods[M]["params"]) => Promise<ControlMethods[M]["result"]>;
};

/** A running agent as a client of its control socket sees it: only the methods a test gives, each call recorded. */
export function createFakeControl(
  handlers: FakeControlHandlers,
): ControlClient & { calls: { method: string; params: unknown }[] } {
  const calls: { method: string; params: unknown }[] = [];
  return {
    socketPath: "/nonexistent/agent.sock",
    calls,
    request(method, params) {
      calls.push({ method, params });
      const handler = handlers[method] as ((p: unknown) => Promise<unknown>) | undefined;
      if (handler === undefined) return Promise.reject(new ConnectError("CONTROL_FAILED", `no ${method} here`));
      return handler(params) as Promise<never>;
    },
  };
}
