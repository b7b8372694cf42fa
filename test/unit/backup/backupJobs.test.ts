import { describe, expect, it } from "vitest";
import { enqueueBackups, scheduleBackups } from "../../../src/backup/backupJobs.js";
import { isKvBackupError } from "../../../src/domain/errors.js";
import { world } from "../fakes/deps.js";

describe("enqueueing", () => {
  it("vaults and kinds asked for twice queue once; a vault off the allow-list queues nothing", async () => {
    const w = world();
    const runs = await enqueueBackups(w.deps, {
      vaults: Array(100).fill("Demo-Vault"),
      kinds: ["secrets", "secrets"],
      tier: "manual",
      trigger: "http",
    });
    expect(runs).toHaveLength(1);
    expect(w.storage.queues.backup).toEqual([
      expect.objectContaining({ vault: "demo-vault", kinds: ["secrets"] }),
    ]);
    await expect(
      enqueueBackups(w.deps, { vaults: ["demo-vault", "evil-vault"], tier: "manual", trigger: "http" }),
    ).rejects.toSatisfy((e) => isKvBackupError(e, "VaultNotAllowed"));
    expect(w.storage.queues.backup).toHaveLength(1);
  });

  it("the timer queues every vault, weekly on BACKUP_WEEKLY_DAY", async () => {
    const w = world({ weeklyDay: "Thursday" });
    expect((await scheduleBackups(w.deps)).tier).toBe("weekly");
    const d = world({ weeklyDay: "Monday" });
    expect((await scheduleBackups(d.deps)).tier).toBe("daily");
  });
});
