import { connect as connectTls, type PeerCertificate } from "node:tls";
import { formatPrintableText } from "./printable-bytes.js";
import { elapsedSince, type Probe, type ProbeResult } from "./probe.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/** One name out of a certificate's subject or issuer (fields may repeat: then the first). */
function firstName(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * TLS: a handshake over the stream, accepting any certificate so it can be described, and
 * saying whether this machine would have trusted its chain. The host name is not checked: the
 * check does not know which name clients use; the subject and its alternative names are shown.
 */
export const probeTls: Probe = (socket, options) =>
  new Promise<ProbeResult>((resolve) => {
    const startedAt = performance.now();
    const secured = connectTls({ socket, rejectUnauthorized: false, checkServerIdentity: () => undefined });
    let isDone = false;
    const finish = (result: ProbeResult) => {
      if (isDone) return;
      isDone = true;
      clearTimeout(timer);
      secured.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish(notTls("no TLS handshake within the timeout: the service accepted the connection, then went quiet")),
      options.deadline.remainingMs(),
    );
    secured.once("secureConnect", () => {
      const probeMs = elapsedSince(startedAt);
      const certificate = secured.getPeerCertificate();
      finish(describeCertificate(certificate, secured.authorized, secured.authorizationError, secured.getProtocol(), probeMs));
    });
    secured.once("error", (error: NodeJS.ErrnoException) => {
      const reason = error.code ?? error.message;
      finish(
        notTls(
          error.code === "ERR_SSL_WRONG_VERSION_NUMBER" || error.code === "ECONNRESET" || /wrong version/i.test(error.message)
            ? `the TLS handshake failed (${reason}): the service does not speak TLS here`
            : `the TLS handshake failed: ${reason}`,
        ),
      );
    });
  });

export function describeCertificate(
  certificate: PeerCertificate,
  isVerified: boolean,
  verifyError: Error | null | undefined,
  protocol: string | null,
  probeMs: number,
  now = new Date(),
): ProbeResult {
  const details: ProbeResult["details"] = { verified: isVerified };
  if (protocol !== null) details.tlsVersion = protocol;
  if (!isVerified && verifyError !== null && verifyError !== undefined) {
    details.verifyError = formatPrintableText(String((verifyError as NodeJS.ErrnoException).code ?? verifyError), 100);
  }
  if (certificate === undefined || Object.keys(certificate).length === 0) {
    return { isHealthy: true, summary: "TLS handshake done, no certificate", details, probeMs };
  }
  const subject = firstName(certificate.subject?.CN);
  const issuer = firstName(certificate.issuer?.CN) ?? firstName(certificate.issuer?.O);
  if (subject !== undefined) details.subject = formatPrintableText(subject, 200);
  if (issuer !== undefined) details.issuer = formatPrintableText(issuer, 200);
  if (certificate.subjectaltname !== undefined) details.altNames = formatPrintableText(certificate.subjectaltname, 300);
  const validTo = new Date(certificate.valid_to);
  let problem: string | undefined;
  if (!Number.isNaN(validTo.getTime())) {
    details.validTo = validTo.toISOString();
    const daysLeft = Math.floor((validTo.getTime() - now.getTime()) / DAY_MS);
    details.daysLeft = daysLeft;
    if (validTo.getTime() <= now.getTime()) problem = `its certificate expired on ${details.validTo}: renew it on the server`;
  }
  const who = subject === undefined ? "a certificate" : `${details.subject}`;
  const expiry = details.daysLeft === undefined ? "" : `, ${details.daysLeft} days left`;
  const summary = `TLS handshake done: ${who}${expiry}${isVerified ? "" : " (not verified)"}`;
  return problem === undefined
    ? { isHealthy: true, summary, details, probeMs }
    : { isHealthy: false, summary, details, probeMs, problem };
}

function notTls(problem: string): ProbeResult {
  return { isHealthy: false, summary: "no TLS handshake", details: {}, probeMs: null, problem };
}
