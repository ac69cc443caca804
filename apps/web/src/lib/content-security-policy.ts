/**
 * The dashboard's Content-Security-Policy for one response. Scripts run only with this
 * response's nonce (Next.js puts it on its own scripts when it sees it in the request's CSP
 * header), so an injected <script> or inline handler does nothing; nothing may frame the
 * dashboard (clickjacking a "Revoke" button); every request stays on this origin.
 */
export function buildContentSecurityPolicy(nonce: string, options: { isDevelopment: boolean }): string {
  const directives = [
    "default-src 'self'",
    // React's development build evaluates code for its error overlays; production never does.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${options.isDevelopment ? " 'unsafe-eval'" : ""}`,
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ];
  return directives.join("; ");
}

/** 128 random bits, base64: unguessable for the life of one response. */
export function generateNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}
