#!/usr/bin/env node
// The kvbackup CLI. Installed from the package (no sources beside it): dist/cli/main.mjs, the CLI
// and every library it uses in one ES module (scripts/bundle.mjs). In a clone: the TypeScript
// sources through tsx, so `npx kvbackup` runs what is checked out, never a stale dist/.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { oldNodeLine } from "../scripts/require-node.mjs";

// A Node too old gets one clear line (one JSON document with --json), before anything is loaded.
const tooOld = oldNodeLine();
if (tooOld) {
  if (process.argv.includes("--json"))
    process.stdout.write(`${JSON.stringify({ error: { code: "UnsupportedNode", message: tooOld } })}\n`);
  else process.stderr.write(`${tooOld}\n`);
  process.exit(2);
}
// --version answers at once, wherever it stands (kvbackup --json --version, kvbackup doctor --version),
// from the package beside this file (a clone or an install alike).
if (process.argv.slice(2).includes("--version")) {
  const { readFileSync } = await import("node:fs");
  const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  process.stdout.write(
    process.argv.includes("--json") ? `${JSON.stringify({ version })}\n` : `kvbackup ${version}\n`,
  );
  process.exit(0);
}

const sources = new URL("../src/cli/main.ts", import.meta.url);
let main;
if (!existsSync(fileURLToPath(sources))) {
  ({ main } = await import(new URL("../dist/cli/main.mjs", import.meta.url).href));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import(sources.href));
}
// Ctrl-C (or SIGTERM) stops the work in hand: runs release their lease and the CLI says what
// happened (exit 130, and with --json one document). A second Ctrl-C exits at once.
const interrupt = new AbortController();
for (const sig of ["SIGINT", "SIGTERM"])
  process.on(sig, () => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  });
const code = await main(process.argv.slice(2), process.env, undefined, undefined, interrupt.signal);
// The answer is out: exit with it, even when a library left a socket open (an identity endpoint that
// accepts and never answers is given up on after its bound, but its request cannot be cancelled).
await new Promise((resolve) => process.stdout.write("", () => process.stderr.write("", resolve)));
process.exit(code);
