import { describe, expect, it } from "vitest";
import { checkHubUrl } from "./hub-url-check.js";

describe("checkHubUrl", () => {
  it.each(["https://hub.example.com", "http://127.0.0.1:3001", "http://localhost:3001", "http://[::1]:3001"])(
    "passes %s",
    (url) => {
      expect(checkHubUrl(url, { isInsecureAllowed: false }).status).toBe("pass");
    },
  );

  it("fails plain http to another host, and only warns when CONNECT_ALLOW_INSECURE allowed it", () => {
    const strict = checkHubUrl("http://10.0.0.5:3001", { isInsecureAllowed: false });
    expect(strict.status).toBe("fail");
    expect(strict.detail).toContain("the agent token and every relayed byte cross the network in the clear");
    expect(strict.fix).toBe("serve the hub over TLS and register with connect up --hub https://HOST --api-key KEY");
    expect(checkHubUrl("ws://hub.example.com", { isInsecureAllowed: true }).status).toBe("warn");
  });
});
