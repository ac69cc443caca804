import { fileURLToPath } from "node:url";
import type { NextConfig } from "next";

// The repository root: Turbopack and file tracing must see the npm workspace's hoisted
// node_modules, not stop at apps/web.
const repositoryRoot = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Headers every response carries, static files included. The Content-Security-Policy is set per
 * request in src/proxy.ts (it needs a fresh nonce); these need none.
 */
const securityHeaders = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  // Same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on same-origin
  // POSTs, and the /trpc proxy checks Origin. Other sites still never see a URL of ours (the
  // sign-in page's carries a token).
  { key: "Referrer-Policy", value: "same-origin" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=()" },
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
];

const nextConfig: NextConfig = {
  poweredByHeader: false,
  reactStrictMode: true,
  turbopack: { root: repositoryRoot },
  outputFileTracingRoot: repositoryRoot,
  async headers() {
    return [{ source: "/:path*", headers: securityHeaders }];
  },
};

export default nextConfig;
