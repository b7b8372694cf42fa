import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { oldNodeLine, SupportedMajor } from "../../scripts/require-node.mjs";

const root = join(import.meta.dirname, "..", "..");
const read = (f: string) => readFileSync(join(root, f), "utf8");

describe("the Node kvbackup runs on, refused when older", () => {
  it("one line for a Node too old, none for the supported one and newer", () => {
    expect(oldNodeLine("20.19.0")).toMatch(
      /^kvbackup needs Node\.js 22 or newer .* this is Node\.js 20\.19\.0\./,
    );
    expect(oldNodeLine("22.0.0")).toBeUndefined();
    expect(oldNodeLine("24.1.0")).toBeUndefined();
  });

  it("one version everywhere: .node-version, package.json's engines, the check; and a clone's npm ci stops first (engine-strict)", () => {
    expect(Number(read(".node-version").trim().split(".")[0])).toBe(SupportedMajor);
    expect(JSON.parse(read("package.json")).engines).toEqual({ node: `>=${SupportedMajor}` });
    expect(read(".npmrc")).toMatch(/^engine-strict=true$/m);
  });
});
