import { mkdtempSync, writeFileSync } from "node:fs";
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
