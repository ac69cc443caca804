import { ConnectError } from "../errors.js";

// Loopback never leaves the machine, so plain http there exposes nothing; anything else would
// send the agent token and every relayed byte in the clear.
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname.toLowerCase());
}

/**
 * Validates a hub URL and returns it normalized to http(s)://host[:port][/path] without a
 * trailing slash (ws:// and wss:// are accepted and mapped to their http twins, since the
 * control plane is HTTP and the relay URL is derived from it).
 */
export function normalizeHubUrl(raw: string, options: { isInsecureAllowed: boolean }): string {
  const trimmed = raw.trim();
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new ConnectError(
      "INVALID_INPUT",
      `Invalid hub URL "${raw}": use https://HOST[:PORT], for example https://hub.example.com`,
    );
  }
  const protocols: Record<string, "http:" | "https:"> = {
    "http:": "http:",
    "https:": "https:",
    "ws:": "http:",
    "wss:": "https:",
  };
  const protocol = protocols[url.protocol];
  if (protocol === undefined || url.hostname === "") {
    throw new ConnectError(
      "INVALID_INPUT",
      `Invalid hub URL "${raw}": use https://HOST[:PORT], for example https://hub.example.com`,
    );
  }
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
    throw new ConnectError(
      "INVALID_INPUT",
      `Invalid hub URL "${raw}": give only the scheme, host, port and path, without credentials, query or fragment`,
    );
  }
  if (protocol === "http:" && !isLoopbackHost(url.hostname) && !options.isInsecureAllowed) {
    throw new ConnectError(
      "INSECURE_HUB",
      `Refusing insecure hub URL ${trimmed}: use https:// (or wss://), or set CONNECT_ALLOW_INSECURE=true to allow http:// and ws:// to hosts other than localhost`,
    );
  }
  const path = url.pathname.replace(/\/+$/, "");
  return `${protocol}//${url.host}${path}`;
}
