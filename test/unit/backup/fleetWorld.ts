import { type BackupJob, runBackup } from "../../../src/backup/engine.js";
import { buildReport } from "../../../src/backup/report.js";
import { newRunId } from "../../../src/domain/runId.js";
import type { Kind } from "../../../src/domain/vocabulary.js";
import { world } from "../fakes/deps.js";

export const SubA = "00000000-0000-0000-0000-00000000000a";

export const SubB = "00000000-0000-0000-0000-00000000000b";

export const hsms = [{ name: "demo-hsm", url: "https://demo-hsm.managedhsm.azure.net" }];

/** demo-vault in subscription A and team-b-kv in B, both tagged; HSM polls quick. */
export function fleetWorld(over: Parameters<typeof world>[0] = {}) {
  const w = world(
    { subscriptions: [SubA, SubB], vaultTag: { name: "backup", value: "true" }, ...over },
    { hsmPollMs: 1, hsmJobTimeoutMs: 50 },
  );
  w.directory.add(SubA, "demo-vault", { backup: "true" }).add(SubB, "team-b-kv", { backup: "true" });
  return w;
}

export const backUp = (w: ReturnType<typeof world>, vault: string, kinds?: Kind[], hsm = false) => {
  const base = { runId: newRunId(w.deps.now()), vault, tier: "daily" as const, trigger: "timer" as const };
  const job: BackupJob = hsm ? { ...base, hsm: true } : { ...base, ...(kinds ? { kinds } : {}) };
  return runBackup(w.deps, job);
};

export const reportOf = async (w: ReturnType<typeof world>, vault: string) =>
  (await buildReport(w.deps)).vaults.find((v) => v.vault === vault);

/** demo-vault listed; subscription A holds it too plus team-a-kv (tagged) and scratch-kv (untagged); B holds team-b-kv (tagged). */
export function discoveryWorld(over: Parameters<typeof world>[0] = {}) {
  const w = world({ subscriptions: [SubA, SubB], vaultTag: { name: "backup", value: "true" }, ...over });
  w.directory
    .add(SubA, "demo-vault", { Backup: "true" })
    .add(SubA, "team-a-kv", { backup: "true", owner: "team-a" })
    .add(SubA, "scratch-kv")
    .add(SubA, "legacy-kv", { backup: "false" })
    .add(SubB, "team-b-kv", { backup: "true" })
    .add(SubB, "restore-vault", { backup: "true" });
  return w;
}
