// Number and markdown-table formatting shared by the report's sections.

/** A number with `digits` decimals, or "–" where there is none. */
export const fmt = (value, digits = 1) =>
  value === undefined || value === null || Number.isNaN(value) ? "–" : value.toFixed(digits);

export function table(headers, rows) {
  const lines = [`| ${headers.join(" | ")} |`, `| ${headers.map(() => "---").join(" | ")} |`];
  for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
  return lines.join("\n");
}
