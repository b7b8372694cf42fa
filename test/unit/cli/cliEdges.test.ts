import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../../src/cli/main.js";
import { GuardedNodeArgs } from "../../setup/guardedNode.js";
import { seed, world } from "../fakes/deps.js";
import { captureIo } from "../fakes/io.js";

/** The CLI in this process: its streams captured, the engine on in-memory ports. */
async function cli(w: ReturnType<typeof world>, ...argv: string[]) {
  const { io, stdout, stderr } = captureIo();
  const code = await main(argv, {}, io, () => w.deps);
  return { code, stdout: stdout(), stderr: stderr() };
}

describe("kvbackup at its edges", () => {
  it("--json=1 still answers with one JSON document (the error), exit 2", async () => {
    const w = world();
    const r = await cli(w, "list", "--json=1");
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toHaveProperty("error");
  });

  it("a connection string the SDK refuses is a bad setting, named, without a stack trace", async () => {
    const { io, stdout, stderr } = captureIo();
    const code = await main(
      ["list"],
      {
        BACKUP_VAULTS: "demo-vault=https://demo-vault.vault.azure.net",
        BACKUP_STORAGE: "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=not base64!",
      },
      io,
    );
    expect(code).toBe(2);
    expect(stderr() + stdout()).toContain("BACKUP_STORAGE");
    expect(stderr() + stdout()).not.toMatch(/\n\s+at /);
  });
});

describe("the command word", () => {
  it("an option's value before the command is not the command (kvbackup --settings FILE list)", async () => {
    const w = world();
    seed(w.vault());
    const { io, stdout } = captureIo();
    const dir = mkdtempSync(join(tmpdir(), "kvbackup-settings-"));
    const file = join(dir, "backup");
    writeFileSync(file, "BACKUP_VAULTS=demo-vault\n");
    const code = await main(["--settings", file, "list", "--json"], {}, io, () => w.deps);
    expect(code).toBe(0);
    expect(JSON.parse(stdout())).toHaveProperty("runs");
    expect(w.vault().calls.backup).toBe(0);
  });
});

describe("--settings FILE and who signs in", () => {
  // In a process of its own: the identity library keeps the managed identity's endpoint per process.
  it("takes the file's identity endpoint where the shell has none, never its AZURE_TOKEN_CREDENTIALS (adversary on issue 21)", () => {
    const dir = mkdtempSync(join(tmpdir(), "kvbackup-settings-"));
    const file = join(dir, "app-settings.json");
    const dead = "https://127.0.0.1:1/acct";
    writeFileSync(
      file,
      JSON.stringify({
        BACKUP_VAULTS: "demo-vault=https://127.0.0.1:1/",
        BACKUP_STORAGE__blobServiceUri: dead,
        BACKUP_STORAGE__queueServiceUri: dead,
        BACKUP_STORAGE__tableServiceUri: dead,
        IDENTITY_ENDPOINT: "http://127.0.0.1:1/msi/token",
        IDENTITY_HEADER: "h",
        AZURE_TOKEN_CREDENTIALS: "AzureCliCredential",
      }),
    );
    try {
      const root = join(import.meta.dirname, "..", "..", "..");
      const r = spawnSync(
        process.execPath,
        [...GuardedNodeArgs, "bin/kvbackup.mjs", "--settings", file, "list", "--json"],
        { cwd: root, encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: dir } },
      );
      expect(r.status).toBe(1);
      const error = JSON.stringify(JSON.parse(r.stdout).error);
      // The operator's chain, with the managed identity the file's endpoint names; not the file's one credential.
      expect(error).toContain("ManagedIdentityCredential");
      expect(error).not.toContain("AZURE_TOKEN_CREDENTIALS");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("Ctrl-C", () => {
  it("stops the run, releases the vault's lease, exits 130 and still prints one JSON document", async () => {
    const w = world({}, { concurrency: 1 });
    const v = seed(w.vault());
    const interrupt = new AbortController();
    v.onBackup = () => {
      if (v.calls.backup === 3) interrupt.abort();
    };
    const { io, stdout } = captureIo();
    const code = await main(["backup", "--json"], {}, io, () => w.deps, interrupt.signal);
    expect(code).toBe(130);
    expect(JSON.parse(stdout()).error).toMatchObject({
      code: "Aborted",
      message: expect.stringContaining("interrupted"),
    });
    expect(w.storage.held.size).toBe(0);
    v.onBackup = () => undefined;
    expect((await cli(w, "backup")).code).toBe(0);
  });

  it("says what the stop leaves, by command: a restore's objects stay in the target; a read-only command changed nothing; doctor and report exit 130 (adversary on issue 21)", async () => {
    const w = world({}, { concurrency: 1 });
    seed(w.vault());
    expect((await cli(w, "backup")).code).toBe(0);
    const interrupt = new AbortController();
    const target = w.vault("restore-vault");
    const port = target.port.bind(target);
    target.port = (budget) => {
      const p = port(budget);
      return {
        ...p,
        restore: async (kind, bytes, signal) => {
          await p.restore(kind, bytes, signal);
          interrupt.abort();
        },
      };
    };
    const { io, stdout } = captureIo();
    const code = await main(
      ["restore", "latest", "--vault", "demo-vault", "--to", "restore-vault", "--json"],
      {},
      io,
      () => w.deps,
      interrupt.signal,
    );
    expect(code).toBe(130);
    expect(JSON.parse(stdout()).error.message).toContain(
      "the objects restored before the stop stay in the target vault",
    );
    for (const command of [["doctor"], ["report"]]) {
      const stopped = new AbortController();
      stopped.abort();
      const c = captureIo();
      expect(await main([...command, "--json"], {}, c.io, () => w.deps, stopped.signal)).toBe(130);
      expect(JSON.parse(c.stdout()).error.message).toBe("interrupted: nothing was changed");
    }
  });
});
