import { BlockList, isIP } from "node:net";

/** Loopback in both families: what `TRUST_PROXY=true` has always meant in practice. */
const LOOPBACK_NETWORKS = ["127.0.0.0/8", "::1/128"];

/**
 * TRUST_PROXY as CIDRs (`192.0.2.7` becomes `192.0.2.7/32`), or the message for a bad entry.
 * `false`/`0`/empty trust nobody; `true`/`1`/`loopback` trust this machine only. `server` names
 * what the proxies stand in front of, for the message ("the hub", "the dashboard").
 */
export function parseTrustedProxies(value: string, server: string): string[] | string {
  const trimmed = value.trim().toLowerCase();
  if (trimmed === "" || trimmed === "false" || trimmed === "0") return [];
  const networks: string[] = [];
  for (const entry of trimmed.split(",").map((part) => part.trim())) {
    if (entry === "") continue;
    if (entry === "loopback" || entry === "true" || entry === "1") {
      networks.push(...LOOPBACK_NETWORKS);
      continue;
    }
    const [address = "", prefix, extra] = entry.split("/");
    const family = isIP(address);
    const maxPrefix = family === 4 ? 32 : 128;
    const bits = prefix === undefined ? maxPrefix : /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
    if (family === 0 || extra !== undefined || !(bits <= maxPrefix)) {
      return `"${entry}" is not an address or CIDR: list the proxies in front of ${server}, e.g. TRUST_PROXY=10.0.0.0/8,192.0.2.7 (or loopback)`;
    }
    networks.push(`${address}/${bits}`);
  }
  return networks;
}

/** Parsed TRUST_PROXY networks as something that answers "is this a proxy?". */
export function createTrustedProxies(networks: readonly string[]): BlockList {
  const list = new BlockList();
  for (const network of networks) {
    const [address = "", prefix = ""] = network.split("/");
    list.addSubnet(address, Number(prefix), isIP(address) === 6 ? "ipv6" : "ipv4");
  }
  return list;
}

/** An address without its IPv4-mapped IPv6 prefix, so 127.0.0.1 matches however a socket reports it. */
export function unmapIPv4(address: string): string {
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

export function isTrustedProxy(address: string | undefined, list: BlockList | undefined): boolean {
  if (!address || list === undefined) return false;
  const plain = unmapIPv4(address);
  const family = isIP(plain);
  return family !== 0 && list.check(plain, family === 6 ? "ipv6" : "ipv4");
}

/**
 * The client behind a trusted peer: X-Forwarded-For read from the right, where each listed proxy
 * appended the address it saw, so the first entry that is not itself a listed proxy is the client
 * (everything further left is the client's own say). A malformed entry stops the walk at the
 * nearest address already vouched for. Bounded by the header's size, which HTTP parsers cap.
 */
export function resolveForwardedClient(peer: string, forwardedFor: string, list: BlockList | undefined): string {
  const entries = forwardedFor.split(",").map((entry) => unmapIPv4(entry.trim()));
  let nearest = peer;
  for (let index = entries.length - 1; index >= 0; index -= 1) {
    const entry = entries[index] ?? "";
    if (!isIP(entry)) return nearest;
    if (!isTrustedProxy(entry, list)) return entry;
    nearest = entry;
  }
  return nearest;
}
