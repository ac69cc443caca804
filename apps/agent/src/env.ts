import { z } from "zod";

// The agent's one reader of process.env (see CONVENTIONS.md): every other module takes these
// values as arguments, which keeps the SDK usable from programs with their own configuration.
const envSchema = z.object({
  CONNECT_HOME: z.string().trim().min(1, "CONNECT_HOME is set but empty: unset it or give a directory").optional(),
  CONNECT_ALLOW_INSECURE: z
    .string()
    .trim()
    .toLowerCase()
    .optional()
    .refine((value) => value === undefined || value === "" || value === "true" || value === "false", {
      message: "CONNECT_ALLOW_INSECURE must be true or false",
    })
    .transform((value) => value === "true"),
  // A provisioned agent token (POST /v1/agents/provision) for `connect up` in AI agent runtimes.
  PRIVATECONNECT_TOKEN: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === "" ? undefined : value))
    .refine((value) => value === undefined || /^[0-9a-f]{64}$/.test(value), {
      message: "PRIVATECONNECT_TOKEN is not an agent token (64 hex characters): copy the token the hub returned, or unset it",
    }),
  // Seconds between pings to the hub; a hub silent for two of them is dropped and redialed.
  // Shorter than the idle timeout of any NAT or proxy on the way keeps the connection alive.
  CONNECT_HEARTBEAT_SECONDS: z.coerce
    .number({ message: "CONNECT_HEARTBEAT_SECONDS must be a number of seconds" })
    .int("CONNECT_HEARTBEAT_SECONDS must be a whole number of seconds")
    .min(1, "CONNECT_HEARTBEAT_SECONDS must be between 1 and 600")
    .max(600, "CONNECT_HEARTBEAT_SECONDS must be between 1 and 600")
    .optional(),
  // Who ran `sudo connect daemon install --system`: the default user the service runs as.
  SUDO_USER: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value === "" ? undefined : value)),
});

export interface AgentEnv {
  /** Config directory chosen through the environment, when set. */
  connectHome: string | undefined;
  /** Whether plain http:// and ws:// hubs are allowed beyond loopback. */
  isInsecureAllowed: boolean;
  /** An agent token to run with instead of registering (PRIVATECONNECT_TOKEN). */
  privateConnectToken: string | undefined;
  /** Heartbeat interval towards the hub (CONNECT_HEARTBEAT_SECONDS), when set. */
  heartbeatMs: number | undefined;
  /** The user who ran this process through sudo (SUDO_USER), when set. */
  sudoUser: string | undefined;
}

/**
 * Reads and validates the variables the agent understands. Read on each call rather than at
 * import so tests and embedding programs can change them; it is cheap.
 */
export function readAgentEnv(source: NodeJS.ProcessEnv = process.env): AgentEnv {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(issue?.message ?? "Invalid environment for the agent");
  }
  return {
    connectHome: parsed.data.CONNECT_HOME,
    isInsecureAllowed: parsed.data.CONNECT_ALLOW_INSECURE,
    privateConnectToken: parsed.data.PRIVATECONNECT_TOKEN,
    heartbeatMs: parsed.data.CONNECT_HEARTBEAT_SECONDS === undefined ? undefined : parsed.data.CONNECT_HEARTBEAT_SECONDS * 1000,
    sudoUser: parsed.data.SUDO_USER,
  };
}
