import { generateKeyPairSync, type KeyObject, randomUUID } from "node:crypto";

/**
 * The scope inside which Key Vault backups can be restored (same subscription and geography).
 * Each world has its own wrapping key; a backup made in one cannot be decrypted in another.
 */
export class SecurityWorld {
  readonly kid = randomUUID();
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;

  constructor(readonly name: string) {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.publicKey = pair.publicKey;
    this.privateKey = pair.privateKey;
  }
}
