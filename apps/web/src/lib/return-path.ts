/** Where to go after signing in, carried across the email round trip in a short-lived cookie. */
export const RETURN_PATH_COOKIE = "pc_return_to";

/**
 * A path on this site, or undefined: "//evil.example" and "https://..." are other sites, and
 * an open redirect after sign-in is a phishing tool.
 */
export function safeReturnPath(path: string | undefined | null): string | undefined {
  if (path === undefined || path === null) return undefined;
  if (!path.startsWith("/") || path.startsWith("//") || path.startsWith("/\\")) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a line break in a Location header is the attack.
  if (/[\u0000-\u001f]/.test(path)) return undefined;
  return path;
}
