import type { CheckProtocol } from "./check-service.js";

/**
 * Well-known ports and what usually listens there. Only a guess, and said to be one: a service
 * may run anything on any port, which is what --protocol is for.
 */
const WELL_KNOWN_PORTS: ReadonlyMap<number, CheckProtocol> = new Map<number, CheckProtocol>([
  [5432, "postgres"],
  [5433, "postgres"],
  [6432, "postgres"], // PgBouncer speaks the PostgreSQL protocol
  [3306, "mysql"],
  [3307, "mysql"],
  [6379, "redis"],
  [6380, "redis"],
  [80, "http"],
  [3000, "http"],
  [5000, "http"],
  [8000, "http"],
  [8008, "http"],
  [8080, "http"],
  [8081, "http"],
  [8888, "http"],
  [9000, "http"],
  [443, "tls"],
  [8443, "tls"],
  [9443, "tls"],
  [465, "tls"], // SMTP submission over TLS
  [993, "tls"], // IMAPS
  [995, "tls"], // POP3S
  [636, "tls"], // LDAPS
]);

/** The protocol a service on this port most likely speaks; anything unknown is raw TCP. */
export function guessProtocol(port: number): CheckProtocol {
  return WELL_KNOWN_PORTS.get(port) ?? "tcp";
}
