import { isIPv4, isIPv6 } from "node:net";
import { ConnectError } from "../errors.js";

export interface HostPort {
  host: string;
  port: number;
}

// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
const HOSTNAME_PATTERN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const PORT_PATTERN = /^[1-9][0-9]{0,4}$/;

function invalidTarget(raw: string, why?: string): ConnectError {
  const detail = why === undefined ? "use HOST:PORT, for example localhost:5432" : why;
  return new ConnectError("INVALID_INPUT", `Invalid target "${raw}": ${detail}`);
}

/**
 * Parses `HOST:PORT` as `connect expose` takes it: a host name, an IPv4 address or a bracketed
 * IPv6 address (`[::1]:5432`), and a decimal port from 1 to 65535. Anything else, including a
 * URL or a bare port, is refused rather than guessed at, because a wrong guess would expose the
 * wrong service.
 */
export function parseHostPort(raw: string): HostPort {
  let host: string;
  let portText: string;
  if (raw.startsWith("[")) {
    const match = /^\[([^\]]+)\]:([^:]*)$/.exec(raw);
    if (match === null) throw invalidTarget(raw);
    host = match[1] ?? "";
    portText = match[2] ?? "";
    if (!isIPv6(host)) throw invalidTarget(raw);
  } else {
    const colon = raw.lastIndexOf(":");
    if (colon <= 0) throw invalidTarget(raw);
    host = raw.slice(0, colon);
    portText = raw.slice(colon + 1);
    if (host.includes(":")) {
      throw isIPv6(host) ? invalidTarget(raw, "put an IPv6 address in brackets, for example [::1]:5432") : invalidTarget(raw);
    }
    const isDottedNumbers = /^[0-9.]+$/.test(host);
    if (isDottedNumbers ? !isIPv4(host) : !HOSTNAME_PATTERN.test(host)) throw invalidTarget(raw);
  }
  if (!PORT_PATTERN.test(portText)) throw invalidTarget(raw);
  const port = Number(portText);
  if (port > 65535) throw invalidTarget(raw, "the port must be between 1 and 65535");
  return { host, port };
}
