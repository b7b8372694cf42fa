import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeLocalSettings } from "../../stack/localSettings.js";

describe("local.settings.json from the running stack", () => {
  it("carries this start's settings for func start, rewrites its own file, never a hand-made one", () => {
    const path = join(mkdtempSync(join(tmpdir(), "kvbackup-ls-")), "local.settings.json");
    const env = {
      BACKUP_VAULTS: "demo-vault=https://127.0.0.1:41234",
      STACK_STORAGE_CONNECTION_STRING: "AccountName=x",
      NODE_EXTRA_CA_CERTS: "/x/ca.pem",
    };
    expect(writeLocalSettings(path, env)).toBe("written");
    const values = JSON.parse(readFileSync(path, "utf8")).Values;
    expect(values).toMatchObject({
      FUNCTIONS_WORKER_RUNTIME: "node",
      AzureWebJobsStorage: "AccountName=x",
      BACKUP_VAULTS: env.BACKUP_VAULTS,
    });
    expect(values.NODE_EXTRA_CA_CERTS).toBeUndefined();
    expect(writeLocalSettings(path, { ...env, BACKUP_VAULTS: "demo-vault=https://127.0.0.1:5" })).toBe(
      "written",
    );
    writeFileSync(path, JSON.stringify({ Values: { BACKUP_VAULTS: "mine" } }));
    expect(writeLocalSettings(path, env)).toBe("kept");
    expect(JSON.parse(readFileSync(path, "utf8")).Values.BACKUP_VAULTS).toBe("mine");
  });
});
