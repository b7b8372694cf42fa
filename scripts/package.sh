#!/usr/bin/env bash
# npm run package: the exact package Azure runs, built here (no remote build, nothing installed).
#   .local/package/app/          dist/index.mjs (the app and every library it uses, one ES module),
#                                dist/THIRD_PARTY_NOTICES.txt, host.json, package.json
#   .local/package/kvbackup.zip  the same, zipped for zip deploy
# azure.yaml deploys .local/package/app with remoteBuild: false; the zip is for
# `az functionapp deployment source config-zip`. The package tests load app/ as the Node worker
# does; npm run package:measure gives its size and load time.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.local/package
rm -rf "$out" && mkdir -p "$out/app"
# Type errors stop the package (esbuild strips types without checking them).
npm run typecheck --silent
node scripts/bundle.mjs app "$out/app/dist"
cp host.json "$out/app/"
# What the host reads: the entry (main) and the module type. No dependencies: they are in the bundle,
# and @azure/functions-core comes from the worker.
node -e '
  const p = require("./package.json");
  const { name, version, description, type, engines, license } = p;
  require("fs").writeFileSync(process.argv[1], JSON.stringify({ name, version, description, type, main: "dist/index.mjs", engines, license }, null, 2) + "\n");
' "$out/app/package.json"
if command -v zip >/dev/null; then
  (cd "$out/app" && zip -qr ../kvbackup.zip .)
  ls -l "$out/kvbackup.zip" | awk '{printf "package: %.1f MB zipped\n", $5/1048576}'
else
  echo "zip is not installed: .local/package/app is ready, no kvbackup.zip (azd deploys the folder)"
fi
