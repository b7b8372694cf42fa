import { describe, expect, it } from "vitest";
import { BackupTags, openBackup, sealBackup } from "../../stack/keyvault/backupBlob.js";
import { SecurityWorld } from "../../stack/keyvault/securityWorld.js";

const world = new SecurityWorld("eu");
const other = new SecurityWorld("au");
const lookup = (kid: string) => (kid === world.kid ? world : undefined);

describe("backup blobs", () => {
  it("round-trip inside one security world", () => {
    const blob = sealBackup(BackupTags.secret, { kind: "secret", n: 1 }, world);
    expect(blob[0]).toBe(BackupTags.secret.length);
    expect(openBackup(blob, BackupTags.secret, lookup)).toEqual({ kind: "secret", n: 1 });
  });

  it("cannot be decrypted in another world", () => {
    const blob = sealBackup(BackupTags.key, { kind: "key" }, other);
    expect(() => openBackup(blob, BackupTags.key, lookup)).toThrow("Cannot decrypt backup blob.");
  });

  it("refuse tampering and the wrong tag", () => {
    const blob = sealBackup(BackupTags.key, { kind: "key" }, world);
    const tampered = Buffer.from(blob);
    tampered[tampered.length - 40] = tampered[tampered.length - 40] === 0x41 ? 0x42 : 0x41;
    expect(() => openBackup(tampered, BackupTags.key, lookup)).toThrow("Cannot decrypt backup blob.");
    expect(() => openBackup(blob, BackupTags.secret, lookup)).toThrow("Backup blob contains invalid data.");
    expect(() => openBackup(Buffer.alloc(0), BackupTags.secret, lookup)).toThrow(
      "Backup blob contains invalid data.",
    );
  });
});
