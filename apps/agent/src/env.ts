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
});

export interface AgentEnv {
  /** Config directory chosen through the environment, when set. */
  connectHome: string | undefined;
  /** Whether plain http:// and ws:// hubs are allowed beyond loopback. */
  isInsecureAllowed: boolean;
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
  };
}
