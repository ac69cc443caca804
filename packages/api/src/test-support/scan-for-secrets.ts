// The "stored only as SHA-256" promise, checked the blunt way: every row of every table, read
// outside row-level security, as JSON text, searched for each plaintext secret a test handled.
import { sha256Hex } from "@private-connect/db";
import type { Harness } from "./harness.js";

export interface SecretsScan {
  /** Every table of schema public that was read. */
  tables: string[];
  rowsByTable: Record<string, number>;
  /** "table: secret prefix..." for each plaintext secret found. Must be empty. */
  plaintextHits: string[];
  /** How many of the secrets' SHA-256 digests were found: proof the scan sees credential rows. */
  hashesFound: number;
}

/**
 * Looks for each secret as given, and for the body of pc_ keys without their prefix (a key
 * stored minus "pc_" would still be a key).
 */
export async function scanTablesForSecrets(harness: Harness, secrets: Iterable<string>): Promise<SecretsScan> {
  const unique = [...new Set(secrets)];
  const needles = unique.flatMap((secret) => (secret.startsWith("pc_") ? [secret, secret.slice(3)] : [secret]));
  const tableRows = await harness.queryAsOwner(
    `SELECT c.relname::text AS name FROM pg_catalog.pg_class c
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY 1`,
  );
  const tables = tableRows.map((row) => String(row.name));
  const rowsByTable: Record<string, number> = {};
  const plaintextHits: string[] = [];
  const digests = new Set(unique.map((secret) => sha256Hex(secret)));
  const digestsSeen = new Set<string>();
  for (const table of tables) {
    const rows = await harness.queryAsOwner(`SELECT row_to_json(t)::text AS row FROM "${table.replaceAll('"', '""')}" AS t`);
    rowsByTable[table] = rows.length;
    for (const { row } of rows) {
      const text = String(row);
      for (const needle of needles) {
        if (text.includes(needle)) plaintextHits.push(`${table}: ${needle.slice(0, 6)}...`);
      }
      for (const digest of digests) if (text.includes(digest)) digestsSeen.add(digest);
    }
  }
  return { tables, rowsByTable, plaintextHits, hashesFound: digestsSeen.size };
}
