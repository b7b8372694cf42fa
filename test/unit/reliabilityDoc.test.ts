import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * docs/reliability.md names, for every fault, the tests that prove what kvbackup does: each named
 * file must exist and hold a test of that name (the text before "…" when shortened; "%s" where the
 * test is a table). A test renamed, moved or removed fails here, not silently in the doc.
 */
const root = join(import.meta.dirname, "..", "..");
const doc = readFileSync(join(root, "docs", "reliability.md"), "utf8");

/** Each `path` › "name"; "name2" … in a cell, as [path, name] (a name may hold \" for a quote). */
function citations(): [string, string][] {
  const out: [string, string][] = [];
  for (const cell of doc.split(/(?<!\\)\||<br>/))
    for (const m of cell.matchAll(/`(test\/[^`]+\.test\.ts)` › ((?:(?!`test\/).)*)/g))
      for (const quoted of (m[2] as string).matchAll(/"((?:[^"\\]|\\.)+)"/g))
        out.push([m[1] as string, (quoted[1] as string).replace(/\\(.)/g, "$1")]);
  return out;
}

/** A test's name as the doc may shorten it: up to "…". */
const stem = (name: string): string => (name.split("…")[0] as string).replace(/[\s:,;(]+$/, "").trim();

/** The test names of a table (it.each): each split at its first "%s" / "%j" / "%d". */
const tables = (text: string): [string, string][] =>
  [...text.matchAll(/(["'`])((?:(?!\1)[^\\]|\\.)*%[sjd](?:(?!\1)[^\\]|\\.)*)\1/g)].map((m) => {
    const [before, ...after] = (m[2] as string).replace(/\\(.)/g, "$1").split(/%[sjd]/);
    return [before as string, after.join("")];
  });

/** A row of a table, as the doc names it: the text before the wildcard, then the start of what follows it. */
const ofTable = (want: string, [before, after]: [string, string]): boolean =>
  want.startsWith(before) && (after.length === 0 || want.includes(after.slice(0, 20)));

describe("docs/reliability.md", () => {
  const cited = citations();

  it("cites tests (it would hold nothing otherwise)", () => {
    expect(cited.length).toBeGreaterThan(200);
  });

  it("every test it cites is in the file it names", () => {
    const missing: string[] = [];
    for (const [path, name] of cited) {
      const file = join(root, path);
      if (!existsSync(file)) {
        missing.push(`${path} (no such file)`);
        continue;
      }
      const source = readFileSync(file, "utf8");
      const text = source.replace(/\\(["'`\\])/g, "$1");
      const want = stem(name);
      const inTable = tables(source).some((t) => ofTable(want, t));
      if (want.length > 0 && !text.includes(want) && !inTable) missing.push(`${path} › ${name}`);
    }
    expect(missing).toEqual([]);
  });
});
