import { sha256Hex } from "@private-connect/db";
import { type ApiDeps, currentTime } from "../../deps.js";
import { AppError } from "../../errors.js";
import type { StartDeviceAuthorizationOutput } from "../../schemas/device-auth.js";
import { normalizeIp } from "../agents/record-agent-seen.js";
import { generateDeviceCode, generateUserCode, normalizeUserCode } from "./device-codes.js";
import { takeDeviceStart } from "./start-rate-limit.js";

export const DEVICE_CODE_TTL_MS = 10 * 60 * 1000;
export const DEVICE_POLL_INTERVAL_SECONDS = 5;
const MAX_ATTEMPTS = 5;

/**
 * Starts `connect login` on a machine without credentials: a device code for the machine to
 * poll with, and a short user code for a signed-in person to approve in a browser. Both are
 * stored only as SHA-256. Public, so rate limited per client address.
 */
export async function startDeviceAuthorization(
  deps: ApiDeps,
  input: { label: string; hubUrl?: string | undefined },
  request: { ip?: string | undefined },
): Promise<StartDeviceAuthorizationOutput> {
  const now = currentTime(deps);
  const ip = normalizeIp(request.ip);
  await takeDeviceStart(deps, ip);
  // The approval page is the dashboard's.
  const baseUrl = deps.config.dashboardUrl || deps.config.publicUrl || input.hubUrl;
  if (baseUrl === undefined) {
    throw new AppError(
      "BAD_REQUEST",
      "The hub has no public URL configured: pass hubUrl (the URL you reach the hub at), or configure the hub's public URL",
    );
  }
  const expiresAt = new Date(now.getTime() + DEVICE_CODE_TTL_MS);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const deviceCode = generateDeviceCode();
    const userCode = generateUserCode();
    const canonicalUserCode = normalizeUserCode(userCode);
    if (canonicalUserCode === undefined) throw new Error("generateUserCode produced an invalid code");
    try {
      await deps.db.startDeviceAuthorization({
        deviceCodeHash: sha256Hex(deviceCode),
        userCodeHash: sha256Hex(canonicalUserCode),
        label: input.label,
        requestedIp: ip ?? null,
        now,
        expiresAt,
      });
    } catch (error) {
      // Another pending request holds this user code (40 bits, so rare): draw again.
      if (isUniqueViolation(error)) continue;
      throw error;
    }
    const url = new URL(`${baseUrl.replace(/\/+$/, "")}/device`);
    url.searchParams.set("code", userCode);
    return {
      deviceCode,
      userCode,
      verificationUrl: url.toString(),
      expiresAt: expiresAt.toISOString(),
      intervalSeconds: DEVICE_POLL_INTERVAL_SECONDS,
    };
  }
  throw new AppError("CONFLICT", "Could not find a free login code: run connect login again");
}

/** A unique violation (23505) from a raw query, which Prisma reports without the P2002 code. */
function isUniqueViolation(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    if (/23505|unique constraint/i.test(current.message)) return true;
    const meta = (current as { meta?: { code?: unknown } }).meta;
    if (meta?.code === "23505") return true;
    current = current.cause;
  }
  return false;
}
