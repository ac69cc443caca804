import { describe, expect, it } from "vitest";
import { readAgentEnv } from "./env.js";

describe("readAgentEnv", () => {
  it("allows insecure hubs only for CONNECT_ALLOW_INSECURE=true", () => {
    expect(readAgentEnv({}).isInsecureAllowed).toBe(false);
    expect(readAgentEnv({ CONNECT_ALLOW_INSECURE: "true" }).isInsecureAllowed).toBe(true);
    expect(readAgentEnv({ CONNECT_ALLOW_INSECURE: "TRUE" }).isInsecureAllowed).toBe(true);
    expect(readAgentEnv({ CONNECT_ALLOW_INSECURE: "false" }).isInsecureAllowed).toBe(false);
  });

  it("names the variable when its value is not understood", () => {
    expect(() => readAgentEnv({ CONNECT_ALLOW_INSECURE: "yes" })).toThrow("CONNECT_ALLOW_INSECURE must be true or false");
  });

  it("reads CONNECT_HOME", () => {
    expect(readAgentEnv({ CONNECT_HOME: "/srv/pc" }).connectHome).toBe("/srv/pc");
    expect(readAgentEnv({}).connectHome).toBeUndefined();
  });
});
