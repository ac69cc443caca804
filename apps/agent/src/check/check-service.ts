import type { ControlClient } from "../daemon/control-client.js";
import type { ServiceLookup } from "../daemon/control-protocol.js";
import { ConnectError, describeError } from "../errors.js";
import { createDeadline, type Deadline } from "./deadline.js";
import { guessProtocol } from "./guess-protocol.js";
import { type CheckStream, openCheckStream } from "./open-check-stream.js";
import { runProbe } from "./run-probe.js";

export const checkProtocols = ["postgres", "mysql", "redis", "http", "tls", "tcp"] as const;
export type CheckProtocol = (typeof checkProtocols)[number];

export interface CheckServiceRequest {
  service: string;
  /** The workspace that shared it, as in connect reach --from. */
  from?: string;
  /** Absent: guessed (from the service's port when known, see portHint). */
  protocol?: CheckProtocol;
  /**
   * A port that may say what the service is (e.g. pconnect.yml's port), used for guessing only;
   * when it names no protocol, the port the service is exposed from (when the hub tells) is tried.
   */
  portHint?: number;
  /** The whole check; default DEFAULT_CHECK_TIMEOUT_MS. */
  timeoutMs?: number;
}

export interface CheckReport {
  service: string;
  from?: string;
  protocol: CheckProtocol;
  isProtocolGuessed: boolean;
  /** The service answered the probe as that protocol should. */
  isHealthy: boolean;
  /** Time to open a stream to it through the hub (null: never opened). */
  openMs: number | null;
  /** Round trip of the protocol probe after the open. */
  probeMs: number | null;
  /** One line for people. */
  summary: string;
  /** e.g. { version: "15.4", tls: false } / { status: 200, server: "nginx" }. */
  details: Record<string, string | number | boolean>;
  /** When not healthy: what failed and what to do next. */
  problem?: string;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 10_000;
export const MAX_CHECK_TIMEOUT_MS = 60_000;

export function isCheckProtocol(value: unknown): value is CheckProtocol {
  return typeof value === "string" && (checkProtocols as readonly string[]).includes(value);
}

/** Checks a service from this machine's running agent, through the tunnel; never asks the hub to probe. */
export async function checkService(control: ControlClient, request: CheckServiceRequest): Promise<CheckReport> {
  const service = request.service.trim();
  if (service === "") throw new ConnectError("INVALID_INPUT", "Give the service to check, for example connect check prod-db");
  const timeoutMs = request.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > MAX_CHECK_TIMEOUT_MS) {
    throw new ConnectError("INVALID_INPUT", `A check's timeout must be between 100 ms and ${MAX_CHECK_TIMEOUT_MS / 1000} s`);
  }
  const deadline = createDeadline(timeoutMs);
  const from = request.from?.trim() || undefined;
  const target = from === undefined ? { service } : { service, from };

  // The hub's word on the service (online? which port?) is worth having but not required: the
  // stream open below asks the hub again and says why if it refuses.
  let lookup: ServiceLookup | null | undefined;
  try {
    lookup = (await control.request("lookupService", target, { timeoutMs: deadline.remainingMs() })).service;
  } catch (error) {
    if (error instanceof ConnectError && (error.code === "AGENT_NOT_RUNNING" || error.code === "INVALID_INPUT")) throw error;
    lookup = undefined;
  }

  const choice = chooseProtocol(request, lookup?.targetPort);
  const base = { ...target, protocol: choice.protocol, isProtocolGuessed: choice.isGuessed };
  const fail = (summary: string, problem: string, openMs: number | null = null): CheckReport => ({
    ...base,
    isHealthy: false,
    openMs,
    probeMs: null,
    summary,
    details: {},
    problem,
  });

  if (lookup === null) {
    const what = from === undefined ? service : `${service} from ${from}`;
    return fail(
      "service not found",
      `Service not found: this agent can reach no service ${what}; list the ones it can with connect services`,
    );
  }
  if (lookup !== undefined && !lookup.isOnline) {
    const whose =
      lookup.from === undefined
        ? `its agent${lookup.agentLabel === undefined ? "" : ` ${lookup.agentLabel}`} is not connected to the hub`
        : `the agent of ${lookup.from} exposing it is not connected to the hub`;
    return fail("offline", `${service} is offline: ${whose}; start it there with connect up, and see connect services`);
  }

  let stream: CheckStream;
  try {
    stream = await openCheckStream(control, target, deadline);
  } catch (error) {
    if (error instanceof ConnectError && error.code === "AGENT_NOT_RUNNING") throw error;
    return fail("could not reach it", describeError(error));
  }
  try {
    if (!stream.isOpened) return fail("refused", stream.problem, stream.openMs);
    const result = await runProbe(choice.protocol, stream.socket, { deadline, serviceName: service });
    const isEndToEnd = await stream.readIsEndToEnd();
    const details = isEndToEnd === undefined ? result.details : { ...result.details, endToEnd: isEndToEnd };
    return {
      ...base,
      isHealthy: result.isHealthy,
      openMs: stream.openMs,
      probeMs: result.probeMs,
      summary: result.summary,
      details,
      ...(result.problem === undefined ? {} : { problem: describeProbeProblem(result.problem, choice) }),
    };
  } finally {
    await stream.close();
  }
}

function chooseProtocol(
  request: CheckServiceRequest,
  targetPort: number | undefined,
): { protocol: CheckProtocol; isGuessed: boolean; port?: number } {
  if (request.protocol !== undefined) return { protocol: request.protocol, isGuessed: false };
  // The first port that names a protocol wins: a local port moved off 5432 (pconnect.yml's
  // 25432, say) says nothing, while the port the service is exposed from still does.
  const ports = [request.portHint, targetPort].filter((port) => port !== undefined);
  for (const port of ports) {
    const protocol = guessProtocol(port);
    if (protocol !== "tcp") return { protocol, isGuessed: true, port };
  }
  const [port] = ports;
  return port === undefined ? { protocol: "tcp", isGuessed: true } : { protocol: "tcp", isGuessed: true, port };
}

/** A guessed protocol may be the wrong one: say how to name the right one. */
function describeProbeProblem(problem: string, choice: { isGuessed: boolean }): string {
  return choice.isGuessed ? `${problem} (the protocol was guessed: name it with --protocol if it is another)` : problem;
}

export type { Deadline };
