// The two things kvbackup ships, each one ES module with everything it imports inside (esbuild):
//   node scripts/bundle.mjs app <dir>   the Functions app's entry (src/index.ts) -> <dir>/index.mjs
//   node scripts/bundle.mjs cli [dir]   the CLI (src/cli/main.ts) -> dist/cli/main.mjs (npm pack ships it)
// Each gets THIRD_PARTY_NOTICES.txt beside it: the licence of every package inside the bundle.
// @azure/functions-core stays outside: the Functions Node worker provides it to the app.
// Not minified: names stay readable in a stack trace in Application Insights.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";

const root = join(import.meta.dirname, "..");
const [what, outArg] = process.argv.slice(2);
const targets = {
  app: { entry: "src/index.ts", dir: outArg, file: "index.mjs" },
  cli: { entry: "src/cli/main.ts", dir: outArg ?? join(root, "dist", "cli"), file: "main.mjs" },
};
const target = targets[what];
if (!target?.dir) {
  console.error("usage: node scripts/bundle.mjs app <dir> | cli [dir]");
  process.exit(2);
}
mkdirSync(target.dir, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: [target.entry],
  outfile: join(target.dir, target.file),
  bundle: true,
  platform: "node",
  target: "node22",
  format: "esm",
  // platform node: packages resolve through their "node" and "import" export conditions, as Node
  // resolves them for an ES module (never a browser build).
  external: ["@azure/functions-core"],
  // CommonJS packages inside an ES module still call require and read __dirname / __filename:
  // the banner makes them (under names no package declares), define points the free uses at them.
  banner: {
    js: [
      'import { createRequire as __kvbCreateRequire } from "node:module";',
      'import { fileURLToPath as __kvbFileURLToPath } from "node:url";',
      'import { dirname as __kvbDirname } from "node:path";',
      "const require = __kvbCreateRequire(import.meta.url);",
      "const __kvbFilename = __kvbFileURLToPath(import.meta.url);",
      "const __kvbDirnameOfBundle = __kvbDirname(__kvbFilename);",
    ].join("\n"),
  },
  define: { __filename: "__kvbFilename", __dirname: "__kvbDirnameOfBundle" },
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
});

// The licences: one section per package the bundle holds, from its package.json and LICENSE file.
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = input.match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//);
  if (m && !packages.has(m[1])) packages.set(m[1], true);
}
const sections = [];
for (const dir of [...packages.keys()].sort()) {
  const pkg = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));
  const licenceFile = readdirSync(join(root, dir)).find((f) => /^(licen[sc]e|copying)(\.|$)/i.test(f));
  const text = licenceFile
    ? readFileSync(join(root, dir, licenceFile), "utf8").trim()
    : `License: ${pkg.license}`;
  sections.push(`${pkg.name} ${pkg.version} (${pkg.license ?? "see text"})\n\n${text}`);
}
writeFileSync(
  join(target.dir, "THIRD_PARTY_NOTICES.txt"),
  `kvbackup ${JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version}: ${target.file} bundles these packages.\n\n${sections.join(`\n\n${"-".repeat(72)}\n\n`)}\n`,
);
const out = join(target.dir, target.file);
if (!existsSync(out)) throw new Error(`esbuild wrote no ${out}`);
console.log(
  `${what}: ${out.replace(`${root}/`, "")} (${(readFileSync(out).length / 1048576).toFixed(1)} MB, ${packages.size} packages bundled)`,
);
