import { connect as connectTcp, type Socket } from "node:net";
import { ResetCode } from "@private-connect/protocol";
import type { ControlClient } from "../daemon/control-client.js";
import type { ReachStatus, StreamOpenAnswer } from "../daemon/control-protocol.js";
import { ConnectError, describeError } from "../errors.js";
import type { Deadline } from "./deadline.js";

interface StreamCommon {
  /** Whether the stream's reach went end to end, from the running agent (undefined: it does not say). */
  readIsEndToEnd(): Promise<boolean | undefined>;
  /** Closes the local connection and stops the reach if the check made it; never throws. */
  close(): Promise<void>;
}

export type CheckStream =
  | (StreamCommon & { isOpened: true; socket: Socket; openMs: number | null })
  | (StreamCommon & { isOpened: false; openMs: number | null; problem: string });

/** After the local connection closed, how long the agent's word on why may still take to come. */
const ANSWER_GRACE_MS = 1_000;

type Target = { service: string; from?: string };

function isSameReach(reach: { service: string; from?: string | undefined }, target: Target): boolean {
  return reach.service === target.service && reach.from === target.from;
}

/** Where to connect to reach a listener bound to `host`: a wildcard address means loopback. */
function toConnectHost(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::" || host === "[::]") return "::1";
  return host;
}

/**
 * Opens one stream to the service through this machine's running agent: over the reach the
 * user already has, else over a temporary reach on 127.0.0.1 (a free port), stopped again by
 * close(). The agent says how long the hub took to answer this very stream's open, or why it
 * refused it.
 */
export async function openCheckStream(control: ControlClient, target: Target, deadline: Deadline): Promise<CheckStream> {
  const status = await control.request("status", {}, { timeoutMs: deadline.remainingMs() });
  if (status.hub.state !== "connected") {
    throw new ConnectError(
      "NOT_CONNECTED",
      `This agent is not connected to the hub (${status.hub.state}${status.hub.lastError === undefined ? "" : `: ${status.hub.lastError}`}): see connect status`,
    );
  }
  const existing = status.reaches.find((reach) => isSameReach(reach, target));
  const reach =
    existing ??
    (await control.request("reach", { ...target, host: "127.0.0.1", port: 0 }, { timeoutMs: deadline.remainingMs() }));
  const isTemporary = existing === undefined;
  let socket: Socket | undefined;
  const close = async (): Promise<void> => {
    socket?.destroy();
    if (!isTemporary) return;
    // The check made this reach: it must not outlive the check, whatever happened in it.
    await control.request("stopReach", target, { timeoutMs: 5_000 }).catch(() => undefined);
  };
  const readReach = async (): Promise<ReachStatus | undefined> => {
    try {
      const now = await control.request("status", {}, { timeoutMs: 5_000 });
      return now.reaches.find((candidate) => isSameReach(candidate, target));
    } catch {
      return undefined;
    }
  };
  const readIsEndToEnd = async () => (await readReach())?.security?.isEndToEnd;
  try {
    const connected = await connectLocal(toConnectHost(reach.host), reach.port, deadline);
    socket = connected;
    const answer = await waitForAnswer(control, connected, reach.port, deadline);
    if (answer.isAnswered && answer.isOpened)
      return { isOpened: true, socket: connected, openMs: round(answer.openMs), readIsEndToEnd, close };
    if (answer.isAnswered && answer.refusal !== undefined) {
      return {
        isOpened: false,
        openMs: round(answer.openMs),
        problem: describeRefusal(target.service, answer.refusal),
        readIsEndToEnd,
        close,
      };
    }
    // Refused before anything went to the hub (an end-to-end policy, a pin), or no answer in time.
    const known = await readReach();
    const reason = known?.security?.refusal ?? known?.lastFailure?.reason;
    const problem =
      reason !== undefined
        ? `The stream to ${target.service} was refused: ${reason}`
        : deadline.isPast()
          ? `The hub did not answer the open of a stream to ${target.service} within the timeout: see connect status and connect doctor`
          : `The stream to ${target.service} closed before the hub answered: see connect status`;
    return { isOpened: false, openMs: null, problem, readIsEndToEnd, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function round(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 10) / 10;
}

function connectLocal(host: string, port: number, deadline: Deadline): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConnectError("CONTROL_FAILED", `The agent's reach on ${host}:${port} did not accept a connection in time`));
    }, deadline.remainingMs());
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", onError);
      // From here the probe's reader reports errors; until it attaches, none may crash the check.
      socket.on("error", () => {});
      resolve(socket);
    });
    const onError = (error: Error) => {
      clearTimeout(timer);
      reject(
        new ConnectError("CONTROL_FAILED", `Cannot connect to the agent's reach on ${host}:${port}: ${describeError(error)}`),
      );
    };
    socket.once("error", onError);
  });
}

/** The agent's answer for this connection; if the connection closes first, a little more time for it. */
async function waitForAnswer(
  control: ControlClient,
  socket: Socket,
  reachPort: number,
  deadline: Deadline,
): Promise<StreamOpenAnswer> {
  const clientPort = socket.localPort;
  const none: StreamOpenAnswer = { isAnswered: false, isOpened: false, openMs: null };
  if (clientPort === undefined) return none;
  const timeoutMs = deadline.remainingMs();
  const asked = control
    .request("waitStreamOpen", { reachPort, clientPort, timeoutMs }, { timeoutMs: timeoutMs + 2_000 })
    .catch((error: unknown) => {
      // The agent still running was started by an older connect, which cannot time an open.
      if (error instanceof Error && error.message.startsWith("Unknown control method")) {
        throw new ConnectError(
          "CONTROL_FAILED",
          "The running agent is older than this connect and cannot time a stream: restart it with connect down, then connect up",
        );
      }
      return none;
    });
  let timer: NodeJS.Timeout | undefined;
  const closed = new Promise<StreamOpenAnswer>((resolve) => {
    socket.once("close", () => {
      timer = setTimeout(() => resolve(none), ANSWER_GRACE_MS);
    });
  });
  try {
    return await Promise.race([asked, closed]);
  } finally {
    clearTimeout(timer);
  }
}

function describeRefusal(service: string, refusal: { code: number; reason: string }): string {
  const reason = refusal.reason.trim() === "" ? `code ${refusal.code}` : refusal.reason;
  switch (refusal.code) {
    case ResetCode.SERVICE_OFFLINE:
      return `${service} is offline: ${reason}; see connect services`;
    case ResetCode.CONNECT_FAILED:
      return `The agent exposing ${service} cannot connect to it (${reason}): is the service running on that machine? connect status there shows the exposure's last failure`;
    case ResetCode.SERVICE_NOT_FOUND:
      return `Service not found: ${reason}; list the services this agent can reach with connect services`;
    case ResetCode.UNAVAILABLE:
      return `${service} is unavailable now: ${reason}; see connect status`;
    default:
      return `The hub refused the stream to ${service}: ${reason}`;
  }
}
