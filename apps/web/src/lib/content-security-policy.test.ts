import { describe, expect, it } from "vitest";
import { buildContentSecurityPolicy, generateNonce } from "./content-security-policy";

describe("the dashboard's Content-Security-Policy", () => {
  it("runs only this response's scripts and forbids framing", () => {
    const policy = buildContentSecurityPolicy("abc123", { isDevelopment: false });
    expect(policy).toContain("script-src 'self' 'nonce-abc123' 'strict-dynamic'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).toContain("object-src 'none'");
    expect(policy).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(buildContentSecurityPolicy("n", { isDevelopment: true })).toContain("'unsafe-eval'");
  });

  it("draws a fresh 128-bit nonce each time", () => {
    const nonces = new Set(Array.from({ length: 50 }, generateNonce));
    expect(nonces.size).toBe(50);
    for (const nonce of nonces) expect(Buffer.from(nonce, "base64")).toHaveLength(16);
  });
});
