import { isIP } from "node:net";
import { connect } from "node:tls";
import { type DoctorCheck, describeFailure, fail, formatSeconds, NETWORK_TIMEOUT_MS, pass, warn } from "./check.js";

const NAME = "tls";
const DAY_MS = 24 * 60 * 60 * 1000;
/** A certificate closer than this to its end is renewed now, not the day the agents drop off. */
export const CERT_EXPIRY_WARNING_DAYS = 14;

/** What the TLS handshake showed of the hub's certificate. */
export interface CertificateFacts {
  host: string;
  /** Node's reason the chain or name did not verify (CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, ...). */
  authorizationError: string | undefined;
  /** The certificate's notAfter as the peer certificate gives it ("Dec  3 14:53:11 2026 GMT"). */
  validTo: string | undefined;
}

const TRUST_FIX = (host: string) =>
  `serve a certificate for ${host} from a CA this machine trusts (or trust your CA: NODE_EXTRA_CA_CERTS=/path/ca.pem)`;

/** Judges a certificate the way the agent's own connection would, plus an early warning before it expires. */
export function evaluateCertificate(facts: CertificateFacts, now: Date): DoctorCheck {
  const validTo = facts.validTo === undefined ? Number.NaN : Date.parse(facts.validTo);
  const until = Number.isNaN(validTo) ? "" : new Date(validTo).toISOString().slice(0, 10);
  switch (facts.authorizationError) {
    case undefined:
      break;
    case "CERT_HAS_EXPIRED":
      return fail(
        NAME,
        `The hub's certificate expired${until === "" ? "" : ` on ${until}`}`,
        `renew the certificate of ${facts.host}`,
      );
    case "CERT_NOT_YET_VALID":
      return fail(
        NAME,
        "The hub's certificate is not valid yet",
        "check this machine's clock (see the clock check), or the certificate's start date",
      );
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return fail(NAME, `The hub's certificate is not valid for ${facts.host}`, TRUST_FIX(facts.host));
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "SELF_SIGNED_CERT_IN_CHAIN":
      return fail(NAME, "The hub's certificate is self-signed: this machine does not trust it", TRUST_FIX(facts.host));
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
      return fail(
        NAME,
        "The hub's certificate is signed by an issuer this machine does not trust (or the hub omits the intermediate certificates)",
        TRUST_FIX(facts.host),
      );
    default:
      return fail(NAME, `The hub's certificate does not verify: ${facts.authorizationError}`, TRUST_FIX(facts.host));
  }
  if (Number.isNaN(validTo)) return pass(NAME, `certificate valid for ${facts.host}`);
  const remainingMs = validTo - now.getTime();
  if (remainingMs <= 0) return fail(NAME, `The hub's certificate expired on ${until}`, `renew the certificate of ${facts.host}`);
  const days = Math.floor(remainingMs / DAY_MS);
  if (days < CERT_EXPIRY_WARNING_DAYS) {
    return warn(
      NAME,
      `The hub's certificate expires in ${days} day${days === 1 ? "" : "s"} (${until})`,
      `renew the certificate of ${facts.host} before ${until}`,
    );
  }
  return pass(NAME, `certificate valid for ${facts.host} until ${until} (${days} days)`);
}

export interface TlsProbeOptions {
  /** The hub URL's host: where to connect, and the name the certificate must be valid for. */
  host: string;
  port: number;
  /** Extra trusted CA certificates (tests); the system's and NODE_EXTRA_CA_CERTS are trusted anyway. */
  ca?: string | Buffer | undefined;
  timeoutMs?: number;
}

/** Makes a TLS handshake with the hub and reads what the certificate says, without refusing it. */
export function probeCertificate(options: TlsProbeOptions): Promise<CertificateFacts> {
  const timeoutMs = options.timeoutMs ?? NETWORK_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: options.host,
      port: options.port,
      // SNI takes a name only; an IP host is checked against the certificate's IP entries.
      servername: isIP(options.host) === 0 ? options.host : undefined,
      // Verification runs anyway and lands in authorizationError, also for the host name check.
      rejectUnauthorized: false,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TLS handshake within ${formatSeconds(timeoutMs)}`));
    }, timeoutMs);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const certificate = socket.getPeerCertificate();
      const error = socket.authorizationError as Error | string | null | undefined;
      socket.destroy();
      resolve({
        host: options.host,
        authorizationError:
          error === null || error === undefined
            ? undefined
            : typeof error === "string"
              ? error
              : ((error as NodeJS.ErrnoException).code ?? error.message),
        validTo: typeof certificate.valid_to === "string" && certificate.valid_to !== "" ? certificate.valid_to : undefined,
      });
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}

/** The tls line: the certificate as the agent would see it, or why there was no handshake. */
export async function checkTls(options: TlsProbeOptions, now: Date): Promise<DoctorCheck> {
  try {
    return evaluateCertificate(await probeCertificate(options), now);
  } catch (error) {
    return fail(
      NAME,
      `No TLS handshake with ${options.host}:${options.port}: ${describeFailure(error)}`,
      "check that the hub (or its proxy) serves TLS on that port, as the https:// URL says",
    );
  }
}
