import { describe, expect, it } from "vitest";
import { readSignedSessionCookie, signCookieValue, verifyCookieValue } from "./cookie-signature.js";

describe("session cookie signature", () => {
  const secret = "s".repeat(40);

  it("round-trips a value and rejects tampering, other secrets and bare tokens", () => {
    const signed = signCookieValue("token123", secret);
    expect(verifyCookieValue(signed, secret)).toBe("token123");
    expect(verifyCookieValue(signed.replace("token123", "token124"), secret)).toBeUndefined();
    expect(verifyCookieValue(signed, "t".repeat(40))).toBeUndefined();
    expect(verifyCookieValue("token123", secret)).toBeUndefined();
    expect(verifyCookieValue(`${signed}x`, secret)).toBeUndefined();
  });

  it("reduces a Cookie header to the verified session token", () => {
    const header = `theme=dark; pc_session=${signCookieValue("abc", secret)}`;
    expect(readSignedSessionCookie(header, secret)).toBe("pc_session=abc");
    expect(readSignedSessionCookie("pc_session=abc", secret)).toBeUndefined();
    expect(readSignedSessionCookie(undefined, secret)).toBeUndefined();
  });
});
