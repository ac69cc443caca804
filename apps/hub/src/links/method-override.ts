// Method overrides: many frameworks (Rails, Laravel, Symfony, Express's method-override, ASP.NET)
// run a POST as whatever an X-HTTP-Method-Override header or a `_method` query parameter names.
// On a link restricted by --methods that would let a visitor DELETE through a GET/POST link, so
// the methods an override names are held to the link's list like the request's own method.

/** Header names compared after lower-casing and `_` -> `-` (CGI, PHP and WSGI read them alike). */
const OVERRIDE_HEADERS = new Set(["x-http-method-override", "x-method-override", "x-http-method"]);
const OVERRIDE_QUERY_PARAMETER = "_method";

export interface MethodOverride {
  /** Where the visitor named it: a header as sent, or `the _method parameter`. */
  source: string;
  method: string;
}

/** Every method a request names through an override, upper case, in the order sent. */
export function findMethodOverrides(rawHeaders: readonly string[], target: string): MethodOverride[] {
  const overrides: MethodOverride[] = [];
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] ?? "";
    if (!OVERRIDE_HEADERS.has(name.toLowerCase().replaceAll("_", "-"))) continue;
    // A list (`GET, DELETE`) is read by some servers as its first entry, by others as its last.
    for (const method of (rawHeaders[index + 1] ?? "").split(",")) {
      if (method.trim() !== "") overrides.push({ source: `the ${name} header`, method: method.trim().toUpperCase() });
    }
  }
  const queryStart = target.indexOf("?");
  if (queryStart !== -1) {
    const query = new URLSearchParams(target.slice(queryStart + 1));
    for (const [key, value] of query) {
      if (key.toLowerCase() !== OVERRIDE_QUERY_PARAMETER || value.trim() === "") continue;
      overrides.push({ source: `the ${OVERRIDE_QUERY_PARAMETER} parameter`, method: value.trim().toUpperCase() });
    }
  }
  return overrides;
}

/** The first override naming a method outside the link's list, if any (an empty list allows all). */
export function findForbiddenOverride(
  rawHeaders: readonly string[],
  target: string,
  allowedMethods: readonly string[],
): MethodOverride | undefined {
  if (allowedMethods.length === 0) return undefined;
  return findMethodOverrides(rawHeaders, target).find((override) => !allowedMethods.includes(override.method));
}
