// Reading `connect status --json` without pinning every field of its shape: tests look for the
// part a user reads (the exposures, the reaches, the hub connection) by key name.

/** Every value, at any depth, stored under a key matching `key`. */
export function valuesUnderKey(value: unknown, key: RegExp, depth = 0): unknown[] {
  if (depth > 8 || value === null || typeof value !== "object") return [];
  const found: unknown[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (key.test(k)) found.push(v);
    else found.push(...valuesUnderKey(v, key, depth + 1));
  }
  return found;
}

/** True when a string equal to `text` appears anywhere in `value`. */
export function mentionsString(value: unknown, text: string, depth = 0): boolean {
  if (typeof value === "string") return value === text;
  if (depth > 8 || value === null || typeof value !== "object") return false;
  return Object.values(value).some((v) => mentionsString(v, text, depth + 1));
}

/** True when the number appears anywhere in `value` (as a number or a decimal string). */
export function mentionsNumber(value: unknown, n: number, depth = 0): boolean {
  if (typeof value === "number") return value === n;
  if (typeof value === "string") return value === String(n) || value.endsWith(`:${n}`);
  if (depth > 8 || value === null || typeof value !== "object") return false;
  return Object.values(value).some((v) => mentionsNumber(v, n, depth + 1));
}

/** The status's exposures section mentions service `name`. */
export function statusExposes(status: unknown, name: string): boolean {
  return valuesUnderKey(status, /expos/i).some((v) => mentionsString(v, name));
}

/** The status's reaches section mentions service `name` (and, if given, the local port). */
export function statusReaches(status: unknown, name: string, port?: number): boolean {
  const matches = (entry: unknown) => mentionsString(entry, name) && (port === undefined || mentionsNumber(entry, port));
  return valuesUnderKey(status, /reach/i).some((v) => (Array.isArray(v) ? v.some(matches) : matches(v)));
}
