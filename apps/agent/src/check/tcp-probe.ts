import { formatPrintableBytes } from "./printable-bytes.js";
import { describeNoAnswer, elapsedSince, type Probe, type ProbeResult } from "./probe.js";
import { SocketReader } from "./socket-reader.js";

/** How long to wait for a service that speaks first (SSH, SMTP, MySQL do at once). */
export const TCP_FIRST_BYTES_WAIT_MS = 1_500;
/** After the first bytes, how long the rest of a banner may take. */
const BANNER_REST_WAIT_MS = 200;
/** Enough bytes to show a banner; the rest is not read. */
const MAX_FIRST_BYTES = 256;

/**
 * Raw TCP: the stream is open, so the service accepted a connection; the probe shows what it
 * says first, if anything, within a short wait. A service closing at once is reported: most
 * refuse that way.
 */
export const probeTcp: Probe = async (socket, options): Promise<ProbeResult> => {
  const startedAt = performance.now();
  const reader = new SocketReader(socket, MAX_FIRST_BYTES);
  let outcome = await reader.wait((bytes) => bytes.length > 0, options.deadline, TCP_FIRST_BYTES_WAIT_MS);
  // A banner often comes in more than one piece: a moment more for the rest of it.
  if (outcome === "complete")
    outcome = await reader.wait((bytes) => bytes.length >= MAX_FIRST_BYTES, options.deadline, BANNER_REST_WAIT_MS);
  const bytes = reader.bytes;
  if (bytes.length > 0) {
    const firstBytes = formatPrintableBytes(bytes, 64);
    return {
      isHealthy: true,
      summary: `connected, the service sent: ${firstBytes}`,
      details: { firstBytes, bytes: bytes.length },
      probeMs: elapsedSince(startedAt),
    };
  }
  if (outcome === "timeout") {
    return { isHealthy: true, summary: "connected, the service sent nothing first", details: {}, probeMs: null };
  }
  return {
    isHealthy: false,
    summary: "connected, then closed",
    details: {},
    probeMs: elapsedSince(startedAt),
    problem: `${describeNoAnswer(outcome === "complete" ? "closed" : outcome, "sending anything", reader.error)}: it may refuse connections from the exposing agent's machine`,
  };
};
