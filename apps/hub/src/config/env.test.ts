import { describe, expect, it } from "vitest";
import { readHubEnv } from "./env.js";

describe("hub environment", () => {
  it("has safe defaults", () => {
    const env = readHubEnv({});
    expect(env).toMatchObject({ TOKEN_EXPIRY_DAYS: 30, AUDIT_RETENTION_DAYS: 365, ALLOW_INSECURE: false, TRUST_PROXY: [] });
    expect(env.TOKEN_MAX_LIFETIME_DAYS).toBe(365);
  });

  it.each([
    [{ TOKEN_EXPIRY_DAYS: "0" }, /TOKEN_EXPIRY_DAYS/],
    [{ TOKEN_EXPIRY_DAYS: "soon" }, /TOKEN_EXPIRY_DAYS/],
    [{ ENCRYPTION_KEY: "abc" }, /ENCRYPTION_KEY: must be 64 hex/],
    [{ JWT_SECRET: "short" }, /JWT_SECRET/],
    [{ ALLOW_INSECURE: "yes" }, /ALLOW_INSECURE: must be true or false/],
    [{ DATABASE_URL: "mysql://x" }, /DATABASE_URL/],
    [{ TLS_CERT: "/tmp/cert.pem" }, /TLS_CERT: set both TLS_CERT and TLS_KEY/],
    [{ SMTP_URL: "http://mail" }, /SMTP_URL/],
    [{ AUDIT_RETENTION_DAYS: "0" }, /AUDIT_RETENTION_DAYS: must be between 1 and 3650 days/],
    [{ AUDIT_RETENTION_DAYS: "3651" }, /AUDIT_RETENTION_DAYS: must be between 1 and 3650 days/],
    [{ AUDIT_RETENTION_DAYS: "1.5" }, /AUDIT_RETENTION_DAYS: must be a whole number of days/],
    [{ AUDIT_RETENTION_DAYS: "a year" }, /AUDIT_RETENTION_DAYS/],
    [{ TRUST_PROXY: "yes" }, /TRUST_PROXY: "yes" is not an address or CIDR: .*TRUST_PROXY=10\.0\.0\.0\/8/],
    [{ TRUST_PROXY: "10.0.0.0/8,proxy.internal" }, /TRUST_PROXY: "proxy.internal" is not an address or CIDR/],
    [{ FRONT_END_SECRET: "short" }, /FRONT_END_SECRET: must be at least 32 characters/],
    [{ TOKEN_MAX_LIFETIME_DAYS: "0" }, /TOKEN_MAX_LIFETIME_DAYS: must be between 1 and 3650 days/],
    [{ TOKEN_MAX_LIFETIME_DAYS: "forever" }, /TOKEN_MAX_LIFETIME_DAYS/],
    // A fresh token outliving the agent's maximum lifetime would make the cap a lie.
    [{ TOKEN_MAX_LIFETIME_DAYS: "20" }, /TOKEN_MAX_LIFETIME_DAYS: must be at least TOKEN_EXPIRY_DAYS/],
  ])("stops on %o with a message naming the variable", (source, message) => {
    expect(() => readHubEnv(source)).toThrow(message);
  });

  it("reads the audit retention in days", () => {
    expect(readHubEnv({ AUDIT_RETENTION_DAYS: "90" }).AUDIT_RETENTION_DAYS).toBe(90);
    expect(readHubEnv({ AUDIT_RETENTION_DAYS: "3650" }).AUDIT_RETENTION_DAYS).toBe(3650);
  });

  it("reads METRICS_TOKEN, refusing one too short to be a secret", () => {
    expect(readHubEnv({ METRICS_TOKEN: "0123456789abcdef0123" }).METRICS_TOKEN).toBe("0123456789abcdef0123");
    expect(readHubEnv({}).METRICS_TOKEN).toBeUndefined();
    expect(() => readHubEnv({ METRICS_TOKEN: "short" })).toThrow(/Invalid METRICS_TOKEN: must be at least 16 characters/);
    expect(() => readHubEnv({ METRICS_TOKEN: "has a space in it somewhere" })).toThrow(/Invalid METRICS_TOKEN/);
  });

  it("reads booleans", () => {
    expect(readHubEnv({ ALLOW_INSECURE: "true" })).toMatchObject({ ALLOW_INSECURE: true });
  });

  it("reads TRUST_PROXY as networks: true and 1 still mean a proxy on this machine", () => {
    for (const value of ["true", "1", "loopback"]) {
      expect(readHubEnv({ TRUST_PROXY: value }).TRUST_PROXY).toEqual(["127.0.0.0/8", "::1/128"]);
    }
    for (const value of ["false", "0", ""]) expect(readHubEnv({ TRUST_PROXY: value }).TRUST_PROXY).toEqual([]);
    expect(readHubEnv({ TRUST_PROXY: " 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32" }).TRUST_PROXY).toEqual([
      "10.0.0.0/8",
      "192.0.2.7/32",
      "2001:db8::/32",
    ]);
  });
});
