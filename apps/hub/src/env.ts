import { z } from "zod";

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
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
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
    .safeParse(relevant);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = issue?.path.join(".") ?? "environment";
    throw new EnvError(`Invalid ${variable}: ${issue?.message ?? "bad value"}`);
  }
  return parsed.data;
}
