// What config.test.ts, configEdges.test.ts share: their setup and helpers.
import { expect } from "vitest";
import { KvBackupError } from "../../../src/domain/errors.js";
import { loadConfig } from "../../../src/loadConfig.js";

export const base = {
  BACKUP_VAULTS: "contoso-kv",
  BACKUP_STORAGE__blobServiceUri: "https://backups.blob.core.windows.net",
};

export const load = (env: Record<string, string | undefined>) => loadConfig(env, "function");

export const problems = (env: Record<string, string | undefined>): string => {
  try {
    load(env);
  } catch (e) {
    expect(e).toBeInstanceOf(KvBackupError);
    expect((e as KvBackupError).code).toBe("BadSettings");
    return (e as KvBackupError).message;
  }
  throw new Error("settings were accepted");
};
