// The contenders, all in the two-hop shape client -> reaching side -> hub -> exposing side -> server.
// Each start() launches fresh processes on free ports and returns
//   { entryPort, roles: { hub?, reach?, expose? -> [pid] }, labels, stop() }.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { copyFile, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { processTree } from "./proc.mjs";
import { freePort, log, makeTempDir, run, sleep, spawnService, waitFor } from "./tools.mjs";

const gcHook = fileURLToPath(new URL("./gc-hook.cjs", import.meta.url));
const gcCount = fileURLToPath(new URL("./gc-count.cjs", import.meta.url));
/** The checkout whose build is benchmarked: this one, or --repo=DIR (for before/after runs). */
let repo = fileURLToPath(new URL("../../", import.meta.url));
let hubBin = join(repo, "apps/hub/bin/connect-hub.js");
let agentBin = join(repo, "apps/agent/bin/run.js");

export function useRepo(dir) {
  repo = dir;
  hubBin = join(repo, "apps/hub/bin/connect-hub.js");
  agentBin = join(repo, "apps/agent/bin/run.js");
  if (!existsSync(hubBin) || !existsSync(agentBin))
    throw new Error(`No built hub and agent under ${dir}: run npm run build there`);
}

/** The hub and agent entry points of the benchmarked build (this checkout or --repo). */
export function builds() {
  return { repo, hubBin, agentBin };
}

/** SIGTERM a process tree we started (each pid by id), SIGKILL what is left after graceMs. */
export async function stopTree(rootPid, graceMs = 5_000) {
  const pids = processTree(rootPid);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {}
  }
  const alive = () =>
    pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return existsSync(`/proc/${pid}`) && !readState(pid).startsWith("Z");
      } catch {
        return false;
      }
    });
  const deadline = Date.now() + graceMs;
  while (alive().length > 0 && Date.now() < deadline) await sleep(50);
  for (const pid of alive()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
}

function readState(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2, text.lastIndexOf(")") + 3);
  } catch {
    return "Z";
  }
}

/**
 * Waits until a connection through `port` gets an answer from the server behind it: the bench's
 * echo server by default, or a real server that answers `greeting` (hex bytes: PostgreSQL's
 * SSLRequest, Redis's PING), for the small-message workloads.
 */
export async function probe(client, port, { timeoutMs = 20_000, greeting } = {}) {
  await waitFor(() => client.call("probe", { port, timeoutMs: 2_000, greeting }, 5_000).then(() => true), {
    timeoutMs,
    intervalMs: 200,
    what: `an end-to-end ${greeting === undefined ? "echo" : "answer"} through port ${port}`,
  });
}

export const direct = {
  name: "direct",
  title: "direct TCP",
  labels: {},
  async start({ serverPort }) {
    return { entryPort: serverPort, roles: {}, async stop() {} };
  },
};

export const socat = {
  name: "socat",
  title: "socat x2",
  needs: ["socat"],
  labels: { reach: "socat relay 1", hub: "socat relay 2" },
  async start({ serverPort, client, greeting }) {
    const a = await freePort();
    const b = await freePort();
    const listen = (port) => `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr,backlog=4096`;
    const relay2 = spawnService("/usr/bin/socat", [listen(b), `TCP:127.0.0.1:${serverPort}`]);
    const relay1 = spawnService("/usr/bin/socat", [listen(a), `TCP:127.0.0.1:${b}`]);
    const stop = async () => {
      await Promise.all([stopTree(relay1.pid), stopTree(relay2.pid)]);
    };
    try {
      await probe(client, a, { greeting });
    } catch (error) {
      await stop();
      throw new Error(`socat did not relay: ${error.message}\n${relay1.tail()}\n${relay2.tail()}`);
    }
    return { entryPort: a, roles: { reach: [relay1.pid], hub: [relay2.pid] }, stop };
  },
};

