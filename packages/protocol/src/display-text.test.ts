import { describe, expect, it } from "vitest";
import { escapeUnprintable, findUnprintableCharacter } from "./display-text.js";

describe("display text", () => {
  it("finds the first control character, line break, direction mark or lone surrogate", () => {
    expect(findUnprintableCharacter("clear\u001b[2J")).toBe("U+001B");
    expect(findUnprintableCharacter("del\u007f")).toBe("U+007F");
    expect(findUnprintableCharacter("csi\u009b")).toBe("U+009B");
    expect(findUnprintableCharacter("a\u2028b")).toBe("U+2028");
    expect(findUnprintableCharacter("left\u200fmark")).toBe("U+200F");
    expect(findUnprintableCharacter("isolate\u2067")).toBe("U+2067");
    expect(findUnprintableCharacter("arabic\u061cmark")).toBe("U+061C");
    expect(findUnprintableCharacter("half\udc00")).toBe("U+DC00");
    expect(findUnprintableCharacter("Büro 東京 👩‍💻 🇫🇷")).toBeUndefined();
  });

  it("writes them out as visible text and leaves everything else as it was", () => {
    expect(escapeUnprintable("\u001b]0;PWNED\u0007")).toBe("\\x1b]0;PWNED\\x07");
    expect(escapeUnprintable("a\nb\rc\td")).toBe("a\\nb\\rc\\td");
    expect(escapeUnprintable("inv\u202eexe.txt")).toBe("inv\\u202eexe.txt");
    expect(escapeUnprintable("nul\u0000 c1\u0085")).toBe("nul\\x00 c1\\x85");
    expect(escapeUnprintable("lone\ud800!")).toBe("lone\\ud800!");
    const ordinary = "Büro 東京 👩‍💻 (prod) \\ back";
    expect(escapeUnprintable(ordinary)).toBe(ordinary);
  });
});
