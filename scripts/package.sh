#!/usr/bin/env bash
# npm run package: the exact package Azure runs, built here (no remote build).
#   .local/package/app/          built JS (dist/src), production node_modules, host.json, package.json
#   .local/package/kvbackup.zip  the same, zipped for zip deploy
# azure.yaml deploys .local/package/app with remoteBuild: false; the zip is for
# `az functionapp deployment source config-zip`. The package test loads app/ as the Node worker does.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.local/package
rm -rf "$out" && mkdir -p "$out/app"
npm run build --silent
cp -r dist "$out/app/dist"
rm -rf "$out/app/dist/test"
cp host.json package-lock.json "$out/app/"
# The deployed package.json carries what the host reads and the runtime dependencies, nothing to build.
node -e '
  const p = require("./package.json");
  const { name, version, description, type, main, engines, license, dependencies } = p;
  require("fs").writeFileSync(process.argv[1], JSON.stringify({ name, version, description, type, main, engines, license, dependencies }, null, 2) + "\n");
' "$out/app/package.json"
(cd "$out/app" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error)
# The lockfile stays beside node_modules: the versions they were installed from (its dev entries
# are not installed here). Nothing in the package resolves anew.
before=$(du -sm "$out/app/node_modules" | cut -f1)
# What Node never loads: source maps, type declarations, and the browser / react-native builds
# (reached only through the browser and react-native export conditions).
find "$out/app/node_modules" -type f \( -name "*.map" -o -name "*.d.ts" -o -name "*.d.mts" -o -name "*.d.cts" \) -delete
find "$out/app/node_modules" -type d \( -name browser -o -name react-native \) -path "*/dist/*" -prune -exec rm -rf {} +
echo "production node_modules: ${before} MB installed, $(du -sm "$out/app/node_modules" | cut -f1) MB shipped"
if command -v zip >/dev/null; then
  (cd "$out/app" && zip -qr ../kvbackup.zip .)
  ls -l "$out/kvbackup.zip" | awk '{printf "package: %.1f MB\n", $5/1048576}'
else
  echo "zip is not installed: .local/package/app is ready, no kvbackup.zip (azd deploys the folder)"
fi
