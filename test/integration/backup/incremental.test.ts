import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findRun } from "../../../src/backup/catalog/findRun.js";
import { verifyRun } from "../../../src/backup/catalog/verifyRun.js";
import { runRestore } from "../../../src/backup/restore/runRestore.js";
import { runVault } from "../../../src/backup/run/runVault.js";
import { newRunId } from "../../../src/domain/runId.js";
import type { Stack } from "../../stack/stack.js";
import { appFor, startTestStack } from "../helpers.js";

let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const backups = (vault: string) =>
  Object.entries(stack.emulator.stats(vault).byOperation)
    .filter(([op]) => op.startsWith("Backup"))
    .reduce((n, [, c]) => n + c, 0);

describe("an incremental daily run through the real SDKs and Azurite", () => {
  it("backs up only the changed secret, copies the rest server-side, verifies, and restores to equal the vault", async () => {
    const { url } = await stack.emulator.createVault("incr-vault");
    const { url: target } = await stack.emulator.createVault("incr-target");
    for (const v of ["incr-vault", "incr-target"])
      stack.emulator.assignRole(v, {
        principalId: stack.identities.app.principalId,
        role: "Key Vault Administrator",
      });
    for (let i = 0; i < 12; i++)
      stack.emulator.call("incr-vault", "PUT", `/secrets/s${i}`, {
        value: `v${i}`,
        contentType: "text/plain",
      });
    const a = appFor({ BACKUP_VAULTS: `incr-vault=${url}`, RESTORE_TARGET_VAULTS: `incr-target=${target}` });
    const daily = (day: string) => ({
      runId: newRunId(new Date(day)),
      vault: "incr-vault",
      tier: "daily" as const,
      trigger: "timer" as const,
      kinds: ["secrets" as const],
    });
    const first = await runVault(a, daily("2026-11-24T02:00:00Z"));
    expect(first).toMatchObject({ status: "succeeded", mode: "full" });
    // A new value and a new content type (within one second, the metadata tells the change).
    stack.emulator.call("incr-vault", "PUT", "/secrets/s3", { value: "v3-rotated", contentType: "rotated" });
    stack.emulator.resetStats("incr-vault");
    const second = await runVault(a, daily("2026-11-25T02:00:00Z"));
    expect(second).toMatchObject({ status: "succeeded", mode: "incremental", copied: 11 });
    expect(backups("incr-vault")).toBe(1);
    const { manifest } = await findRun(a, second.runId, "incr-vault");
    expect(manifest.mode).toBe("incremental");
    expect(manifest.items.filter((i) => i.copiedFrom === first.runId)).toHaveLength(11);
    expect(await verifyRun(a, manifest)).toMatchObject({ ok: true, checked: 12 });
    const report = await runRestore(a, {
      runId: second.runId,
      vault: "incr-vault",
      targetVault: "incr-target",
    });
    expect(report.status).toBe("succeeded");
    for (let i = 0; i < 12; i++) {
      const got = stack.emulator.call("incr-target", "GET", `/secrets/s${i}`) as { value: string };
      expect(got.value).toBe(i === 3 ? "v3-rotated" : `v${i}`);
    }
  }, 60_000);
});
