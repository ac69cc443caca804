import { parseTrustedProxies } from "@private-connect/trusted-proxies";
import { z } from "zod";

const booleanFlag = z
  .enum(["true", "false", "1", "0"], { message: "must be true or false" })
  .default("false")
  .transform((value) => value === "true" || value === "1");

/** The hub's environment, validated once at start. Nothing else reads process.env. */
const hubEnvSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL")
    .optional(),
  DATABASE_RUNTIME_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL")
    .optional(),
  /** PEM files: when both are set the hub serves HTTPS and WSS itself (TLS 1.2 minimum). */
  TLS_CERT: z.string().min(1).optional(),
  TLS_KEY: z.string().min(1).optional(),
  TOKEN_EXPIRY_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /**
   * Rotation extends an agent's token, never past its registration plus this many days; after it
   * the machine registers again (connect up --api-key, connect login). At least TOKEN_EXPIRY_DAYS.
   */
  TOKEN_MAX_LIFETIME_DAYS: z.coerce
    .number()
    .int("must be a whole number of days")
    .min(1, "must be between 1 and 3650 days")
    .max(3650, "must be between 1 and 3650 days")
    .default(365),
  /** Audit events older than this are pruned, at start and then daily (at least 1 day, at most 10 years). */
  AUDIT_RETENTION_DAYS: z.coerce
    .number()
    .int("must be a whole number of days")
    .min(1, "must be between 1 and 3650 days")
    .max(3650, "must be between 1 and 3650 days")
    .default(365),
  /** Signs session cookies. The embedded default generates one in the data directory. */
  JWT_SECRET: z.string().min(32, "must be at least 32 characters of random text").optional(),
  /** 32-byte hex key for values the hub must be able to decrypt again. */
  ENCRYPTION_KEY: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex characters (32 bytes), e.g. from: openssl rand -hex 32")
    .optional(),
  /** Allow plain HTTP from non-loopback clients (tokens would cross the network in clear). */
  ALLOW_INSECURE: booleanFlag,
  /**
   * The reverse proxies whose X-Forwarded-For / X-Forwarded-Proto the hub believes: addresses and
   * CIDRs, comma-separated (`10.0.0.0/8,192.0.2.7`), or `loopback`. `true` still means what a
   * proxy on the same machine needed before, loopback only; a proxy elsewhere must be named, or
   * any client could pick the address its rate limits and audit lines are counted under.
   */
  TRUST_PROXY: z
    .string()
    .default("false")
    .transform((value, context) => {
      const entries = parseTrustedProxies(value, "the hub");
      if (typeof entries === "string") {
        context.addIssue({ code: "custom", message: entries });
        return z.NEVER;
      }
      return entries;
    }),
  /**
   * The dashboard's proof that it is the dashboard (at least 32 characters): requests carrying it
   * may say which browser address they speak for. Unset: generated in <data>/front-end-secret,
   * which `npm start` hands to the dashboard.
   */
  FRONT_END_SECRET: z
    .string()
    .min(32, "must be at least 32 characters of random text, e.g. from: openssl rand -hex 32")
    .optional(),
  /** Where users reach the hub; used in emailed sign-in links. Defaults to the listening URL. */
  PUBLIC_URL: z.string().url("must be a URL such as https://hub.example.com").optional(),
  /** Where the dashboard is, when not at PUBLIC_URL: sign-in and device-login links open it. */
  DASHBOARD_URL: z.string().url("must be a URL such as https://dashboard.example.com").optional(),
  /**
   * Public links are served at <slug>.<LINK_DOMAIN> (a wildcard DNS name pointing at the hub; an
   * origin apart from the dashboard). Unset: link URLs use the path form PUBLIC_URL/l/<slug>/,
   * and <slug>.localhost is still served, for local use.
   */
  LINK_DOMAIN: z
    .string()
    .trim()
    .toLowerCase()
    .regex(
      /^(?=.{1,253}(:|$))[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:\d{1,5})?$/,
      "must be a domain name (optionally with :port) such as links.example.com, without a scheme",
    )
    .optional(),
  /** smtp(s)://user:pass@host:port; without it sign-in links go to <data>/sign-in-links.log (0600). */
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, "must be an smtp:// or smtps:// URL")
    .optional(),
  SMTP_FROM: z.string().default("Private Connect <no-reply@private-connect.local>"),
  /** Seconds between the relay's pings; an agent silent for two of them is dropped. */
  HEARTBEAT_SECONDS: z.coerce.number().int().min(1).max(600).default(15),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /**
   * A bearer token for /metrics (at least 16 characters), for a scraper on another machine.
   * Unset: /metrics answers only loopback clients that came through no proxy.
   */
  METRICS_TOKEN: z
    .string()
    .min(16, "must be at least 16 characters of random text, e.g. from: openssl rand -hex 32")
    .regex(/^\S+$/, "must not contain spaces (it is sent as Authorization: Bearer <token>)")
    .optional(),
  // --- Several hubs (docs/cluster.md). Without REDIS_URL the hub runs alone, as the embedded default.
  /** redis:// or rediss:// URL of the Redis the hubs of a cluster share: where things are, never the bytes. */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379")
    .optional(),
  /** Prepended to every Redis key and channel, so several clusters (or test runs) share one Redis. */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, "must be 1-64 letters, digits or _ . : -")
    .default("pc:"),
  /** This hub's name in the cluster. Unset: <hostname>-<port>. */
  HUB_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 letters, digits or _ . -")
    .optional(),
  /** Where the other hubs reach this one (ws:// or wss://). Unset: ws://127.0.0.1:<port>, right on one machine only. */
  HUB_PEER_URL: z
    .string()
    .regex(/^wss?:\/\/[^/\s]+\/?$/, "must be a ws:// or wss:// URL of this hub such as ws://10.0.0.5:3001")
    .optional(),
  /** Authenticates hubs to each other; the same on every hub of a cluster. Unset: generated in the data directory. */
  CLUSTER_SECRET: z.string().min(32, "must be at least 32 characters of random text, e.g. from: openssl rand -hex 32").optional(),
  /** PEM files for mutual TLS between hubs: this hub's certificate and key, and the CA that signed every hub's. */
  HUB_PEER_TLS_CERT: z.string().min(1).optional(),
  HUB_PEER_TLS_KEY: z.string().min(1).optional(),
  HUB_PEER_TLS_CA: z.string().min(1).optional(),
  /** Relay connections this hub keeps open to each other hub; streams spread over them. */
  HUB_PEER_CONNECTIONS: z.coerce
    .number()
    .int("must be a whole number")
    .min(1, "must be between 1 and 16")
    .max(16, "must be between 1 and 16")
    .default(2),
});

