import { BackupTags } from "../backupBlob.js";
import { errors } from "../errors.js";
import { defaultKeyOps, generateKeyMaterial } from "../keyMaterial.js";
import { type KeyVersion, newVersionId, type StoredObject } from "../model.js";
import { Operations as Op } from "../operations.js";
import { type RequestContext, type Route, route } from "../router.js";
import { backupValue, bodyObject, newAttributes, parseTags, validName } from "../validate.js";
import { keyBundle, keyItem } from "../views.js";
import { collectionRoutes } from "./collection.js";

const path = (p: Record<string, string>): string => `keys/${p.name}`;
const KeyOps = new Set(["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey", "import", "export"]);

function parseKeyOps(raw: unknown, kty: string): string[] {
  if (raw === undefined || raw === null) return defaultKeyOps(kty);
  if (!Array.isArray(raw) || raw.some((x) => typeof x !== "string" || !KeyOps.has(x))) {
    throw errors.badParameter("Property 'key_ops' must be an array of valid key operations.");
  }
  return raw as string[];
}

function createKey(ctx: RequestContext) {
  const name = validName(ctx.params.name);
  const b = bodyObject(ctx.body);
  if (typeof b.kty !== "string") throw errors.badParameter("Property 'kty' is required.");
  if (b.key_size !== undefined && typeof b.key_size !== "number")
    throw errors.badParameter("Property 'key_size' must be a number.");
  if (b.crv !== undefined && typeof b.crv !== "string")
    throw errors.badParameter("Property 'crv' must be a string.");
  const { keys } = ctx.vault;
  if (keys.get(name)?.managed) throw errors.managedByCertificate("key", "create");
  const material = generateKeyMaterial(
    {
      kty: b.kty,
      ...(typeof b.key_size === "number" ? { keySize: b.key_size } : {}),
      ...(typeof b.crv === "string" ? { crv: b.crv } : {}),
    },
    ctx.vault.keyPool,
  );
  const tags = parseTags(b.tags);
  const v: KeyVersion = {
    version: newVersionId(),
    kty: material.kty,
    keyOps: parseKeyOps(b.key_ops, material.kty),
    privatePem: material.privatePem,
    publicJwk: material.publicJwk,
    attributes: newAttributes(b.attributes),
    ...(tags ? { tags } : {}),
  };
  const o = keys.addVersion(name, v);
  return { status: 200, body: keyBundle(ctx.vault, o, v) };
}

function backup(ctx: RequestContext) {
  const { vault } = ctx;
  const o = vault.keys.require(validName(ctx.params.name));
  if (o.managed) throw errors.managedByCertificate("key", "backup");
  return { status: 200, body: { value: vault.backup("key", BackupTags.key, o, { kind: "key", object: o }) } };
}

function restore(ctx: RequestContext) {
  const { vault } = ctx;
  const payload = vault.openBackup<{ kind: string; object: StoredObject<KeyVersion> }>(
    BackupTags.key,
    backupValue(ctx.body),
  );
  // Keys and certificates share a tag: a certificate blob sent to /keys/restore is invalid data.
  if (payload.kind !== "key") throw errors.invalidBackup();
  const o = payload.object;
  const last = o.versions[o.versions.length - 1];
  if (!last) throw errors.invalidBackup();
  vault.keys.assertRestorable(o.name, `${vault.baseUrl}/keys/${o.name}/${last.version}`);
  vault.keys.putRestored(o);
  return { status: 200, body: keyBundle(vault, o, last) };
}

const collection = collectionRoutes<KeyVersion>({
  collection: "keys",
  kind: "key",
  store: (vault) => vault.keys,
  ops: {
    list: Op.GetKeys,
    versions: Op.GetKeyVersions,
    listDeleted: Op.GetDeletedKeys,
    get: Op.GetKey,
    update: Op.UpdateKey,
    delete: Op.DeleteKey,
    getDeleted: Op.GetDeletedKey,
    purge: Op.PurgeDeletedKey,
    recover: Op.RecoverDeletedKey,
  },
  item: (vault, o, v, withVersion) => keyItem(vault, o, v as KeyVersion, withVersion),
  view: keyBundle,
  bundle: keyBundle,
  update: (b, _o, v) => {
    if (b.key_ops !== undefined) v.keyOps = parseKeyOps(b.key_ops, v.kty);
  },
  guardDelete: (o) => {
    if (o?.managed) throw errors.managedByCertificate("key", "delete");
  },
});

export const keyRoutes: Route[] = [
  route("POST", "/keys/restore", Op.RestoreKey, restore),
  ...collection.listing,
  route("POST", "/keys/{name}/create", Op.CreateKey, createKey, path),
  route("POST", "/keys/{name}/backup", Op.BackupKey, backup, path),
  ...collection.objects,
  ...collection.deleted,
];
