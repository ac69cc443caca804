import type { Socket } from "node:net";
import type { CheckProtocol } from "./check-service.js";
import { probeHttp } from "./http-probe.js";
import { probeMysql } from "./mysql-probe.js";
import { probePostgres } from "./postgres-probe.js";
import type { Probe, ProbeOptions, ProbeResult } from "./probe.js";
import { probeRedis } from "./redis-probe.js";
import { probeTcp } from "./tcp-probe.js";
import { probeTls } from "./tls-probe.js";

const PROBES: Record<CheckProtocol, Probe> = {
  postgres: probePostgres,
  mysql: probeMysql,
  redis: probeRedis,
  http: probeHttp,
  tls: probeTls,
  tcp: probeTcp,
};

/** Runs the protocol's probe on an open stream; an unexpected failure becomes the report's problem, not a crash. */
export async function runProbe(protocol: CheckProtocol, socket: Socket, options: ProbeOptions): Promise<ProbeResult> {
  try {
    return await PROBES[protocol](socket, options);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { isHealthy: false, summary: `the ${protocol} probe failed`, details: {}, probeMs: null, problem: reason };
  } finally {
    socket.destroy();
  }
}
