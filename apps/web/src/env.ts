import { isIP } from "node:net";
import { z } from "zod";

/**
 * The dashboard's environment, validated once, on the server. Nothing else reads process.env.
 * Read at request time (never inlined at build), so one build serves any hub.
 */
const webEnvSchema = z.object({
  /** Where this server reaches the hub's tRPC API (/trpc is forwarded there). */
  HUB_URL: z.url("must be a URL such as http://127.0.0.1:3001").default("http://127.0.0.1:3001"),
  /** The hub URL agents use (`connect up --hub`), shown in commands; defaults to HUB_URL. */
  PUBLIC_HUB_URL: z.url("must be a URL such as https://hub.example.com").optional(),
  /**
   * Set when the hub has no SMTP server (the embedded default): the file where it writes sign-in
   * links, which the sign-in page then names.
   */
  SIGN_IN_LINKS_FILE: z.string().min(1).optional(),
  /**
   * The hub's FRONT_END_SECRET (`npm start` reads it from the hub's data directory): with it the
   * hub believes the browser address this server passes on, so per-address limits and the audit
   * log see each user's own address rather than this server's.
   */
  FRONT_END_SECRET: z.string().min(32, "must be the hub's FRONT_END_SECRET (at least 32 characters)").optional(),
  /**
   * Reverse proxies in front of this dashboard whose X-Forwarded-For/-Proto/-Host it believes:
   * addresses and CIDRs, comma-separated, or `loopback`. Unset: nobody's, the connection's peer is
   * the browser.
   */
  TRUST_PROXY: z
    .string()
    .default("false")
    .transform((value, context) => {
      const networks = parseTrustedProxies(value);
      if (typeof networks === "string") {
        context.addIssue({ code: "custom", message: networks });
        return z.NEVER;
      }
      return networks;
    }),
});

export type WebEnv = z.infer<typeof webEnvSchema> & { PUBLIC_HUB_URL: string };

/**
 * TRUST_PROXY as CIDRs, or the message for a bad entry; the same form the hub takes (the two
 * apps share no server code, so this small parser lives in both).
 */
export function parseTrustedProxies(value: string): string[] | string {
  const trimmed = value.trim().toLowerCase();
  if (trimmed === "" || trimmed === "false" || trimmed === "0") return [];
  const networks: string[] = [];
  for (const entry of trimmed.split(",").map((part) => part.trim())) {
    if (entry === "") continue;
    if (entry === "loopback" || entry === "true" || entry === "1") {
      networks.push("127.0.0.0/8", "::1/128");
      continue;
    }
    const [address = "", prefix, extra] = entry.split("/");
    const family = isIP(address);
    const maxPrefix = family === 4 ? 32 : 128;
    const bits = prefix === undefined ? maxPrefix : /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
    if (family === 0 || extra !== undefined || !(bits <= maxPrefix)) {
      return `"${entry}" is not an address or CIDR: list the proxies in front of the dashboard, e.g. TRUST_PROXY=10.0.0.0/8,192.0.2.7 (or loopback)`;
    }
    networks.push(`${address}/${bits}`);
  }
  return networks;
}

let cached: WebEnv | undefined;

export function readWebEnv(): WebEnv {
  if (cached !== undefined) return cached;
  const source = Object.fromEntries(
    Object.keys(webEnvSchema.shape).map((key) => [key, process.env[key] === "" ? undefined : process.env[key]]),
  );
  const parsed = webEnvSchema.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`Invalid ${issue?.path.join(".") ?? "environment"}: ${issue?.message ?? "bad value"}`);
  }
  const hubUrl = parsed.data.HUB_URL.replace(/\/+$/, "");
  cached = { ...parsed.data, HUB_URL: hubUrl, PUBLIC_HUB_URL: (parsed.data.PUBLIC_HUB_URL ?? hubUrl).replace(/\/+$/, "") };
  return cached;
}
