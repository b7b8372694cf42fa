import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHmac,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { errors } from "./errors.js";
import type { SecurityWorld } from "./securityWorld.js";

/**
 * The backup format of the real service (decoded from the recordings in shared/reference):
 * <1-byte tag length><ASCII tag> followed by a JWE compact serialization
 * (alg RSA-OAEP-256, enc A256CBC-HS512) whose kid names the security world's key.
 */
export const BackupTags = {
  secret: "AzureKeyVaultSecretBackupV1.microsoft.com",
  // Keys and certificates share a tag in the real blobs.
  key: "AzureKeyVaultKeyBackupV1.microsoft.com",
  certificate: "AzureKeyVaultKeyBackupV1.microsoft.com",
} as const;

const b64u = (b: Buffer): string => b.toString("base64url");

function macTag(macKey: Buffer, aad: Buffer, iv: Buffer, ciphertext: Buffer): Buffer {
  const al = Buffer.alloc(8);
  al.writeBigUInt64BE(BigInt(aad.length * 8));
  return createHmac("sha512", macKey)
    .update(Buffer.concat([aad, iv, ciphertext, al]))
    .digest()
    .subarray(0, 32);
}

export function sealBackup(tag: string, payload: object, world: SecurityWorld): Buffer {
  const header = b64u(
    Buffer.from(JSON.stringify({ kid: world.kid, alg: "RSA-OAEP-256", enc: "A256CBC-HS512" })),
  );
  const cek = randomBytes(64);
  const encryptedKey = publicEncrypt(
    { key: world.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" },
    cek,
  );
  const iv = randomBytes(16);
  const cipher = createCipheriv("aes-256-cbc", cek.subarray(32), iv);
  const ciphertext = Buffer.concat([cipher.update(gzipSync(JSON.stringify(payload))), cipher.final()]);
  const aad = Buffer.from(header, "ascii");
  const mac = macTag(cek.subarray(0, 32), aad, iv, ciphertext);
  const jwe = [header, b64u(encryptedKey), b64u(iv), b64u(ciphertext), b64u(mac)].join(".");
  return Buffer.concat([Buffer.from([tag.length]), Buffer.from(tag, "ascii"), Buffer.from(jwe, "ascii")]);
}

/** Opens a backup. Throws the service's 400s: wrong kind or garbage -> invalid data, another world -> cannot decrypt. */
export function openBackup<T>(
  blob: Buffer,
  expectedTag: string,
  worlds: (kid: string) => SecurityWorld | undefined,
): T {
  const len = blob[0];
  if (len === undefined || blob.length < len + 1) throw errors.invalidBackup();
  const tag = blob.subarray(1, 1 + len).toString("ascii");
  if (tag !== expectedTag) throw errors.invalidBackup();
  const parts = blob
    .subarray(1 + len)
    .toString("ascii")
    .split(".");
  if (parts.length !== 5) throw errors.invalidBackup();
  const [header, encKey, ivB, ctB, tagB] = parts as [string, string, string, string, string];
  let kid: string;
  try {
    const h = JSON.parse(Buffer.from(header, "base64url").toString("utf8")) as {
      kid?: unknown;
      alg?: unknown;
      enc?: unknown;
    };
    if (typeof h.kid !== "string" || h.alg !== "RSA-OAEP-256" || h.enc !== "A256CBC-HS512")
      throw new Error("header");
    kid = h.kid;
  } catch {
    throw errors.invalidBackup();
  }
  const world = worlds(kid);
  if (!world) throw errors.cannotDecrypt();
  try {
    const cek = privateDecrypt(
      { key: world.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" },
      Buffer.from(encKey, "base64url"),
    );
    const iv = Buffer.from(ivB, "base64url");
    const ciphertext = Buffer.from(ctB, "base64url");
    const expected = macTag(cek.subarray(0, 32), Buffer.from(header, "ascii"), iv, ciphertext);
    const given = Buffer.from(tagB, "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Error("mac");
    const decipher = createDecipheriv("aes-256-cbc", cek.subarray(32), iv);
    const plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    return JSON.parse(gunzipSync(plain).toString("utf8")) as T;
  } catch {
    throw errors.cannotDecrypt();
  }
}
