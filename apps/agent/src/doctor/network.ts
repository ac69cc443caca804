import { lookup } from "node:dns/promises";
import { connect, isIP } from "node:net";
import { formatSeconds, NETWORK_TIMEOUT_MS, withTimeout } from "./check.js";

/** Where a hub URL points: host as URL.hostname gives it without IPv6 brackets, and the port with its default. */
export interface HubEndpoint {
  host: string;
  port: number;
  isTls: boolean;
}

export function readHubEndpoint(hubUrl: string): HubEndpoint {
  const url = new URL(hubUrl);
  const isTls = url.protocol === "https:" || url.protocol === "wss:";
  const port = url.port === "" ? (isTls ? 443 : 80) : Number(url.port);
  return { host: url.hostname.replace(/^\[(.*)\]$/, "$1"), port, isTls };
}

/** The addresses `host` resolves to, as the agent's own connections get them (getaddrinfo, /etc/hosts included). */
export async function resolveHost(host: string, timeoutMs = NETWORK_TIMEOUT_MS): Promise<string[]> {
  if (isIP(host) !== 0) return [host];
  const addresses = await withTimeout(lookup(host, { all: true }), timeoutMs, `DNS lookup of ${host}`);
  return addresses.map((entry) => entry.address);
}

/**
 * Opens a TCP connection to host:port and closes it at once; rejects with the socket error or a
 * timeout. Given a name, Node tries its IPv6 and IPv4 addresses in turn, as the agent does.
 */
export function probeTcp(host: string, port: number, timeoutMs = NETWORK_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${formatSeconds(timeoutMs)}`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}
