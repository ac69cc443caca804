/** The only placeholders a url template knows: nothing else is looked up, run or evaluated. */
export const URL_PLACEHOLDERS = ["port", "host"] as const;
export type UrlPlaceholder = (typeof URL_PLACEHOLDERS)[number];

export const MAX_URL_TEMPLATE_LENGTH = 2048;

const PLACEHOLDER = /\{([^{}]*)\}/g;

/**
 * Why a url template cannot be used, or undefined when it can. Besides the placeholders, quotes,
 * backslashes, whitespace and control characters are refused: a URL never needs them unencoded,
 * and without them every value can be written to .env.pconnect in single quotes, read back
 * verbatim by every dotenv reader, with nothing to escape.
 */
export function findUrlTemplateProblem(template: string): string | undefined {
  if (template.length === 0) return "must not be empty";
  if (template.length > MAX_URL_TEMPLATE_LENGTH) return `must be at most ${MAX_URL_TEMPLATE_LENGTH} characters`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses.
  const unsafe = /[\s'"`\\\u0000-\u001f\u007f]/.exec(template);
  if (unsafe !== null) {
    return `must not contain ${JSON.stringify(unsafe[0])}: write a URL without quotes, backslashes or spaces (percent-encode them)`;
  }
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? "";
    if (!(URL_PLACEHOLDERS as readonly string[]).includes(name)) {
      return `has an unknown placeholder {${name}}: only {port} and {host} are filled in`;
    }
  }
  const leftover = template.replace(PLACEHOLDER, "");
  if (/[{}]/.test(leftover)) return "has an unmatched { or }: placeholders are written {port} and {host}";
  return undefined;
}

/**
 * Fills {port} and {host} in a template already checked by findUrlTemplateProblem. A plain
 * string replacement: the template is never handed to a shell or an evaluator.
 */
export function fillUrlTemplate(template: string, values: Record<UrlPlaceholder, string>): string {
  return template.replace(PLACEHOLDER, (whole, name: string) =>
    Object.hasOwn(values, name) ? values[name as UrlPlaceholder] : whole,
  );
}
