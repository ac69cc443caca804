import { parseTrustedProxies } from "@private-connect/trusted-proxies";
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
      const networks = parseTrustedProxies(value, "the dashboard");
      if (typeof networks === "string") {
        context.addIssue({ code: "custom", message: networks });
        return z.NEVER;
      }
      return networks;
    }),
});

export type WebEnv = z.infer<typeof webEnvSchema> & { PUBLIC_HUB_URL: string };

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
