import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DiagnosisCodes } from "../../src/domain/diagnosis.js";

describe("docs/troubleshooting.md", () => {
  it("has a section for every diagnosis code the code can produce", () => {
    expect(DiagnosisCodes.length).toBeGreaterThan(25);
    const doc = readFileSync(join(import.meta.dirname, "..", "..", "docs", "troubleshooting.md"), "utf8");
    const documented = new Set([...doc.matchAll(/^### (\w+)/gm)].map((m) => m[1]));
    expect(DiagnosisCodes.filter((c) => !documented.has(c))).toEqual([]);
  });
});
