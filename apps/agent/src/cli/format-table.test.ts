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

  it("prints only the header for no rows", () => {
    expect(formatTable(["A", "B"], [])).toBe("A  B");
  });
});
