import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { REDACTED, scrubJsonLine, scrubText } from "./scrub-text.js";

// Secrets in the formats packages/api generates (services/auth/secrets.ts, device-codes.ts).
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
function apiKey(): string {
  return `pc_${[...randomBytes(32)].map((byte) => ALNUM.charAt(byte % ALNUM.length)).join("")}`;
}
const agentToken = () => randomBytes(32).toString("hex");
const linkSlug = () => [...randomBytes(26)].map((byte) => "abcdefghijklmnopqrstuvwxyz234567".charAt(byte & 31)).join("");
const shareCode = () =>
  [...randomBytes(12)]
    .map((byte) => "23456789ABCDEFGHJKLMNPQRSTUVWXYZ".charAt(byte & 31))
    .join("")
    .replace(/(.{4})(?=.)/g, "$1-");
/** base64url of 32 random bytes; re-drawn until it mixes cases and digits, as nearly all do. */
function browserToken(): string {
  for (;;) {
    const token = randomBytes(32).toString("base64url");
    if (/[A-Z]/.test(token) && /[a-z]/.test(token) && /\d/.test(token)) return token;
  }
}

describe("scrubText: secrets by their shape", () => {
  it("redacts an agent's end-to-end private key and keeps its public key, which people compare", () => {
    const secret = `pcsk_${randomBytes(32).toString("base64url")}`;
    const publicKey = `pcpk_${randomBytes(32).toString("base64url")}`;
    expect(scrubText(`{"privateKey":"${secret}","publicKey":"${publicKey}"}`)).toBe(
      `{"privateKey":"${REDACTED}","publicKey":"${publicKey}"}`,
    );
    expect(scrubText(`key ${secret}.`)).toBe(`key ${REDACTED}.`);
  });

  it("redacts a workspace key's private half and keeps its public half", () => {
    const secret = `pcwsk_${randomBytes(32).toString("base64url")}`;
    const publicKey = `pcwk_${randomBytes(32).toString("base64url")}`;
    expect(scrubText(`{"privateKey":"${secret}","publicKey":"${publicKey}"}`)).toBe(
      `{"privateKey":"${REDACTED}","publicKey":"${publicKey}"}`,
    );
  });

  it("redacts pc_ API keys wherever they sit", () => {
    const key = apiKey();
    for (const text of [
      key,
      `using ${key}.`,
      `--api-key=${key}`,
      `{"apiKey":"${key}"}`,
      `https://hub.example.com/x?k=${key}#frag`,
      `(${key})`,
      `${key}EXTRA`,
      `prefix${key}`,
    ]) {
      const scrubbed = scrubText(text);
      expect(scrubbed, text).not.toContain(key.slice(3));
      expect(scrubbed).toContain(REDACTED);
    }
  });

  it("redacts 64-hex agent tokens, in either case, and device codes", () => {
    const token = agentToken();
    expect(scrubText(`token ${token} used`)).toBe(`token ${REDACTED} used`);
    expect(scrubText(token.toUpperCase())).toBe(REDACTED);
    expect(scrubText(`pcd_${token}`)).toBe(`pcd_${REDACTED}`);
    expect(scrubText(`/v1/agents/${token}/x`)).toBe(`/v1/agents/${REDACTED}/x`);
  });

  it("redacts Bearer values of any shape, whatever the case of the scheme", () => {
    expect(scrubText("Authorization: Bearer not-a-known-format-at-all")).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(scrubText("authorization: bearer abc.def.ghi")).toBe(`authorization: bearer ${REDACTED}`);
    expect(scrubText("BEARER\tCANARY-xyz rest")).toBe(`BEARER\t${REDACTED} rest`);
  });

  it("redacts cookie headers and the session cookie", () => {
    const session = browserToken();
    expect(scrubText(`Cookie: theme=dark; pc_session=${session}\r\nHost: x`)).toBe(`Cookie: ${REDACTED}\r\nHost: x`);
    expect(scrubText(`set-cookie: pc_session=${session}; Path=/; HttpOnly`)).toBe(`set-cookie: ${REDACTED}`);
    expect(scrubText(`sent pc_session=${session}; Path=/`)).toBe(`sent pc_session=${REDACTED}; Path=/`);
    expect(scrubText("pc_session=short-but-still-secret")).toBe(`pc_session=${REDACTED}`);
  });

  it("redacts sign-in link tokens, share codes and link slugs in URLs", () => {
    const token = browserToken();
    expect(scrubText(`http://127.0.0.1:3001/auth/verify?token=${token}`)).toBe(
      `http://127.0.0.1:3001/auth/verify?token=${REDACTED}`,
    );
    expect(scrubText("/auth/verify?next=/x&token=short")).toBe(`/auth/verify?next=/x&token=${REDACTED}`);
    expect(scrubText("/join?code=K7M2-QX9P-4HTR&from=cli")).toBe(`/join?code=${REDACTED}&from=cli`);
    expect(scrubText("GET /l/k3j4h5g6f7/api/v1/health?q=1")).toBe(`GET /l/${REDACTED}/api/v1/health?q=1`);
    expect(scrubText("https://hub.example.com/l/abc")).toBe(`https://hub.example.com/l/${REDACTED}`);
  });

  it("redacts share codes and device user codes as the hub prints them", () => {
    expect(scrubText("joined with K7QX-9MZP-R2TW-4HNC.")).toBe(`joined with ${REDACTED}.`);
    expect(scrubText("joined with K7QX-9MZP-R2TW.")).toBe(`joined with ${REDACTED}.`);
    expect(scrubText("approve code ABCD-EFGH (expires soon)")).toBe(`approve code ${REDACTED} (expires soon)`);
    expect(scrubText('{"code":"K7QX-9MZP-R2TW"}')).toBe(`{"code":"${REDACTED}"}`);
    // Not codes: a 0, 1, O or I is never in one, and longer dashed runs are something else.
    expect(scrubText("2026-11-29 HTTP-POST K7QX-9MZP-R2TW-ABCD-EFGH")).toBe("2026-11-29 HTTP-POST K7QX-9MZP-R2TW-ABCD-EFGH");
  });

  it("redacts link slugs, in a URL path, as a host label, or alone", () => {
    const slug = linkSlug();
    expect(scrubText(`https://${slug}.links.example.com/api`)).toBe(`https://${REDACTED}.links.example.com/api`);
    expect(scrubText(`http://${slug}.localhost:3001/`)).toBe(`http://${REDACTED}.localhost:3001/`);
    expect(scrubText(`revoked ${slug}`)).toBe(`revoked ${REDACTED}`);
    expect(scrubText(`GET /l/${slug}/health`)).toBe(`GET /l/${REDACTED}/health`);
  });

  it("redacts a 43-character browser token standing alone", () => {
    const token = browserToken();
    expect(scrubText(`session ${token} renewed`)).toBe(`session ${REDACTED} renewed`);
    expect(scrubText(`"${token}"`)).toBe(`"${REDACTED}"`);
  });

  it("redacts the password of credentials in a URL", () => {
    expect(scrubText("connect to postgres://pc:hunter2@db.internal:5432/pc failed")).toBe(
      `connect to postgres://pc:${REDACTED}@db.internal:5432/pc failed`,
    );
    expect(scrubText("smtps://mailer:p%40ss@mail.example.com")).toBe(`smtps://mailer:${REDACTED}@mail.example.com`);
  });
});

