#!/usr/bin/env bash
# npm run infra:check: restore the official Bicep CLI from NuGet, then build and lint every .bicep
# file and the parameter file, with warnings treated as errors. Output goes to .local/infra/.
set -euo pipefail
cd "$(dirname "$0")/.."
version=0.49.2
packages=.local/nuget
bicep="$packages/azure.bicep.commandline.linux-x64/$version/tools/bicep"
if [ ! -x "$bicep" ]; then
  dotnet restore infra/tools/bicep.csproj --packages "$packages" --verbosity quiet
  chmod +x "$bicep"
fi
"$bicep" --version
out=.local/infra
mkdir -p "$out"
status=0
for f in $(find infra -name '*.bicep' | sort); do
  log=$("$bicep" lint "$f" 2>&1 || true)
  if [ -n "$log" ]; then echo "$log"; status=1; fi
done
log=$("$bicep" build infra/main.bicep --outfile "$out/main.json" 2>&1) || { echo "$log"; exit 1; }
if [ -n "$log" ]; then echo "$log"; status=1; fi
log=$("$bicep" build-params infra/main.bicepparam --outfile "$out/main.parameters.json" 2>&1) || { echo "$log"; exit 1; }
if [ -n "$log" ]; then echo "$log"; status=1; fi
if [ "$status" -ne 0 ]; then echo "infra:check: warnings or errors above (treated as errors)"; exit 1; fi
echo "infra:check: every .bicep file builds and lints clean -> $out/main.json"
