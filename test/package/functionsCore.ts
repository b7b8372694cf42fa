import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The worker provides @azure/functions-core, which @azure/functions require()s: a stand-in
 * (functionsCoreStub.cjs) that records each registration, in a folder of its own outside the
 * package, found through NODE_PATH (CommonJS resolution's last resort), so the package is loaded as
 * it is, unchanged. Returns the folder to put on NODE_PATH.
 */
export function functionsCoreStand(parent: string): string {
  const stubs = mkdtempSync(join(parent, "package-stubs-"));
  const core = join(stubs, "@azure", "functions-core");
  mkdirSync(core, { recursive: true });
  writeFileSync(
    join(core, "package.json"),
    JSON.stringify({ name: "@azure/functions-core", main: "index.js" }),
  );
  cpSync(join(import.meta.dirname, "functionsCoreStub.cjs"), join(core, "index.js"));
  return stubs;
}
