import { isLoopbackHost } from "../config/hub-url.js";
import type { AgentIdentity } from "../config/identity.js";
import type { ConfigPaths } from "../config/paths.js";
import { readState } from "../config/state.js";
import { createControlClient } from "../daemon/control-client.js";
import { readRevocation } from "../daemon/last-stop.js";
import { listAgents } from "../sdk/agents.js";
import { createHubClient } from "../sdk/hub-client.js";
import { checkAgentProcess } from "./agent-check.js";
import { type DoctorCheck, describeFailure, fail, NETWORK_TIMEOUT_MS, pass, skip } from "./check.js";
import { checkClockSkew } from "./clock-check.js";
import { checkConfigDir } from "./config-check.js";
import { checkHealth, fetchHealth, type HealthAnswer } from "./health-check.js";
import { checkHubUrl } from "./hub-url-check.js";
import { checkIdentity } from "./identity-check.js";
import { probeTcp, readHubEndpoint, resolveHost } from "./network.js";
import { checkRelay } from "./relay-check.js";
import { probeRelay } from "./relay-probe.js";
import { checkExposureTargets, checkReachPorts } from "./target-checks.js";
import { checkTls } from "./tls-check.js";
import { checkToken } from "./token-check.js";

const HUB_CHECK_NAMES = ["hub url", "dns", "tcp", "tls", "healthz", "clock", "token", "protocol"];

export interface DoctorOptions {
  paths: ConfigPaths;
  isInsecureAllowed: boolean;
  agentVersion: string;
  /** process.getuid(); undefined where there are no uids. */
  uid: number | undefined;
  userName: string;
  now?: () => Date;
  timeoutMs?: number;
}

/**
 * Runs every check of `connect doctor` and returns them in display order. Independent checks
 * run side by side and each network step is bounded, so a dead hub costs seconds, not minutes.
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorCheck[]> {
  const { paths } = options;
  const now = options.now ?? (() => new Date());
  const [config, identityResult, agentResult] = await Promise.all([
    checkConfigDir(paths, { uid: options.uid, userName: options.userName }),
    checkIdentity(paths.identity),
    checkAgentProcess(paths, createControlClient(paths.socket)),
  ]);
  const status = agentResult.status;
  const hubChecks =
    identityResult.identity === undefined
      ? Promise.resolve([skip("hub", "not checked: no identity to take the hub URL and token from")])
      : runHubChecks(identityResult.identity, status, options, now);
  // The running agent's own lists are what it serves now; state.json is what it restores.
  const targets = status
    ? Promise.resolve({ exposures: status.exposures, reaches: status.reaches, problem: undefined })
    : readState(paths.state).then(
        (state) => ({ ...state, problem: undefined }),
        (error: unknown) => ({ exposures: [], reaches: [], problem: describeFailure(error) }),
      );
  const targetChecks = targets.then(async (saved) => {
    const [exposures, reaches] = await Promise.all([
      checkExposureTargets(saved.exposures, options.timeoutMs),
      checkReachPorts(saved.reaches, status !== undefined, options.timeoutMs),
    ]);
    const stateProblem =
      saved.problem === undefined
        ? []
        : [fail("state", saved.problem, `fix or remove ${paths.state}, then expose and reach again`)];
    return [...stateProblem, ...exposures, ...reaches];
  });
  const [hub, local] = await Promise.all([hubChecks, targetChecks]);
  return [config, identityResult.check, agentResult.check, ...hub, ...local];
}

async function runHubChecks(
  identity: AgentIdentity,
  status: Awaited<ReturnType<typeof checkAgentProcess>>["status"],
  options: DoctorOptions,
  now: () => Date,
): Promise<DoctorCheck[]> {
  const timeoutMs = options.timeoutMs ?? NETWORK_TIMEOUT_MS;
  const checks: DoctorCheck[] = [checkHubUrl(identity.hubUrl, { isInsecureAllowed: options.isInsecureAllowed })];
  // Every hub check gets its line, checked or not, so --json always lists the same names.
  const skipRest = (reason: string) => [
    ...checks,
    ...HUB_CHECK_NAMES.filter((name) => !checks.some((check) => check.name === name)).map((name) =>
      skip(name, `not checked: ${reason}`),
    ),
  ];
  let endpoint: ReturnType<typeof readHubEndpoint>;
  try {
    endpoint = readHubEndpoint(identity.hubUrl);
  } catch {
    return skipRest("the hub URL is invalid");
  }

  try {
    const addresses = await resolveHost(endpoint.host, timeoutMs);
    const isAddress = addresses.length === 1 && addresses[0] === endpoint.host;
    checks.push(
      pass("dns", isAddress ? `${endpoint.host} is an address` : `${endpoint.host} resolves to ${addresses.join(", ")}`),
    );
  } catch (error) {
    checks.push(
      fail(
        "dns",
        `Cannot resolve ${endpoint.host}: ${describeFailure(error)}`,
        "check the hub URL's host name and this machine's DNS",
      ),
    );
    return skipRest("the hub's name does not resolve");
  }

  try {
    await probeTcp(endpoint.host, endpoint.port, timeoutMs);
    checks.push(pass("tcp", `${endpoint.host}:${endpoint.port} accepts connections`));
  } catch (error) {
    checks.push(
      fail(
        "tcp",
        `Cannot connect to ${endpoint.host}:${endpoint.port}: ${describeFailure(error)}`,
        "check that the hub runs (connect-hub start) and that no firewall blocks the port",
      ),
    );
    return skipRest("no TCP connection to the hub");
  }

  if (endpoint.isTls) {
    const tls = await checkTls({ host: endpoint.host, port: endpoint.port, timeoutMs }, now());
    checks.push(tls);
    // The agent refuses such a certificate, so would every request from here.
    if (tls.status === "fail") return skipRest("the TLS certificate does not verify");
  } else {
    checks.push(
      isLoopbackHost(new URL(identity.hubUrl).hostname)
        ? pass("tls", "plain http to loopback: no certificate involved")
        : skip("tls", "not checked: the hub URL is plain http (see hub url)"),
    );
  }

  const client = createHubClient(identity.hubUrl, identity.token, { timeoutMs });
  // The agent refuses to send its token over plain http beyond loopback; neither does the doctor.
  const isTokenSendable = checks[0]?.status !== "fail";
  const [health, token] = await Promise.all([
    fetchHealth(identity.hubUrl, { timeoutMs }).catch((error: Error) => error),
    isTokenSendable
      ? readRevocation(options.paths.lastStop, identity.agentId).then((revocation) =>
          checkToken({ identity, client, revocation, now: now() }),
        )
      : { check: skip("token", "not checked: the token is never sent over plain http (see hub url)") },
  ]);
  checks.push(
    checkHealth(identity.hubUrl, health),
    checkClockSkew(health instanceof Error ? undefined : (health as HealthAnswer)),
    token.check,
  );
  checks.push(
    await checkRelay({
      status,
      isHubUsable: token.check.status === "pass" || token.check.status === "warn",
      isConnectedElsewhere: async () => {
        const agents = await listAgents(client, identity.hubUrl);
        return agents.some((agent) => agent.agentId === identity.agentId && agent.online);
      },
      probe: () =>
        probeRelay({
          hubUrl: identity.hubUrl,
          token: identity.token,
          agentVersion: options.agentVersion,
          timeoutMs,
        }),
      agentVersion: options.agentVersion,
      logPath: options.paths.log,
    }),
  );
  return checks;
}
