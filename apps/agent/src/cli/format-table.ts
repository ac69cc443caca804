import { escapeUnprintable } from "@private-connect/protocol";

/**
 * Rows under a header, columns padded to their widest cell and separated by two spaces: the
 * layout of `connect share list`, `connect link list` and `connect audit`. The last column is
 * not padded, so long reasons do not leave trailing spaces.
 *
 * Cells come from the hub and, through shares, from other workspaces (a joiner's label): every
 * control character, line break and direction override is written out as visible text
 * (escapeUnprintable), so that a label cannot clear the screen, retitle the terminal, forge a row
 * or reverse the text beside it. The hub refuses such names now; rows from before still print.
 */
export function formatTable(headers: string[], rows: string[][]): string {
  const printableHeaders = headers.map(escapeUnprintable);
  const printableRows = rows.map((row) => row.map(escapeUnprintable));
  const widths = printableHeaders.map((header, column) =>
    Math.max(header.length, ...printableRows.map((row) => (row[column] ?? "").length)),
  );
  const render = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join("  ")
      .trimEnd();
  return [render(printableHeaders), ...printableRows.map(render)].join("\n");
}
