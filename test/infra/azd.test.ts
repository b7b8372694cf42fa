import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

/**
 * azure.yaml as azd reads it (issue 21): the build is the service's own (a project-level prepackage
 * hook does not run on azd deploy), what it ships is the staged package, and provisioning first
 * checks what the template cannot create.
 */
const root = join(import.meta.dirname, "..", "..");
const azure = parse(readFileSync(join(root, "azure.yaml"), "utf8")) as {
  hooks?: Record<string, { posix?: { run: string }; windows?: { run: string } }>;
  services: Record<
    string,
    {
      project: string;
      dist?: string;
      language: string;
      host: string;
      remoteBuild?: boolean;
      hooks?: Record<string, { posix?: { run: string }; windows?: { run: string } }>;
    }
  >;
};

describe("azure.yaml", () => {
  it("the service builds what it ships: its own prepackage hook stages the package azd deploys as it is", () => {
    const api = azure.services.api;
    expect(api).toMatchObject({
      project: ".",
      dist: ".local/package/app",
      language: "js",
      host: "function",
      remoteBuild: false,
    });
    expect(api?.hooks?.prepackage?.posix?.run).toBe("npm run package");
    expect(api?.hooks?.prepackage?.windows?.run).toBe("npm run package");
    // Not a project-level hook: azd deploy does not run those.
    expect(azure.hooks?.prepackage).toBeUndefined();
    // What the hook runs stages into exactly the folder azd ships: the bundle, and a package.json
    // that declares no dependency, so nothing is resolved anew at deploy time.
    const script = readFileSync(join(root, "scripts", "package.sh"), "utf8");
    expect(script).toContain("out=.local/package");
    expect(script).toContain('node scripts/bundle.mjs app "$out/app/dist"');
    expect(script).toContain('main: "dist/index.mjs"');
    expect(script).not.toMatch(/dependencies[,}]/);
  });

  it("provisioning starts with the resource provider check, on any shell", () => {
    expect(azure.hooks?.preprovision?.posix?.run).toBe("node infra/hooks/preprovision.mjs");
    expect(azure.hooks?.preprovision?.windows?.run).toBe("node infra/hooks/preprovision.mjs");
  });
});
