import { type NextRequest, NextResponse } from "next/server";
import { buildContentSecurityPolicy, generateNonce } from "@/lib/content-security-policy";

/**
 * A fresh CSP nonce per page request. Next.js reads the policy from the request headers and
 * stamps the nonce on the scripts it renders; the browser gets the same policy on the response.
 */
export function proxy(request: NextRequest): NextResponse {
  const nonce = generateNonce();
  const policy = buildContentSecurityPolicy(nonce, { isDevelopment: process.env.NODE_ENV === "development" });
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("x-nonce", nonce);
  requestHeaders.set("content-security-policy", policy);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("content-security-policy", policy);
  return response;
}

export const config = {
  // Pages only: static assets and the /trpc JSON proxy render no HTML.
  matcher: [
    {
      source: "/((?!_next/static|_next/image|favicon.ico|trpc/).*)",
      missing: [
        { type: "header", key: "next-router-prefetch" },
        { type: "header", key: "purpose", value: "prefetch" },
      ],
    },
  ],
};
