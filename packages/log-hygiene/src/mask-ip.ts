import { isIPv4, isIPv6 } from "node:net";

/**
 * What a masked address keeps: enough to tell networks apart in a log (an ISP, a cloud region,
 * a company's range), not enough to name a person. The audit table keeps addresses whole; logs
 * travel further (SIEMs, support tickets, pastebins) and get this.
 */
const MASKED_OCTETS = "x.x";
const MASKED_GROUPS = "x:x:x:x:x:x";

export interface MaskIpOptions {
  /**
   * Leave loopback addresses (127.0.0.0/8, ::1, ::ffff:127.x) and the unspecified address as
   * they are. They name this machine, not a person, and lines such as "hub listening at
   * http://127.0.0.1:3001" must stay usable. Default false: a value logged as a client's
   * address is masked whatever it is.
   */
  keepLoopback?: boolean;
}

const IPV4_MAPPED_PREFIX = /^::ffff:(?:0{1,4}:)?/i;

function isLoopbackOrUnspecified(address: string): boolean {
  const lower = address.toLowerCase();
  const plain = IPV4_MAPPED_PREFIX.test(lower) ? lower.replace(IPV4_MAPPED_PREFIX, "") : lower;
  if (isIPv4(plain)) return plain.startsWith("127.") || plain === "0.0.0.0";
  const groups = expandIpv6(plain);
  if (groups === undefined) return false;
  const isZeroUpToLast = groups.slice(0, 7).every((group) => group === 0);
  return isZeroUpToLast && (groups[7] === 1 || groups[7] === 0);
}

function maskIpv4(address: string): string {
  const [first, second] = address.split(".");
  return `${first}.${second}.${MASKED_OCTETS}`;
}

/** The eight 16-bit groups of a valid IPv6 address (an embedded IPv4 tail counts as two). */
function expandIpv6(address: string): number[] | undefined {
  if (!isIPv6(address)) return undefined;
  let text = address;
  const tail = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  const tailGroups: number[] = [];
  if (tail?.[1] !== undefined) {
    const octets = tail[1].split(".").map(Number);
    tailGroups.push(((octets[0] ?? 0) << 8) | (octets[1] ?? 0), ((octets[2] ?? 0) << 8) | (octets[3] ?? 0));
    text = text.slice(0, -tail[1].length);
    // "::ffff:1.2.3.4" leaves "::ffff:"; "::1.2.3.4" leaves "::".
    if (text.endsWith(":") && !text.endsWith("::")) text = text.slice(0, -1);
  }
  const [head = "", rest] = text.split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((group) => Number.parseInt(group, 16)));
  const headGroups = parse(head);
  const restGroups = rest === undefined ? [] : parse(rest);
  const missing = 8 - headGroups.length - restGroups.length - tailGroups.length;
  return [...headGroups, ...new Array<number>(Math.max(0, missing)).fill(0), ...restGroups, ...tailGroups];
}

/**
 * Masks one address: IPv4 keeps its first two octets (`192.168.x.x`), IPv6 its first two groups
 * (`2001:db8:x:x:x:x:x:x`), and an IPv4-mapped IPv6 address is masked as the IPv4 it carries
 * (`::ffff:192.168.x.x`). Brackets and a zone (`%eth0`) are dropped. Anything that is not a
 * single address is masked as text (see maskIpsInText), so `1.2.3.4:5678` or an
 * X-Forwarded-For list works too.
 */
export function maskIp(address: string, options: MaskIpOptions = {}): string {
  const bare = address.trim().replace(/^\[(.*)\]$/, "$1");
  const withoutZone = bare.replace(/%[0-9A-Za-z._-]+$/, "");
  if (!isIPv4(withoutZone) && !isIPv6(withoutZone)) return maskIpsInText(address, options);
  if (options.keepLoopback === true && isLoopbackOrUnspecified(withoutZone)) return address;
  if (isIPv4(withoutZone)) return maskIpv4(withoutZone);
  const mapped = IPV4_MAPPED_PREFIX.exec(withoutZone);
  if (mapped !== null) {
    const inner = withoutZone.slice(mapped[0].length);
    if (isIPv4(inner)) return `${mapped[0].toLowerCase()}${maskIpv4(inner)}`;
  }
  const groups = expandIpv6(withoutZone) ?? [];
  return `${(groups[0] ?? 0).toString(16)}:${(groups[1] ?? 0).toString(16)}:${MASKED_GROUPS}`;
}

// Candidates only: every match is validated with node:net before it is touched, so times such
// as 02:46:17, MAC addresses and version numbers are left alone. The boundaries refuse to start
// or end inside a longer word, while a sentence's final "." or ":" still ends an address.
const IPV6_CANDIDATE =
  /(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4})(?:%[0-9A-Za-z._-]+)?(?![0-9A-Za-z]|[.:][0-9A-Za-z])/g;
const IPV4_CANDIDATE = /(?<![0-9A-Za-z.])\d{1,3}(?:\.\d{1,3}){3}(?![0-9A-Za-z]|\.\d)/g;

function maskIpv6Candidate(candidate: string, options: MaskIpOptions): string {
  // A greedy match can swallow a trailing ":" ("from fe80::1: refused"); give it back.
  for (const [address, rest] of [
    [candidate, ""],
    [candidate.slice(0, -1), candidate.slice(-1)],
  ] as const) {
    const bare = address.replace(/%[0-9A-Za-z._-]+$/, "");
    if (address !== "" && isIPv6(bare)) return `${maskIp(address, options)}${rest}`;
  }
  return candidate;
}

/** Masks every IPv4 and IPv6 address inside a text, as maskIp does for one. */
export function maskIpsInText(text: string, options: MaskIpOptions = {}): string {
  if (!text.includes(".") && !text.includes(":")) return text;
  return text
    .replace(IPV6_CANDIDATE, (candidate) => maskIpv6Candidate(candidate, options))
    .replace(IPV4_CANDIDATE, (candidate) => (isIPv4(candidate) ? maskIp(candidate, options) : candidate));
}
