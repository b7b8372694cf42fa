import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

describe("docs/troubleshooting.md", () => {
  it("has a section for every diagnosis code the code can produce", () => {
    const source = readFileSync(join(import.meta.dirname, "..", "..", "src", "diagnosis.ts"), "utf8");
    const union = source.slice(
      source.indexOf("export type DiagnosisCode"),
      source.indexOf(";", source.indexOf("export type DiagnosisCode")),
    );
    const codes = [...union.matchAll(/"([A-Za-z]+)"/g)].map((m) => m[1]);
    expect(codes.length).toBeGreaterThan(15);
    const doc = readFileSync(join(import.meta.dirname, "..", "..", "docs", "troubleshooting.md"), "utf8");
    const documented = new Set([...doc.matchAll(/^### (\w+)/gm)].map((m) => m[1]));
    expect(codes.filter((c) => !documented.has(c))).toEqual([]);
  });
});
