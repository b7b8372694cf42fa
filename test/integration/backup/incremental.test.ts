import { createHash } from "node:crypto";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findRun } from "../../../src/backup/catalog/findRun.js";
import { verifyRun } from "../../../src/backup/catalog/verifyRun.js";
import { runBackup } from "../../../src/backup/engine.js";
import { runRestore } from "../../../src/backup/restore/runRestore.js";
import { newRunId } from "../../../src/domain/runId.js";
import type { Stack } from "../../stack/stack.js";
import { appCredential, appFor, startTestStack } from "../helpers.js";

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
    const first = await runBackup(a, daily("2026-11-24T02:00:00Z"));
    expect(first).toMatchObject({ status: "succeeded", mode: "full" });
    // A new value and a new content type (within one second, the metadata tells the change).
    stack.emulator.call("incr-vault", "PUT", "/secrets/s3", { value: "v3-rotated", contentType: "rotated" });
    stack.emulator.resetStats("incr-vault");
    const second = await runBackup(a, daily("2026-11-25T02:00:00Z"));
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

  it("copies a base blob only while it is the version the base recorded (x-ms-source-if-match): one rewritten with its size and metadata kept is backed up anew", async () => {
    const { url } = await stack.emulator.createVault("etag-vault");
    stack.emulator.assignRole("etag-vault", {
      principalId: stack.identities.app.principalId,
      role: "Key Vault Administrator",
    });
    for (let i = 0; i < 6; i++)
      stack.emulator.call("etag-vault", "PUT", `/secrets/e${i}`, {
        value: `v${i}`,
        contentType: "text/plain",
      });
    const a = appFor({ BACKUP_VAULTS: `etag-vault=${url}` });
    const daily = (day: string) => ({
      runId: newRunId(new Date(day)),
      vault: "etag-vault",
      tier: "daily" as const,
      trigger: "timer" as const,
      kinds: ["secrets" as const],
    });
    const first = await runBackup(a, daily("2026-11-24T02:00:00Z"));
    const { manifest: m1 } = await findRun(a, first.runId, "etag-vault");
    const container = new BlobServiceClient(
      process.env.BACKUP_STORAGE__blobServiceUri as string,
      appCredential(),
    ).getContainerClient(process.env.BACKUP_CONTAINER as string);
    // Every item records its blob's ETag as storage gives it.
    for (const i of m1.items)
      expect(i.etag).toBe((await container.getBlobClient(i.blob).getProperties()).etag);
    // Someone rewrites e2's blob: same size, same metadata, other bytes (a metadata check passes it).
    const victim = container.getBlockBlobClient(m1.items.find((i) => i.name === "e2")?.blob as string);
    const props = await victim.getProperties();
    const bytes = await victim.downloadToBuffer();
    await victim.uploadData(
      bytes.map((b) => b ^ 0x5a),
      { metadata: props.metadata ?? {} },
    );
    stack.emulator.resetStats("etag-vault");
    const second = await runBackup(a, daily("2026-11-25T02:00:00Z"));
    expect(second).toMatchObject({ status: "succeeded", mode: "incremental", copied: 5 });
    expect(backups("etag-vault")).toBe(1);
    const { manifest: m2 } = await findRun(a, second.runId, "etag-vault");
    expect(m2.items.find((i) => i.name === "e2")?.copiedFrom).toBeUndefined();
    for (const i of m2.items)
      expect(i.etag).toBe((await container.getBlobClient(i.blob).getProperties()).etag);
    expect(await verifyRun(a, m2)).toMatchObject({ ok: true, checked: 6 });
  }, 60_000);

  it('a base manifest whose ETags are not storage\'s ("*" matches any version; one no header can carry) is passed over as a base (the next daily run copies from the newest sound run, or is full), succeeds and verifies', async () => {
    const { url } = await stack.emulator.createVault("badtag-vault");
    stack.emulator.assignRole("badtag-vault", {
      principalId: stack.identities.app.principalId,
      role: "Key Vault Administrator",
    });
    for (let i = 0; i < 4; i++)
      stack.emulator.call("badtag-vault", "PUT", `/secrets/b${i}`, { value: `v${i}` });
    const a = appFor({ BACKUP_VAULTS: `badtag-vault=${url}` });
    const container = new BlobServiceClient(
      process.env.BACKUP_STORAGE__blobServiceUri as string,
      appCredential(),
    ).getContainerClient(process.env.BACKUP_CONTAINER as string);
    let day = Date.parse("2026-11-10T02:00:00Z");
    const daily = () => {
      day += 86_400_000;
      return dailyJob(day);
    };
    const dailyJob = (at: number) => ({
      runId: newRunId(new Date(at)),
      vault: "badtag-vault",
      tier: "daily" as const,
      trigger: "timer" as const,
    });
    let sound: string | undefined;
    for (const etag of ["*", '"*"', '"日本"', '"a\u0001b"', 'W/"0x1"']) {
      const base = await runBackup(a, daily());
      expect(base.status).toBe("succeeded");
      const { manifest } = await findRun(a, base.runId, "badtag-vault");
      // An insider with storage write: every ETag replaced, the inventory row's hash updated to match.
      const edited = { ...manifest, items: manifest.items.map((i) => ({ ...i, etag })) };
      const bytes = Buffer.from(`${JSON.stringify(edited)}\n`);
      await container.getBlockBlobClient(base.manifestPath).uploadData(bytes);
      const row = await a.inventory.get(base.runId, "badtag-vault");
      if (!row) throw new Error("no inventory row");
      await a.inventory.put({ ...row, manifestSha256: createHash("sha256").update(bytes).digest("hex") });
      await expect(findRun(a, base.runId, "badtag-vault")).rejects.toMatchObject({ code: "CorruptManifest" });
      // The base is the newest sound run before it (the previous round's), or none: then the run is full.
      const next = await runBackup(a, daily());
      expect(next).toMatchObject(
        sound
          ? { status: "succeeded", mode: "incremental", copied: 4 }
          : { status: "succeeded", mode: "full", copied: 0 },
      );
      const { manifest: m } = await findRun(a, next.runId, "badtag-vault");
      expect(m.items.map((i) => i.copiedFrom)).toEqual(m.items.map(() => sound));
      expect(await verifyRun(a, m)).toMatchObject({ ok: true, checked: 4 });
      sound = next.runId;
    }
    // Bare tags, as List Blobs gives them (resumed runs recorded them so on 2026-11-27): the manifest
    // is sound, and each copy still asks for exactly that version — b0's blob, rewritten with the
    // same bytes and metadata since, is backed up anew, the other three are copied.
    if (!sound) throw new Error("no sound run");
    const { manifest: last, manifestPath: path } = await findRun(a, sound, "badtag-vault");
    const bare = { ...last, items: last.items.map((i) => ({ ...i, etag: i.etag?.replaceAll('"', "") })) };
    const bytes = Buffer.from(`${JSON.stringify(bare)}\n`);
    await container.getBlockBlobClient(path).uploadData(bytes);
    const row = await a.inventory.get(sound, "badtag-vault");
    if (!row) throw new Error("no inventory row");
    await a.inventory.put({ ...row, manifestSha256: createHash("sha256").update(bytes).digest("hex") });
    expect((await findRun(a, sound, "badtag-vault")).manifest.items[0]?.etag).toMatch(/^0x/);
    const b0 = container.getBlockBlobClient(last.items.find((i) => i.name === "b0")?.blob as string);
    const props = await b0.getProperties();
    await b0.uploadData(await b0.downloadToBuffer(), { metadata: props.metadata ?? {} });
    const after = await runBackup(a, daily());
    expect(after).toMatchObject({ status: "succeeded", mode: "incremental", copied: 3 });
    const { manifest: m } = await findRun(a, after.runId, "badtag-vault");
    expect(m.items.find((i) => i.name === "b0")?.copiedFrom).toBeUndefined();
    expect(await verifyRun(a, m)).toMatchObject({ ok: true, checked: 4 });
  }, 120_000);
});
