import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../../src/cli/main.js";
import { readSettingsFile, withSettingsFile } from "../../../src/cli/settingsFile.js";
import { seed, world } from "../fakes/deps.js";
import { captureIo } from "../fakes/io.js";
import { storageError } from "../fakes/memoryStorage.js";
import { kvError } from "../fakes/memoryVault.js";

/** The CLI in this process: its streams captured, the engine on in-memory ports. */
async function cli(w: ReturnType<typeof world>, ...argv: string[]) {
  const { io, stdout, stderr } = captureIo();
  const code = await main(argv, {}, io, () => w.deps);
  return { code, stdout: stdout(), stderr: stderr() };
}

describe("kvbackup, in process", () => {
  it("backup --json prints exactly one JSON document; show and list find the run", async () => {
    const w = world();
    seed(w.vault());
    const b = await cli(w, "backup", "--json");
    expect(b.code).toBe(0);
    const doc = JSON.parse(b.stdout);
    expect(doc.runs).toEqual([expect.objectContaining({ vault: "demo-vault", status: "succeeded" })]);
    const show = await cli(w, "show", doc.runs[0].runId);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/secrets\s+6\s+1\s+0/);
    expect((await cli(w, "list")).stdout).toMatch(/RUN\s+VAULT\s+TIER\s+STATUS/);
  });

  it("a partial run exits 1 and prints each failure with its fix", async () => {
    const w = world();
    seed(w.vault()).fault = (op, kind) =>
      op === "list" && kind === "keys" ? kvError(403, "Forbidden", "ForbiddenByRbac") : undefined;
    const r = await cli(w, "backup");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("partial");
    expect(r.stdout).toContain("keys/*:");
    expect(r.stdout).toContain("fix:");
  });

  it("--vault and --kinds given twice run once", async () => {
    const w = world();
    seed(w.vault());
    const r = await cli(
      w,
      "backup",
      "--vault",
      "demo-vault",
      "--vault",
      "DEMO-VAULT",
      "--kinds",
      "secrets,secrets",
      "--json",
    );
    const doc = JSON.parse(r.stdout);
    expect(doc.runs).toHaveLength(1);
    expect(doc.runs[0].counts.secrets.backedUp).toBe(6);
    expect(w.vault().calls.backup).toBe(6);
  });

  it("restore of a name the run does not hold exits 1 and says so", async () => {
    const w = world();
    seed(w.vault());
    await cli(w, "backup");
    const r = await cli(
      w,
      "restore",
      "latest",
      "--vault",
      "demo-vault",
      "--to",
      "restore-vault",
      "--only",
      "secrets/no-such-secret",
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/failed: 0 restored, 0 skipped, 1 not in this backup/);
  });

  it("storage firewalled from this machine: doctor exits 1 and blames this machine, not the Function", async () => {
    const w = world({ caller: "operator" });
    w.storage.fault = (op) => (op === "queueProbe" ? storageError(403, "AuthorizationFailure") : undefined);
    const r = await cli(w, "doctor");
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL queue backup-jobs/);
    expect(r.stdout).toContain("this machine");
    expect(r.stdout).not.toContain("all checks passed");
  });

  it.each([
    [["frobnicate"], "unknown command"],
    [["backup", "--vault", "not-listed"], "is not in BACKUP_VAULTS"],
    [["show", "nope"], "is not a runId"],
    [["show"], "show takes RUNID"],
    [["show", "20260101T000000Z-aaaaaa", "extra"], "does not take 'extra'"],
    [["list", "stray"], "does not take 'stray'"],
    [["backup", "--frob"], "Unknown option"],
    [["backup", "--tier", "hourly"], "--tier takes"],
    [["restore", "latest"], "needs --vault"],
    [[], "which command"],
  ])("bad usage %j exits 2, and with --json prints one JSON document naming it", async (argv, words) => {
    const w = world();
    const plain = await cli(w, ...argv);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain(words);
    const json = await cli(w, ...argv, "--json");
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error.message).toContain(words);
  });

  it("kvbackup COMMAND --help prints that command's usage, exit 0", async () => {
    const w = world();
    const r = await cli(w, "restore", "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^kvbackup restore RUNID\|latest --vault V/);
    expect(r.stdout).not.toContain("kvbackup backup");
  });

  it("an unknown run is exit 1 with a message, never a stack", async () => {
    const w = world();
    const r = await cli(w, "show", "20990101T000000Z-aaaaaa", "--json");
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).error.code).toBe("NotFound");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("--settings: the deployed app's settings from a file", () => {
  const write = (name: string, text: string): string => {
    const dir = mkdtempSync(join(tmpdir(), "kvbackup-settings-"));
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it.each([
    [
      "az functionapp config appsettings list output",
      "app.json",
      JSON.stringify([{ name: "BACKUP_VAULTS", value: "from-file", slotSetting: false }]),
    ],
    ["a JSON object", "app.json", JSON.stringify({ BACKUP_VAULTS: "from-file" })],
    [
      "local.settings.json",
      "local.settings.json",
      JSON.stringify({ IsEncrypted: false, Values: { BACKUP_VAULTS: "from-file" } }),
    ],
    ["dotenv lines", "stack.env", "# comment\nBACKUP_VAULTS='from-file'\n"],
  ])("reads %s; the environment wins over the file", (_label, name, text) => {
    const path = write(name, text);
    expect(readSettingsFile(path).BACKUP_VAULTS).toBe("from-file");
    expect(withSettingsFile({ BACKUP_VAULTS: "from-env" }, path).BACKUP_VAULTS).toBe("from-env");
  });

  it("a missing or broken file is a bad-settings error (exit 2), with --json one document", async () => {
    const w = world();
    const { io, stdout } = captureIo();
    const code = await main(["doctor", "--json", "--settings", "/nonexistent/app.json"], {}, io);
    expect(code).toBe(2);
    expect(JSON.parse(stdout()).error.code).toBe("BadSettings");
    expect(w.storage.rowWrites).toEqual([]);
    expect(() => readSettingsFile(write("bad.json", "[{"))).toThrow(/not valid JSON/);
  });

  it("JSON numbers and booleans are read as text; a list or an object is refused, naming the key", () => {
    const read = readSettingsFile(
      write("app.json", JSON.stringify({ BACKUP_RATE_PER_10S: 0, RESTORE_REQUIRE_ROLE: false })),
    );
    expect(read).toMatchObject({ BACKUP_RATE_PER_10S: "0", RESTORE_REQUIRE_ROLE: "false" });
    expect(() => readSettingsFile(write("app.json", JSON.stringify({ BACKUP_KINDS: ["keys"] })))).toThrow(
      /BACKUP_KINDS is a list/,
    );
    expect(() =>
      readSettingsFile(write("app.json", JSON.stringify([{ name: "BACKUP_VAULTS", value: { a: 1 } }]))),
    ).toThrow(/BACKUP_VAULTS is an object/);
  });

  it("dotenv: inline comments after unquoted values are dropped; quoted values are read inside their quotes", () => {
    const read = readSettingsFile(
      write("stack.env", 'BACKUP_KINDS=secrets # only secrets\nBACKUP_VAULTS="a # b" # the vault\nX=a#b\n'),
    );
    expect(read).toMatchObject({ BACKUP_KINDS: "secrets", BACKUP_VAULTS: "a # b", X: "a#b" });
  });

  it("passes the file's settings to the app it makes", async () => {
    const path = write("app.json", JSON.stringify([{ name: "BACKUP_VAULTS", value: "file-vault" }]));
    let seen: Record<string, string | undefined> = {};
    const { io } = captureIo();
    const w = world();
    await main(["list", "--settings", path], {}, io, (env) => {
      seen = env;
      return w.deps;
    });
    expect(seen.BACKUP_VAULTS).toBe("file-vault");
  });
});

describe("kvbackup backup --full / --incremental", () => {
  it("a daily run is incremental after a committed one; --full backs up everything; both flags are a usage error", async () => {
    const w = world();
    const v = seed(w.vault());
    expect((await cli(w, "backup", "--tier", "daily")).stdout).toContain("(full)");
    const incremental = await cli(w, "backup", "--tier", "daily", "--json");
    expect(JSON.parse(incremental.stdout).runs[0]).toMatchObject({ mode: "incremental", copied: 9 });
    const before = v.calls.backup;
    const full = await cli(w, "backup", "--tier", "daily", "--full");
    expect(full.stdout).toContain("(full)");
    expect(v.calls.backup - before).toBe(9);
    expect((await cli(w, "backup", "--full", "--incremental")).code).toBe(2);
  });
});

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
        [
          "--import",
          "tsx",
          "--import",
          "./test/setup/guard.setup.ts",
          "bin/kvbackup.mjs",
          "--settings",
          file,
          "list",
          "--json",
        ],
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
