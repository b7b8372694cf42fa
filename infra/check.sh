#!/usr/bin/env bash
# npm run infra:check: restore the official Bicep CLI from NuGet, then build and lint every .bicep
# file and the parameter files, with warnings treated as errors (infra/bicepconfig.json turns on
# use-recent-api-versions too, reported as a notice only: it depends on the date). Output goes to .local/infra/:
#   main.json, main.parameters.json     the compiled template and infra/main.bicepparam
#   main.snapshot.json                  infra/main.bicepparam evaluated (bicep snapshot) with a fixed env
#   copy.json, copy.snapshot.json       the isolated copy's template (infra/copy/main.bicep, deployed by
#                                       the copy's owners into a resource group) and its example
#                                       infra/copy/main.bicepparam evaluated
#   <name>.snapshot.json                each test/infra/params/<name>.bicepparam evaluated: every
#                                       resource the deployment would create, parameters applied
#   <name>.error.txt                    each test/infra/params/<name>.fails.bicepparam, which must
#                                       fail to evaluate (fail() in main.bicep): its error message
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
rm -f "$out"/*.snapshot.json "$out"/*.error.txt
status=0
# Any warning fails the check, except use-recent-api-versions: it depends on today's date (an API
# version turns "old" at 730 days), so it is printed as a notice — a green commit must not turn red
# on a calendar day.
judge() { # <log>
  local aging rest
  aging=$(printf '%s\n' "$1" | grep 'use-recent-api-versions' || true)
  rest=$(printf '%s\n' "$1" | grep -v 'use-recent-api-versions' | sed '/^$/d' || true)
  if [ -n "$aging" ]; then printf 'notice (does not fail the check):\n%s\n' "$aging"; fi
  if [ -n "$rest" ]; then echo "$rest"; status=1; fi
}
for f in $(find infra -name '*.bicep' | sort); do
  judge "$("$bicep" lint "$f" 2>&1 || true)"
done
log=$("$bicep" build infra/main.bicep --outfile "$out/main.json" 2>&1) || { echo "$log"; exit 1; }
judge "$log"
log=$(AZURE_ENV_NAME=kvbackup AZURE_LOCATION=westeurope KVBACKUP_VAULTS='[]' KVBACKUP_ALERT_EMAILS=a@example.org \
  "$bicep" build-params infra/main.bicepparam --outfile "$out/main.parameters.json" 2>&1) || { echo "$log"; exit 1; }
judge "$log"
log=$("$bicep" build infra/copy/main.bicep --outfile "$out/copy.json" 2>&1) || { echo "$log"; exit 1; }
judge "$log"
log=$("$bicep" build-params infra/copy/main.bicepparam --outfile "$out/copy.parameters.json" 2>&1) || { echo "$log"; exit 1; }
judge "$log"

# bicep snapshot evaluates a parameter file the way ARM would (nested deployments expanded), with a
# fake tenant and subscription; it writes <file>.snapshot.json next to the parameter file, which is
# moved to .local/infra/ at once. A parameter file of the isolated copy's template is evaluated as a
# resource group deployment (rg-kvbackup-copy) in a subscription of its own (...0000c), in the same
# fake tenant.
snapshot() { # <param file> <name>
  local dir base
  dir=$(dirname "$1")
  base=$(basename "$1" .bicepparam)
  rm -f "$dir/$base.snapshot.json"
  local rc=0 scope=(--subscription-id 00000000-0000-0000-0000-00000000000a)
  if [ "$dir" = infra/copy ] || grep -q "^using '.*infra/copy/main.bicep'" "$1"; then
    scope=(--subscription-id 00000000-0000-0000-0000-00000000000c --resource-group rg-kvbackup-copy)
  fi
  log=$("$bicep" snapshot "$1" --mode overwrite \
    --tenant-id 00000000-0000-0000-0000-0000000000ff "${scope[@]}" \
    --location westeurope --deployment-name "kvbackup-$2" 2>&1) || rc=$?
  if [ -f "$dir/$base.snapshot.json" ]; then mv "$dir/$base.snapshot.json" "$out/$2.snapshot.json"; fi
  return $rc
}
trap 'rm -f infra/*.snapshot.json infra/copy/*.snapshot.json test/infra/params/*.snapshot.json' EXIT

# infra/main.bicepparam as azd would evaluate it (its readEnvironmentVariable inputs pinned).
if ! AZURE_ENV_NAME=kvbackup AZURE_LOCATION=westeurope \
  KVBACKUP_VAULTS='[{"name":"kv-one","resourceGroup":"rg-one"}]' \
  KVBACKUP_DISCOVERY_SUBSCRIPTIONS='00000000-0000-0000-0000-00000000000b, 00000000-0000-0000-0000-00000000000c' \
  KVBACKUP_DRILL_VAULT='{"name":"kv-drill","resourceGroup":"rg-drill"}' \
  KVBACKUP_ALERT_EMAILS='oncall@example.org,backup-team@example.org' \
  KVBACKUP_RESTORE_APP_CLIENT_ID=00000000-0000-0000-0000-000000000c1d KVBACKUP_RESTORE_API=appServiceAuth \
  KVBACKUP_OPERATOR_GROUP_ID= snapshot infra/main.bicepparam main; then
  echo "$log"; status=1
fi
# The copy's owners' example parameter file, as they would deploy it.
if ! snapshot infra/copy/main.bicepparam copy; then echo "$log"; status=1; fi
# An unedited azd up (nothing set but azd's own values) must stop before anything is created, naming
# what it needs: the evaluation error, kept for the infra test.
if (env -u KVBACKUP_VAULTS -u KVBACKUP_ALERT_EMAILS AZURE_ENV_NAME=kvbackup AZURE_LOCATION=westeurope \
  "$bicep" build-params infra/main.bicepparam --stdout >/dev/null 2>"$out/main.unset.error.txt"); then
  echo "infra/main.bicepparam: evaluates with nothing set (it must ask for the vaults and the alert recipients)"; status=1
fi
for f in $(find test/infra/params -name '*.bicepparam' | sort); do
  name=$(basename "$f" .bicepparam)
  log=$("$bicep" build-params "$f" --outfile "$out/$name.parameters.json" 2>&1) || { echo "$log"; status=1; continue; }
  judge "$log"
  rm -f "$out/$name.parameters.json"
  case "$name" in
    *.fails)
      name=${name%.fails}
      if snapshot "$f" "$name"; then
        echo "$f: expected the deployment to fail, but it evaluates"; status=1
      else
        printf '%s\n' "$log" >"$out/$name.error.txt"
      fi
      ;;
    *)
      if ! snapshot "$f" "$name"; then echo "$f: $log"; status=1; fi
      ;;
  esac
done
if [ "$status" -ne 0 ]; then echo "infra:check: warnings or errors above (treated as errors)"; exit 1; fi
echo "infra:check: every .bicep file builds and lints clean -> $out/main.json (+ snapshots of the parameter sets)"
