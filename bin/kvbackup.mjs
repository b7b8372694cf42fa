#!/usr/bin/env node
// The kvbackup CLI: the compiled build when there is one (npm run build), else the TypeScript
// sources through tsx, so `npx kvbackup` works right after `npm ci`.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const compiled = new URL("../dist/src/cli/main.js", import.meta.url);
let main;
if (existsSync(fileURLToPath(compiled))) {
  ({ main } = await import(compiled.href));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import(new URL("../src/cli/main.ts", import.meta.url).href));
}
process.exitCode = await main(process.argv.slice(2));
