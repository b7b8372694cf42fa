import { spawn } from "node:child_process";
import { join } from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBackup } from "../../../src/backup/engine.js";
import { keepTrying, systemClock } from "../../../src/backup/wait.js";
import { BudgetSlots } from "../../../src/storage/budgetSlots.js";
import type { Stack } from "../../stack/stack.js";
import { appCredential, appFor, cliJob, startTestStack } from "../helpers.js";

let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe("a large manifest in Azurite", () => {
  it("a document of many chunks over 8 MB is streamed as blocks, written once, and reads back byte for byte", async () => {
    const app = appFor();
    await app.blobs.probe();
    const chunk = Buffer.alloc(512 * 1024, "x");
    const chunks = Array.from({ length: 20 }, (_, i) => Buffer.concat([Buffer.from(`${i}:`), chunk]));
    const path = `manual/large-${Date.now()}/manifest.json`;
    // Made on demand, as a manifest is: the store asks for the chunks once for their MD5, once to upload.
    let made = 0;
    const document = {
      *chunks() {
        made++;
        yield* chunks;
      },
    };
    expect(await app.documents.create(path, document)).toBe(true);
    expect(made).toBe(2);
    // Written once: a second create of the same path is refused, and the first bytes stay.
    expect(
      await app.documents.create(path, { chunks: () => chunks.map((c) => Buffer.from(c).fill("y")) }),
    ).toBe(false);
    const read = await app.documents.read(path);
    expect(Buffer.compare(Buffer.from(read?.bytes ?? []), Buffer.concat(chunks))).toBe(0);
  }, 60_000);
});

// Both wait on a service's own clock (Key Vault's 10 s window, Storage's 15 s lease) and share
// nothing (demo-vault's limits; a budget scope of the test's own): they run side by side.
describe.concurrent("budgets that run out: the vault's (429) and the subscription's slots (blob leases)", () => {
  it("a 429 storm (the vault's limit far below the budget) still backs up everything", async () => {
    // About 28 requests against 20 per 10 s: the last ones meet an empty bucket.
    stack.emulator.setLimits("demo-vault", { perTenSeconds: 20 });
    stack.emulator.resetStats("demo-vault");
    const r = await runBackup(appFor(), cliJob(undefined, ["secrets"]));
    expect(stack.emulator.stats("demo-vault").throttled).toBeGreaterThan(0);
    expect(r.status).toBe("succeeded");
    expect(r.counts.secrets.backedUp).toBe(25);
  }, 60_000);

  it("a holder killed with SIGKILL gives its slot back when its lease expires: the waiting run gets it", async () => {
    const app = appFor();
    await app.blobs.probe();
    const container = new BlobServiceClient(
      stack.env.BACKUP_STORAGE__blobServiceUri as string,
      appCredential(),
    ).getContainerClient(stack.env.BACKUP_CONTAINER as string);
    const scope = `sub-${Date.now()}`;
    const holder = spawn(
      process.execPath,
      ["--import", "tsx", join("test", "stack", "holdBudgetSlot.ts"), scope, "15"],
      {
        env: { ...process.env },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on("data", (d) => String(d).includes("held") && resolve());
      holder.on("exit", (code) => reject(new Error(`holder exited ${code}`)));
    });
    const slots = new BudgetSlots(container, 15, 5000);
    // Held: a look finds no free slot.
    expect(await slots.tryAcquire(scope, 1, () => undefined)).toBeUndefined();
    holder.kill("SIGKILL");
    await new Promise((resolve) => holder.on("close", resolve));
    // The holder renews no more: its 15 s lease runs out (Storage's clock, not ours) and the
    // engine's wait, looking again, takes the slot.
    const held = await keepTrying(systemClock, { limitMs: 45_000, pauseMs: () => 500 }, () =>
      slots.tryAcquire(scope, 1, () => undefined),
    );
    if (!held.done) throw new Error("the dead holder's slot never came free");
    expect(held.value.slot).toBe(0);
    expect(held.waitedMs).toBeGreaterThan(0);
    await held.value.release();
    // Released at once: the next look takes it.
    const next = await slots.tryAcquire(scope, 1, () => undefined);
    expect(next?.slot).toBe(0);
    await next?.release();
  }, 60_000);
});
