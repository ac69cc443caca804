import { describe, expect, it } from "vitest";
import { formatTable } from "./format-table.js";

describe("formatTable", () => {
  it("pads every column but the last to its widest cell", () => {
    expect(
      formatTable(
        ["Name", "Uses", "Reason"],
        [
          ["acme-contractor", "12", "a long reason"],
          ["x", "1234", ""],
        ],
      ),
    ).toBe(["Name             Uses  Reason", "acme-contractor  12    a long reason", "x                1234"].join("\n"));
  });

  it("writes a hostile label's escape sequences, direction overrides and line breaks out as visible text", () => {
    // What an agent of another workspace once joined a share with: clear the screen, retitle the
    // window "PWNED" (ending in BEL), a C1 CSI, a right-to-left override, a forged second row.
    const hostile = "\u001b[2J\u001b]0;PWNED\u0007 \u009b31m inv\u202eexe.txt\nfake-share  active";
    const table = formatTable(["Joiners", "Uses"], [[hostile, "3"]]);
    const [header, row, ...extra] = table.split("\n");
    expect(extra).toEqual([]);
    expect(row).toBe("\\x1b[2J\\x1b]0;PWNED\\x07 \\x9b31m inv\\u202eexe.txt\\nfake-share  active  3");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding raw ones is the point.
    expect(table).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    // Columns are measured on what is printed, so the header still lines up.
    expect(header?.indexOf("Uses")).toBe(row?.lastIndexOf("3"));
  });

  it("leaves ordinary text of any script and emoji alone", () => {
    expect(formatTable(["Name", "Agent"], [["Büro 東京", "👩‍💻 dev box"]])).toBe("Name     Agent\nBüro 東京  👩‍💻 dev box");
  });

  it("prints only the header for no rows", () => {
    expect(formatTable(["A", "B"], [])).toBe("A  B");
  });
});
