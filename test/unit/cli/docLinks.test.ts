import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { docLinks } from "../../../src/cli/output.js";

const pkg = mkdtempSync(join(tmpdir(), "kvbackup-docs-"));
const docs = join(pkg, "docs");
mkdirSync(docs);
writeFileSync(join(docs, "troubleshooting.md"), "# Troubleshooting\n");
writeFileSync(join(pkg, "README.md"), "# kvbackup\n");
afterAll(() => rmSync(pkg, { recursive: true, force: true }));

describe("a line that names a guide names it where the install has it", () => {
  it("from anywhere else: the shipped copy's full path", () => {
    expect(
      docLinks("some checks failed: see the fixes above and docs/troubleshooting.md", "/home/ops", pkg),
    ).toBe(`some checks failed: see the fixes above and ${join(docs, "troubleshooting.md")}`);
  });

  it("README.md too", () => {
    expect(docLinks("settings: ...; see README.md", "/home/ops", pkg)).toBe(
      `settings: ...; see ${join(pkg, "README.md")}`,
    );
  });

  it("from the package's own root (a clone): left as it is, it already leads there", () => {
    expect(docLinks("See docs/troubleshooting.md.", pkg, pkg)).toBe("See docs/troubleshooting.md.");
  });

  it("a guide the install does not ship, or a path that only ends in docs/, is left alone", () => {
    expect(docLinks("See docs/nothing-here.md", "/home/ops", pkg)).toBe("See docs/nothing-here.md");
    expect(docLinks("see site/docs/troubleshooting.md", "/home/ops", pkg)).toBe(
      "see site/docs/troubleshooting.md",
    );
  });

  it("every guide the CLI's own lines name is one the package ships (package.json files: docs)", () => {
    const root = join(import.meta.dirname, "..", "..", "..");
    const named = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(dir, e.name));
        else if (e.name.endsWith(".ts"))
          for (const m of readFileSync(join(dir, e.name), "utf8").matchAll(/docs\/([\w-]+\.md)/g))
            named.add(m[1] as string);
      }
    };
    walk(join(root, "src"));
    const shipped = new Set(readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")));
    expect([...named].filter((f) => !shipped.has(f))).toEqual([]);
    expect(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).files).toContain("docs");
  });
});
