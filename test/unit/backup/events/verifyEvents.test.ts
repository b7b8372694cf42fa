import { describe, expect, it } from "vitest";
import { backupEvent } from "../../../../src/backup/events/backupEvent.js";
import { main } from "../../../../src/cli/main.js";
import { seed, world } from "../../fakes/deps.js";
import { captureIo } from "../../fakes/io.js";
import { secretEvent } from "./eventsWorld.js";

/** Issue 23: `verify` covers continuous protection's backups too. */
describe("kvbackup verify --events --vault V", () => {
  it("reads back each event backup against the SHA-256 it was written with; names corrupt, unverifiable and extra blobs", async () => {
    const w = world({ eventsQueue: "keyvault-events" });
    seed(w.vault());
    const verify = async (...args: string[]) => {
      const io = captureIo();
      const code = await main(["verify", ...args], {}, io.io, () => w.deps);
      return { code, out: io.stdout(), err: io.stderr() };
    };
    expect(await verify("--events", "--vault", "demo-vault")).toMatchObject({
      code: 0,
      out: expect.stringMatching(/0\/0 blobs read[\s\S]*ok: none yet/),
    });
    const a = await backupEvent(w.deps, secretEvent());
    const b = await backupEvent(w.deps, secretEvent({ name: "bravo", version: "v7" }));
    const c = await backupEvent(w.deps, secretEvent({ name: "charlie", version: "v7" }));
    const ok = await verify("--events", "--vault", "DEMO-VAULT", "--json");
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ vault: "demo-vault", ok: true, expected: 3, checked: 3 });
    // Tampered bytes, a blob that says no hash, a stray blob under the vault's folder.
    const blobs = w.storage.blobs;
    (blobs.get(a.blob as string) as { bytes: Uint8Array }).bytes = new Uint8Array([1, 2, 3]);
    delete (blobs.get(b.blob as string) as { facts: { sha256?: string } }).facts.sha256;
    blobs.set("events/demo-vault/secrets/alpha/notes.txt", {
      bytes: new Uint8Array([1]),
      facts: { sha256: "0".repeat(64) },
    });
    const bad = await verify("--events", "--vault", "demo-vault", "--json");
    expect(bad.code).toBe(1);
    const r = JSON.parse(bad.out);
    expect(r).toMatchObject({ ok: false, expected: 3, checked: 2 });
    expect(r.problems.map((p: { problem: string; blob: string }) => [p.problem, p.blob])).toEqual(
      [
        ["corrupt", a.blob],
        ["extra", "events/demo-vault/secrets/alpha/notes.txt"],
        ["unverifiable", b.blob],
      ].sort((x, y) => ((x[1] as string) < (y[1] as string) ? -1 : 1)),
    );
    expect(r.problems.find((p: { problem: string }) => p.problem === "corrupt").diagnosis.code).toBe(
      "CorruptBlob",
    );
    expect(c.outcome).toBe("backed-up");
    const text = await verify("--events", "--vault", "demo-vault");
    expect(text.out).toMatch(/its metadata says no SHA-256/);
  });

  it("takes --vault and no RUNID; a bad vault name is a clear error", async () => {
    const w = world();
    for (const args of [["--events"], ["--events", "latest", "--vault", "demo-vault"]]) {
      const io = captureIo();
      expect(await main(["verify", ...args], {}, io.io, () => w.deps)).toBe(2);
      expect(io.stderr()).toMatch(/verify --events takes --vault V and no RUNID/);
    }
    const io = captureIo();
    expect(await main(["verify", "--events", "--vault", "../etc"], {}, io.io, () => w.deps)).toBe(2);
    expect(io.stderr()).toMatch(/is not a vault name/);
    expect(io.stderr()).not.toMatch(/at .*\.ts:\d+/);
  });
});
