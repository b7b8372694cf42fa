import { existsSync, readFileSync, writeFileSync } from "node:fs";

/** Marks a local.settings.json this stack wrote, so a later start may rewrite it (never one a person wrote). */
const Marker = "KVBACKUP_WRITTEN_BY_STACK";

/**
 * local.settings.json for `func start` (Azure Functions Core Tools) against the running stack: its
 * ports are the ones this start picked. Written beside package.json unless a hand-made one is there.
 * Returns what it did.
 */
export function writeLocalSettings(path: string, env: Record<string, string>): "written" | "kept" {
  if (existsSync(path)) {
    try {
      const current = JSON.parse(readFileSync(path, "utf8")) as { Values?: Record<string, string> };
      if (!current.Values?.[Marker]) return "kept";
    } catch {
      return "kept";
    }
  }
  const { STACK_STORAGE_CONNECTION_STRING, NODE_EXTRA_CA_CERTS: _ca, ...settings } = env;
  const values = {
    FUNCTIONS_WORKER_RUNTIME: "node",
    // The host's own storage (timers, queue leases): Azurite, through the fault proxy, with its key.
    AzureWebJobsStorage: STACK_STORAGE_CONNECTION_STRING ?? "",
    ...settings,
    [Marker]: "true",
  };
  writeFileSync(path, `${JSON.stringify({ IsEncrypted: false, Values: values }, null, 2)}\n`, {
    mode: 0o600,
  });
  return "written";
}