describe("scrubText: what it leaves alone", () => {
  it("keeps the hub's own messages, ids, times, short hashes and service names readable", () => {
    for (const text of [
      "Token expired: run connect up --rotate-token",
      "Service not found",
      "Missing agent token: run connect up",
      "2026-11-29T02:46:17.123Z agent connected",
      "agent 3f1c2b9e-8d7a-4c6b-9e5f-1a2b3c4d5e6f in workspace 0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a",
      "commit a96c13c5b5d020f3fe1f5fa08758206721625b59",
      "service a-very-long-but-lowercase-service-name-of-43",
      "hub listening at http://127.0.0.1:3001 and http://[::1]:3001",
      "stream 7 closed after 1048576 bytes",
      "pc_session cookie missing",
    ]) {
      expect(scrubText(text)).toBe(text);
    }
  });

  it("is idempotent", () => {
    const text = `Bearer ${agentToken()} key ${apiKey()} from 203.0.113.9 and 2001:db8::1 Cookie: a=b`;
    const once = scrubText(text);
    expect(scrubText(once)).toBe(once);
  });
});

describe("scrubJsonLine (the last pass over a serialized log line)", () => {
  const separators = [" ", "\n", "\t", "\u0001", '"', "\\", ",", "/", "=", "\u00e9", "\u2028"];
  const pick = <T>(list: readonly T[]): T => list[randomBytes(2).readUInt16BE(0) % list.length] as T;

  it("leaves no secret in random lines full of escapes and control characters, and they still parse", () => {
    for (let round = 0; round < 400; round += 1) {
      const secrets = [apiKey(), agentToken(), browserToken(), `pcd_${agentToken()}`, linkSlug(), shareCode()];
      const parts: string[] = [];
      for (let i = 0; i < 8; i += 1) {
        parts.push(pick(separators));
        parts.push(pick([...secrets, "203.0.113.9", "plain words", "/l/slug-x", "?token=t0k"]));
      }
      parts.push(pick(separators));
      const value = parts.join("");
      const line = JSON.stringify({ level: 30, time: "2026-11-29T02:46:17.123Z", msg: value, nested: { list: [value] } });
      const scrubbed = scrubJsonLine(line);
      const parsed = JSON.parse(scrubbed) as { msg: string; time: string };
      expect(parsed.time).toBe("2026-11-29T02:46:17.123Z");
      for (const secret of secrets) expect(scrubbed, `round ${round}: ${line}`).not.toContain(secret.replace(/^pcd_/, ""));
      expect(parsed.msg).not.toContain("t0k");
      expect(parsed.msg).not.toContain("slug-x");
    }
  });

  it("never splits a \\u escape, even when hex digits follow it", () => {
    const line = JSON.stringify({ msg: `\u0001${"a".repeat(70)}` });
    const parsed = JSON.parse(scrubJsonLine(line)) as { msg: string };
    expect(parsed.msg.startsWith("\u0001")).toBe(true);
    expect(parsed.msg).not.toContain("a".repeat(64));
  });
});
