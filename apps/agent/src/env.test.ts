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

  it("reads PRIVATECONNECT_TOKEN and refuses something that is not an agent token", () => {
    const token = "ab".repeat(32);
    expect(readAgentEnv({ PRIVATECONNECT_TOKEN: ` ${token} ` }).privateConnectToken).toBe(token);
    expect(readAgentEnv({ PRIVATECONNECT_TOKEN: "" }).privateConnectToken).toBeUndefined();
    expect(readAgentEnv({}).privateConnectToken).toBeUndefined();
    expect(() => readAgentEnv({ PRIVATECONNECT_TOKEN: "pc_notatoken" })).toThrow(/^PRIVATECONNECT_TOKEN is not an agent token/);
  });
});
