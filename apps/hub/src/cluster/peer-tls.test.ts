import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { PeerHost } from "./peer-connection.js";
import {
  createPeerAcceptor,
  listenForPeers,
  type PeerAcceptor,
  type PeerTlsMaterial,
  readPeerTlsFiles,
} from "./peer-listener.js";
import { createPeerPool, type PeerPool } from "./peer-pool.js";

const log = pino({ level: "silent" });
const clusterSecret = randomBytes(32).toString("hex");
const host: PeerHost = {
  openFromPeer(connection, streamId) {
    connection.sendReset(streamId, 1, "no such service");
  },
};

let dir: string;
let hubB: PeerTlsMaterial;
let hubA: PeerTlsMaterial;
/** A certificate from another CA: a machine that is not one of the cluster's hubs. */
let outsider: PeerTlsMaterial;

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
}

/** A key and a certificate for 127.0.0.1 signed by the CA `ca`. */
function issue(name: string, ca: string): void {
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
  writeFileSync(join(dir, `${name}.ext`), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
  openssl(
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.crt`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
  );
}

function makeCa(name: string): void {
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
  );
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "pc-peer-tls-"));
  makeCa("cluster-ca");
  makeCa("other-ca");
  issue("hub-a", "cluster-ca");
  issue("hub-b", "cluster-ca");
  issue("outsider", "other-ca");
  const material = (name: string, ca: string) =>
    readPeerTlsFiles({ certPath: join(dir, `${name}.crt`), keyPath: join(dir, `${name}.key`), caPath: join(dir, `${ca}.crt`) });
  hubA = material("hub-a", "cluster-ca");
  hubB = material("hub-b", "cluster-ca");
  // It trusts the cluster's CA (so it would accept hub B's certificate) but holds another's.
  outsider = { ...material("outsider", "other-ca"), ca: hubA.ca };
}, 30_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let acceptor: PeerAcceptor;
let server: Server;
let peerUrl: string;
const pools: PeerPool[] = [];

async function startHubB(): Promise<void> {
  acceptor = createPeerAcceptor({ selfHubId: "hub-b", clusterSecret, host, log, tls: { required: true } });
  const peers = await listenForPeers({
    tls: hubB,
    host: "127.0.0.1",
    port: 0,
    onUpgrade: (request, socket, head) => acceptor.handleUpgrade(request, socket, head),
  });
  server = peers.server as Server;
  peerUrl = peers.url;
}

function poolWith(tls: PeerTlsMaterial | undefined): PeerPool {
  const pool = createPeerPool({ selfHubId: "hub-a", clusterSecret, connectionsPerPeer: 1, host, log, tls });
  pools.push(pool);
  return pool;
}

afterEach(async () => {
  for (const pool of pools.splice(0)) pool.closeAll();
  acceptor?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

describe("peer connections over mutual TLS", () => {
  it("connects a hub whose certificate the cluster's CA signed", async () => {
    await startHubB();
    const connection = await poolWith(hubA).connectionTo({ hubId: "hub-b", peerUrl });
    expect(connection.isOpen).toBe(true);
    expect(connection.remoteHubId).toBe("hub-b");
    expect(acceptor.connections.size).toBe(1);
  });

  it("refuses a hub without a client certificate, or with one from another CA, before any HTTP", async () => {
    await startHubB();
    const withoutCertificate = { ca: hubA.ca } as PeerTlsMaterial;
    await expect(poolWith(withoutCertificate).connectionTo({ hubId: "hub-b", peerUrl })).rejects.toThrow(/cannot be reached/);
    await expect(poolWith(outsider).connectionTo({ hubId: "hub-b", peerUrl })).rejects.toThrow(/cannot be reached/);
    expect(acceptor.connections.size).toBe(0);
  });

  it("does not let the dialing hub trust a peer whose certificate another CA signed", async () => {
    await startHubB();
    const trustsOthers = { ...hubA, ca: outsider.cert };
    await expect(poolWith(trustsOthers).connectionTo({ hubId: "hub-b", peerUrl })).rejects.toThrow(/cannot be reached/);
  });

  it("still requires the cluster secret over TLS", async () => {
    await startHubB();
    const pool = createPeerPool({
      selfHubId: "hub-a",
      clusterSecret: "0".repeat(64),
      connectionsPerPeer: 1,
      host,
      log,
      tls: hubA,
    });
    pools.push(pool);
    await expect(pool.connectionTo({ hubId: "hub-b", peerUrl })).rejects.toThrow(/401: .*CLUSTER_SECRET/);
  });

  it("answers anything but /cluster on the peer port with 404", async () => {
    await startHubB();
    const response = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(`https://127.0.0.1:${(server.address() as AddressInfo).port}/relay`, { ...hubA }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(response).toBe(404);
  });

  it("names the variable whose file cannot be read", () => {
    expect(() => readPeerTlsFiles({ certPath: join(dir, "missing.crt"), keyPath: "x", caPath: "y" })).toThrow(
      /HUB_PEER_TLS_CERT .*missing\.crt.* cannot be read/,
    );
  });
});