export type HubEnv = z.infer<typeof hubEnvSchema>;

export class EnvError extends Error {}

export function readHubEnv(source: NodeJS.ProcessEnv = process.env): HubEnv {
  const relevant = Object.fromEntries(
    Object.keys(hubEnvSchema.shape).map((key) => [key, source[key] === "" ? undefined : source[key]]),
  );
  const parsed = hubEnvSchema
    .refine((env) => Boolean(env.TLS_CERT) === Boolean(env.TLS_KEY), {
      message: "set both TLS_CERT and TLS_KEY, or neither",
      path: ["TLS_CERT"],
    })
    .refine((env) => env.TOKEN_MAX_LIFETIME_DAYS >= env.TOKEN_EXPIRY_DAYS, {
      message: "must be at least TOKEN_EXPIRY_DAYS: a new token must not outlive the agent's maximum lifetime",
      path: ["TOKEN_MAX_LIFETIME_DAYS"],
    })
    .refine(
      (env) =>
        [env.HUB_PEER_TLS_CERT, env.HUB_PEER_TLS_KEY, env.HUB_PEER_TLS_CA].every((v) => v === undefined) ||
        [env.HUB_PEER_TLS_CERT, env.HUB_PEER_TLS_KEY, env.HUB_PEER_TLS_CA].every((v) => v !== undefined),
      {
        message: "set all three of HUB_PEER_TLS_CERT, HUB_PEER_TLS_KEY and HUB_PEER_TLS_CA, or none",
        path: ["HUB_PEER_TLS_CERT"],
      },
    )
    .safeParse(relevant);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = issue?.path.join(".") ?? "environment";
    throw new EnvError(`Invalid ${variable}: ${issue?.message ?? "bad value"}`);
  }
  return parsed.data;
}