export const ssh = {
  name: "ssh",
  title: "SSH -L/-R",
  needs: ["sshd", "ssh", "ssh-keygen"],
  labels: { reach: "ssh -L", hub: "sshd", expose: "ssh -R" },
  // ssh opens each new channel more slowly the more it has open (10,000 took over 3 minutes
  // here), so its idle-stream stages stop opening after 15 s and report what they hold.
  idleOpenBudgetMs: 15_000,
  async start({ serverPort, client, greeting }) {
    const dir = await makeTempDir("sshb-");
    const hostKey = join(dir, "host_ed25519");
    const clientKey = join(dir, "client_ed25519");
    await run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
    await run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", clientKey]);
    await copyFile(`${clientKey}.pub`, join(dir, "authorized_keys"));
    const sshdPort = await freePort();
    const config = join(dir, "sshd_config");
    await writeFile(
      config,
      [
        `Port ${sshdPort}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        "PermitRootLogin yes",
        "StrictModes no",
        "UsePAM no",
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "AllowTcpForwarding yes",
        "X11Forwarding no",
        "PrintMotd no",
        "UseDNS no",
        "MaxStartups 200:30:400",
        "LogLevel ERROR",
        "",
      ].join("\n"),
    );
    if (!existsSync("/run/sshd")) {
      log("creating /run/sshd (sshd's privilege-separation directory)");
      mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    }
    const sshd = spawnService("/usr/sbin/sshd", ["-D", "-e", "-f", config]);
    const rport = await freePort();
    const lport = await freePort();
    const common = [
      "-N",
      "-F",
      "/dev/null",
      "-p",
      String(sshdPort),
      "-i",
      clientKey,
      "-c",
      "aes128-gcm@openssh.com",
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "ExitOnForwardFailure=yes",
      "-o",
      "BatchMode=yes",
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "LogLevel=ERROR",
    ];
    let expose;
    let reach;
    const stop = async () => {
      if (reach) await stopTree(reach.pid);
      if (expose) await stopTree(expose.pid);
      await stopTree(sshd.pid);
      await rm(dir, { recursive: true, force: true });
    };
    try {
      await waitFor(() => canConnect(sshdPort), { timeoutMs: 10_000, what: "sshd to listen" });
      expose = spawnService("/usr/bin/ssh", [...common, "-R", `${rport}:127.0.0.1:${serverPort}`, "root@127.0.0.1"]);
      await waitFor(() => canConnect(rport), { timeoutMs: 15_000, what: "the ssh -R forward" });
      reach = spawnService("/usr/bin/ssh", [...common, "-L", `${lport}:127.0.0.1:${rport}`, "root@127.0.0.1"]);
      await probe(client, lport, { greeting });
    } catch (error) {
      const output = [sshd.tail(), expose?.tail(), reach?.tail()].filter(Boolean).join("\n");
      await stop();
      throw new Error(`SSH tunnel did not come up: ${error.message}\n${output}`);
    }
    return { entryPort: lport, roles: { reach: [reach.pid], hub: [sshd.pid], expose: [expose.pid] }, stop };
  },
};

const pipeHop = fileURLToPath(new URL("../load/node-pipe-hop.mjs", import.meta.url));

/**
 * Not relay products: three bare Node processes piping sockets in the relay's shape, plain TCP
 * or TLS between them, nothing else (no framing, no flow control, no auth). They show what
 * Node's own sockets and TLS cost on this machine, the floor under Private Connect over ws://
 * and wss://, so only their single-stream throughput is measured.
 */
function nodePipe(tls) {
  const link = tls ? "TLS" : "TCP";
  return {
    name: tls ? "node-tls" : "node-tcp",
    title: `Node ${link} pipe (reference)`,
    needs: tls ? ["openssl"] : [],
    labels: { reach: `node plain -> ${link}`, hub: `node ${link} -> ${link}`, expose: `node ${link} -> plain` },
    workloads: ["throughput"],
    singleStreamOnly: true,
    async start({ serverPort, client, greeting }) {
      const { cert, key } = tls ? await tlsCertificate() : {};
      const kind = tls ? "tls" : "plain";
      const hops = [];
      const stop = async () => {
        for (const hop of hops) await stopTree(hop.pid);
      };
      try {
        let next = serverPort;
        for (const [inbound, outbound] of [
          [kind, "plain"],
          [kind, kind],
          ["plain", kind],
        ]) {
          const args = [pipeHop, inbound, outbound, String(next), ...(tls ? [cert, key] : [])];
          const hop = spawnService(process.execPath, args);
          hops.push(hop);
          next = JSON.parse(await hop.waitForLine((line) => line.startsWith("{"), 10_000)).port;
        }
        await probe(client, next, { greeting });
        const [expose, hub, reach] = hops;
        return { entryPort: next, roles: { reach: [reach.pid], hub: [hub.pid], expose: [expose.pid] }, stop };
      } catch (error) {
        const output = hops.map((hop) => hop.tail()).join("\n");
        await stop();
        throw new Error(`Node ${link} pipe did not come up: ${error.message}\n${output}`);
      }
    },
  };
}

export const nodeTcp = nodePipe(false);
export const nodeTls = nodePipe(true);

function canConnect(port) {
  return new Promise((resolve) => {
    import("node:net").then(({ default: net }) => {
      const socket = net.connect({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
  });
}

let tlsMaterial;

/** A self-signed certificate for 127.0.0.1, made once per run. */
async function tlsCertificate() {
  if (tlsMaterial) return tlsMaterial;
  const dir = await makeTempDir("pctls-");
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  await run("/usr/bin/openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "2",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
  ]);
  tlsMaterial = { dir, cert, key };
  return tlsMaterial;
}

export async function cleanupTls() {
  if (tlsMaterial) await rm(tlsMaterial.dir, { recursive: true, force: true });
  tlsMaterial = undefined;
}

/**
 * The agents' streams are checked with `connect status --json` after the first stream and after
 * the measurements: each side's reach / exposure must say `security.isEndToEnd` is what the
 * contender's title claims, or the contender fails (plaintext figures labelled end-to-end, or
 * the reverse, would be worse than none).
 */
function privateConnect({ tls, endToEnd }) {
  const scheme = tls ? "wss://" : "ws://";
  return {
    name: `${tls ? "pc-wss" : "pc-ws"}${endToEnd ? "-e2e" : ""}`,
    title: `Private Connect ${scheme}${endToEnd ? ", end-to-end encrypted" : ""}`,
    isEndToEnd: endToEnd,
    /** Measured from options.repeat fresh starts (the references from options.referenceRepeat). */
    freshStarts: true,
    needs: tls ? ["openssl"] : [],
    labels: { reach: "agent (reach)", hub: "hub", expose: "agent (expose)" },
    // Only the figures issue 19's targets compare (against pc-ws), so the full run keeps its budget.
    ...(endToEnd ? { workloads: ["throughput", "setup", "pgbench", "redis"] } : {}),
    /**
     * `profileDir`, when set, makes the hub and both agents write V8 CPU profiles there
     * (hub/, reach/, expose/), and keeps the directories. `withGcHook` preloads gc-hook.cjs
     * so the memory measurement can ask for a full GC (SIGUSR2).
     */
    async start({ serverPort, client, greeting, profileDir, withGcHook, extraNodeOptions }) {
      const dir = await makeTempDir("pcb-");
      const dataDir = join(dir, "data");
      const exposeDir = join(dir, "a");
      const reachDir = join(dir, "b");
      const baseEnv = { ...process.env };
      delete baseEnv.CONNECT_HOME;
      delete baseEnv.NODE_OPTIONS;
      // info is the default: the hub logs per agent, never per stream, and "hub listening" is needed.
      const hubEnv = { ...baseEnv, LOG_LEVEL: "info" };
      const agentEnv = { ...baseEnv };
      // extraNodeOptions (BENCH_PC_NODE_OPTIONS): node options for the hub and agents, for A/B runs.
      // gc-count.cjs: every process counts its full garbage collections (readFullGcs below).
      const gcCountDir = join(dir, "gc");
      mkdirSync(gcCountDir);
      hubEnv.BENCH_GC_COUNT_DIR = gcCountDir;
      agentEnv.BENCH_GC_COUNT_DIR = gcCountDir;
      const nodeOptions = [extraNodeOptions, `--require=${gcCount}`, withGcHook ? `--expose-gc --require=${gcHook}` : ""]
        .filter(Boolean)
        .join(" ");
      hubEnv.NODE_OPTIONS = nodeOptions;
      agentEnv.NODE_OPTIONS = nodeOptions;
      if (tls) {
        const material = await tlsCertificate();
        hubEnv.TLS_CERT = material.cert;
        hubEnv.TLS_KEY = material.key;
        agentEnv.NODE_EXTRA_CA_CERTS = material.cert;
      }
      // Node 20 refuses --cpu-prof in NODE_OPTIONS, so profiled processes get it as a node flag;
      // profiled agents therefore run in the foreground (connect up without --detach), which is
      // the same daemon code the detached child runs.
      const nodeFlags = (sub) => (profileDir ? ["--cpu-prof", `--cpu-prof-dir=${join(profileDir, sub)}`] : []);
      const hub = spawnService(process.execPath, [...nodeFlags("hub"), hubBin, "start", "--port", "0", "--data", dataDir], {
        env: hubEnv,
      });
      const agentPids = {};
      const foreground = [];
      const stop = async () => {
        for (const config of [reachDir, exposeDir]) {
          await run(process.execPath, [agentBin, "down", "--config", config], { env: agentEnv, timeoutMs: 20_000 }).catch(
            () => {},
          );
        }
        for (const service of foreground) await service.stop(10_000);
        for (const pid of Object.values(agentPids)) await stopTree(pid, 5_000);
        await hub.stop(15_000);
        await rm(dir, { recursive: true, force: true });
      };
      try {
        const line = await hub.waitForLine((l) => l.includes('"hub listening"'), 90_000);
        const hubUrl = JSON.parse(line).url;
        const created = await run(
          process.execPath,
          [hubBin, "workspace", "create", "bench", "--owner", "b@bench.test", "--json", "--data", dataDir],
          { env: hubEnv, timeoutMs: 90_000 },
        );
        const { apiKey } = JSON.parse(created.stdout.trim().split("\n").pop());
        for (const [label, config] of [
          ["expose", exposeDir],
          ["reach", reachDir],
        ]) {
          const upArgs = ["up", "--hub", hubUrl, "--api-key", apiKey, "--label", label, "--config", config];
          if (!profileDir) {
            await run(process.execPath, [agentBin, ...upArgs, "--detach"], { env: agentEnv, timeoutMs: 90_000 });
            agentPids[label] = Number((await readFile(join(config, "agent.pid"), "utf8")).trim());
            continue;
          }
          const agent = spawnService(process.execPath, [...nodeFlags(label), agentBin, ...upArgs], { env: agentEnv });
          foreground.push(agent);
          await waitFor(
            async () => {
              const status = await run(process.execPath, [agentBin, "status", "--json", "--config", config], {
                env: agentEnv,
                timeoutMs: 10_000,
              });
              return JSON.parse(status.stdout).hub?.state === "connected";
            },
            { timeoutMs: 60_000, intervalMs: 300, what: `the ${label} agent to connect` },
          );
          agentPids[label] = agent.pid;
        }
        // Without --e2e the agent's default (preferred): what two current agents do out of the box.
        // The plaintext contenders say --e2e off, so their figures stay comparable with runs before E2E.
        const e2eArgs = endToEnd ? [] : ["--e2e", "off"];
        await run(
          process.execPath,
          [agentBin, "expose", `127.0.0.1:${serverPort}`, "--name", "bench", ...e2eArgs, "--config", exposeDir],
          { env: agentEnv },
        );
        const reached = await run(process.execPath, [agentBin, "reach", "bench", "--json", "--config", reachDir], {
          env: agentEnv,
        });
        const { port } = JSON.parse(reached.stdout);
        await probe(client, port, { greeting });
        const verifySecurity = async () => {
          const security = await readStreamSecurity(agentEnv, { reachDir, exposeDir });
          const sides = Object.entries(security);
          const wrong = sides.filter(([, s]) => (s?.isEndToEnd === true) !== endToEnd);
          if (wrong.length > 0) {
            const seen = sides.map(([side, s]) => `${side}: ${JSON.stringify(s ?? null)}`).join("; ");
            throw new Error(
              `${endToEnd ? "streams were NOT end-to-end encrypted" : "streams were end-to-end encrypted"} although this contender is ${endToEnd ? "E2E" : "the plaintext relay (--e2e off)"}: ${seen}`,
            );
          }
          return security;
        };
        const firstSecurity = await verifySecurity();
        const roles = { reach: [agentPids.reach], hub: [hub.pid], expose: [agentPids.expose] };
        return {
          entryPort: port,
          hubUrl,
          roles,
          stop,
          /** What both agents said about the first stream (security of the reach and of the exposure). */
          security: firstSecurity,
          /** Throws unless both agents' last stream was end to end exactly when the contender claims it. */
          verifySecurity,
          /** The last lines the hub printed (for debugging runs with extra node options). */
          hubOutput: () => hub.tail(),
          /** Full garbage collections so far, per role (undefined for a process not counted). */
          readFullGcs: () =>
            Object.fromEntries(
              Object.entries(roles).map(([role, [pid]]) => {
                try {
                  return [role, JSON.parse(readFileSync(join(gcCountDir, `${pid}.json`), "utf8")).full];
                } catch {
                  return [role, undefined];
                }
              }),
            ),
          collectGarbage: withGcHook
            ? async () => {
                for (const [pid] of Object.values(roles)) process.kill(pid, "SIGUSR2");
                await sleep(1_000);
              }
            : undefined,
        };
      } catch (error) {
        const tail = hub.tail();
        await stop();
        throw new Error(`Private Connect did not come up: ${error.message}\nhub output:\n${tail}`);
      }
    },
  };
}

/** `connect status --json` of both agents: the reach's and the exposure's last-stream security. */
async function readStreamSecurity(env, { reachDir, exposeDir }) {
  const statusOf = async (config) => {
    const status = await run(process.execPath, [agentBin, "status", "--json", "--config", config], { env, timeoutMs: 20_000 });
    return JSON.parse(status.stdout);
  };
  const [reach, expose] = await Promise.all([statusOf(reachDir), statusOf(exposeDir)]);
  return {
    reach: reach.reaches?.find((r) => r.service === "bench")?.security,
    expose: expose.exposures?.find((e) => e.name === "bench")?.security,
  };
}

export const pcWs = privateConnect({ tls: false, endToEnd: false });
export const pcWss = privateConnect({ tls: true, endToEnd: false });
export const pcWsE2e = privateConnect({ tls: false, endToEnd: true });

// The Node pipes run last: they are references, the first to give way if the time budget runs out.
// pc-ws-e2e runs right after pc-ws, the relay it is compared with (issue 19's targets), so the
// two are measured as close together in time as they can be.
export const allContenders = [direct, socat, ssh, pcWs, pcWsE2e, pcWss, nodeTcp, nodeTls];
