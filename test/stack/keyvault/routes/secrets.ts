import { BackupTags } from "../backupBlob.js";
import { errors } from "../errors.js";
import { newVersionId, type SecretVersion, type StoredObject } from "../model.js";
import { Operations as Op } from "../operations.js";
import { type RequestContext, type Route, route } from "../router.js";
import { backupValue, bodyObject, newAttributes, parseTags, validName } from "../validate.js";
import { secretBundle, secretItem } from "../views.js";
import { collectionRoutes } from "./collection.js";

const path = (p: Record<string, string>): string => `secrets/${p.name}`;

function assertNotManaged(o: StoredObject<SecretVersion> | undefined, operation: string): void {
  if (o?.managed) throw errors.managedByCertificate("secret", operation);
}

function setSecret(ctx: RequestContext) {
  const name = validName(ctx.params.name);
  const b = bodyObject(ctx.body);
  if (typeof b.value !== "string")
    throw errors.badParameter("Property 'value' is required and must be a string.");
  if (Buffer.byteLength(b.value) > 25 * 1024)
    throw errors.badParameter("Secret value exceeds the maximum size of 25 KB.");
  if (b.contentType !== undefined && typeof b.contentType !== "string")
    throw errors.badParameter("Property 'contentType' must be a string.");
  const { secrets } = ctx.vault;
  assertNotManaged(secrets.get(name), "set");
  const tags = parseTags(b.tags);
  const v: SecretVersion = {
    version: newVersionId(),
    value: b.value,
    attributes: newAttributes(b.attributes),
    ...(typeof b.contentType === "string" ? { contentType: b.contentType } : {}),
    ...(tags ? { tags } : {}),
  };
  const o = secrets.addVersion(name, v);
  return { status: 200, body: secretBundle(ctx.vault, o, v) };
}

function backup(ctx: RequestContext) {
  const { vault } = ctx;
  const o = vault.secrets.require(validName(ctx.params.name));
  if (o.managed) throw errors.managedByCertificate("secret", "backup");
  return {
    status: 200,
    body: { value: vault.backup("secret", BackupTags.secret, o, { kind: "secret", object: o }) },
  };
}

function restore(ctx: RequestContext) {
  const { vault } = ctx;
  const payload = vault.openBackup<{ kind: string; object: StoredObject<SecretVersion> }>(
    BackupTags.secret,
    backupValue(ctx.body),
  );
  if (payload.kind !== "secret") throw errors.invalidBackup();
  const o = payload.object;
  const last = o.versions[o.versions.length - 1];
  if (!last) throw errors.invalidBackup();
  vault.secrets.assertRestorable(o.name, `${vault.baseUrl}/secrets/${o.name}/${last.version}`);
  vault.secrets.putRestored(o);
  // The real service answers a restore without the secret's value.
  return { status: 200, body: secretBundle(vault, o, last, false) };
}

const collection = collectionRoutes<SecretVersion>({
  collection: "secrets",
  kind: "secret",
  store: (vault) => vault.secrets,
  ops: {
    list: Op.GetSecrets,
    versions: Op.GetSecretVersions,
    listDeleted: Op.GetDeletedSecrets,
    get: Op.GetSecret,
    update: Op.UpdateSecret,
    delete: Op.DeleteSecret,
    getDeleted: Op.GetDeletedSecret,
    purge: Op.PurgeDeletedSecret,
    recover: Op.RecoverDeletedSecret,
  },
  item: (vault, o, v, withVersion) => secretItem(vault, o, v as SecretVersion, withVersion),
  view: secretBundle,
  // Updated, deleted and recovered secrets are shown without their value.
  updatedView: (vault, o, v) => secretBundle(vault, o, v, false),
  bundle: (vault, o, v) => secretBundle(vault, o, v, false),
  update: (b, _o, v) => {
    if (b.contentType !== undefined && typeof b.contentType !== "string") {
      throw errors.badParameter("Property 'contentType' must be a string.");
    }
    if (typeof b.contentType === "string") v.contentType = b.contentType;
  },
  guardDelete: (o) => assertNotManaged(o, "delete"),
});

export const secretRoutes: Route[] = [
  route("POST", "/secrets/restore", Op.RestoreSecret, restore),
  ...collection.listing,
  route("POST", "/secrets/{name}/backup", Op.BackupSecret, backup, path),
  route("PUT", "/secrets/{name}", Op.SetSecret, setSecret, path),
  ...collection.objects,
  ...collection.deleted,
];
