import { BackupTags, openBackup, sealBackup } from "../backupBlob.js";
import { errors } from "../errors.js";
import { newVersionId, type SecretVersion, type StoredObject } from "../model.js";
import { Operations as Op } from "../operations.js";
import { pageFor, versionEntries } from "../paging.js";
import { type RequestContext, type Route, route } from "../router.js";
import {
  backupValue,
  bodyObject,
  newAttributes,
  parseTags,
  updateAttributes,
  validName,
} from "../validate.js";
import { deletedView, secretBundle, secretItem } from "../views.js";

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
  if (o.versions.length > vault.config.maxBackupVersions)
    throw errors.tooManyVersions("secret", o.name, vault.config.maxBackupVersions);
  const blob = sealBackup(BackupTags.secret, { kind: "secret", object: o }, vault.config.world);
  return { status: 200, body: { value: blob.toString("base64url") } };
}

function restore(ctx: RequestContext) {
  const { vault } = ctx;
  const payload = openBackup<{ kind: string; object: StoredObject<SecretVersion> }>(
    backupValue(ctx.body),
    BackupTags.secret,
    (kid) => (kid === vault.config.world.kid ? vault.config.world : undefined),
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

export const secretRoutes: Route[] = [
  route("POST", "/secrets/restore", Op.RestoreSecret, restore),
  route("GET", "/secrets", Op.GetSecrets, (ctx) => {
    const items = ctx.vault.secrets.list();
    const p = pageFor(ctx, items, (o) => o.name.toUpperCase(), "/secrets", "secret");
    return {
      status: 200,
      body: {
        value: p.value.map((o) => secretItem(ctx.vault, o, o.versions.at(-1) as SecretVersion)),
        nextLink: p.nextLink,
      },
    };
  }),
  route(
    "GET",
    "/secrets/{name}/versions",
    Op.GetSecretVersions,
    (ctx) => {
      const o = ctx.vault.secrets.get(validName(ctx.params.name));
      const versions = versionEntries(o);
      const p = pageFor(
        ctx,
        versions,
        (x) => x.marker,
        `/secrets/${ctx.params.name}/versions`,
        "secretversion",
      );
      return {
        status: 200,
        body: {
          value: p.value.map((x) => secretItem(ctx.vault, o as StoredObject<SecretVersion>, x.v, true)),
          nextLink: p.nextLink,
        },
      };
    },
    path,
  ),
  route("POST", "/secrets/{name}/backup", Op.BackupSecret, backup, path),
  route("PUT", "/secrets/{name}", Op.SetSecret, setSecret, path),
  route(
    "DELETE",
    "/secrets/{name}",
    Op.DeleteSecret,
    (ctx) => {
      const name = validName(ctx.params.name);
      assertNotManaged(ctx.vault.secrets.get(name), "delete");
      const d = ctx.vault.secrets.delete(name);
      return {
        status: 200,
        body: deletedView(ctx.vault, "deletedsecrets", d, (vault, o, v) => secretBundle(vault, o, v, false)),
      };
    },
    path,
  ),
  route(
    "GET",
    "/secrets/{name}/{version?}",
    Op.GetSecret,
    (ctx) => {
      const { object, version } = ctx.vault.secrets.requireVersion(
        validName(ctx.params.name),
        ctx.params.version,
      );
      return { status: 200, body: secretBundle(ctx.vault, object, version) };
    },
    path,
  ),
  route(
    "PATCH",
    "/secrets/{name}/{version?}",
    Op.UpdateSecret,
    (ctx) => {
      const { object, version } = ctx.vault.secrets.requireVersion(
        validName(ctx.params.name),
        ctx.params.version,
      );
      const b = bodyObject(ctx.body);
      if (b.contentType !== undefined && typeof b.contentType !== "string")
        throw errors.badParameter("Property 'contentType' must be a string.");
      version.attributes = updateAttributes(version.attributes, b.attributes);
      if (typeof b.contentType === "string") version.contentType = b.contentType;
      const tags = parseTags(b.tags);
      if (tags) version.tags = tags;
      return { status: 200, body: secretBundle(ctx.vault, object, version, false) };
    },
    path,
  ),
  route("GET", "/deletedsecrets", Op.GetDeletedSecrets, (ctx) => {
    const p = pageFor(
      ctx,
      ctx.vault.secrets.listDeleted(),
      (d) => d.object.name.toUpperCase(),
      "/deletedsecrets",
      "deletedsecret",
    );
    return {
      status: 200,
      body: {
        value: p.value.map((d) =>
          deletedView(ctx.vault, "deletedsecrets", d, (vault, o, v) => secretItem(vault, o, v)),
        ),
        nextLink: p.nextLink,
      },
    };
  }),
  route(
    "GET",
    "/deletedsecrets/{name}",
    Op.GetDeletedSecret,
    (ctx) => {
      const d = ctx.vault.secrets.getDeleted(validName(ctx.params.name));
      return {
        status: 200,
        body: deletedView(ctx.vault, "deletedsecrets", d, (vault, o, v) => secretBundle(vault, o, v, false)),
      };
    },
    path,
  ),
  route(
    "DELETE",
    "/deletedsecrets/{name}",
    Op.PurgeDeletedSecret,
    (ctx) => {
      ctx.vault.secrets.purge(validName(ctx.params.name));
      return { status: 204 };
    },
    path,
  ),
  route(
    "POST",
    "/deletedsecrets/{name}/recover",
    Op.RecoverDeletedSecret,
    (ctx) => {
      const o = ctx.vault.secrets.recover(validName(ctx.params.name));
      return { status: 200, body: secretBundle(ctx.vault, o, o.versions.at(-1) as SecretVersion, false) };
    },
    path,
  ),
];
