import { randomUUID } from "node:crypto";
import { BackupTags } from "../backupBlob.js";
import { parsePolicy } from "../certificatePolicy.js";
import { errors, KvError } from "../errors.js";
import { generateKeyMaterial } from "../keyMaterial.js";
import {
  type CertificateVersion,
  current,
  type KeyVersion,
  newVersionId,
  type SecretVersion,
  type StoredObject,
} from "../model.js";
import { Operations as Op } from "../operations.js";
import { type RequestContext, type Route, route } from "../router.js";
import { backupValue, bodyObject, newAttributes, parseTags, validName } from "../validate.js";
import type { Vault } from "../vault.js";
import {
  certificateBundle,
  certificateItem,
  operationView,
  pendingCertificateBundle,
  policyView,
} from "../views.js";
import { issueSelfSigned as x509Issue } from "../x509.js";
import { collectionRoutes } from "./collection.js";

const path = (p: Record<string, string>): string => `certificates/${p.name}`;

interface CertificateBackup {
  kind: "certificate";
  certificate: StoredObject<CertificateVersion>;
  key: StoredObject<KeyVersion>;
  secret: StoredObject<SecretVersion>;
}

function create(ctx: RequestContext) {
  const { vault } = ctx;
  const name = validName(ctx.params.name);
  const b = bodyObject(ctx.body);
  const existing = vault.certificates.get(name);
  for (const store of [vault.keys, vault.secrets] as const) {
    const o = store.get(name);
    if (o && !o.managed) {
      throw new KvError(
        409,
        "Conflict",
        `A ${store.kind} with the name '${name}' already exists and is not managed by a certificate.`,
      );
    }
  }
  vault.keys.assertNameUsable(name);
  vault.secrets.assertNameUsable(name);
  const policy = parsePolicy(b.policy, existing?.policy);
  const attributes = newAttributes(b.attributes);
  const tags = parseTags(b.tags);
  const previousKey = vault.keys.get(name);
  const lastKey = previousKey ? current(previousKey) : undefined;
  const material =
    policy.key_props.reuse_key && lastKey
      ? { kty: lastKey.kty, privatePem: lastKey.privatePem, publicJwk: lastKey.publicJwk }
      : generateKeyMaterial(
          {
            kty: policy.key_props.kty,
            ...(policy.key_props.key_size ? { keySize: policy.key_props.key_size } : {}),
            ...(policy.key_props.crv ? { crv: policy.key_props.crv } : {}),
          },
          vault.keyPool,
        );
  const issued = x509Issue(policy, material);
  const cert = vault.certificates.ensure(name);
  cert.policy = policy;
  const version = newVersionId();
  const certAttrs = { ...attributes, nbf: issued.notBefore, exp: issued.expires };
  cert.operation = {
    requestId: randomUUID().replaceAll("-", ""),
    version,
    created: attributes.created,
    csr: issued.csr,
    status: "inProgress",
    completesAt: Date.now() + vault.config.timing.certificateMs,
    cancellationRequested: false,
    complete: () => {
      vault.certificates.addVersion(name, {
        version,
        cer: issued.cer,
        x5t: issued.x5t,
        policy,
        attributes: certAttrs,
        ...(tags ? { tags } : {}),
      });
      vault.keys.addVersion(
        name,
        {
          version,
          kty: material.kty,
          keyOps: material.kty.startsWith("RSA")
            ? ["sign", "verify", "wrapKey", "unwrapKey", "encrypt", "decrypt"]
            : ["sign", "verify"],
          privatePem: material.privatePem,
          publicJwk: material.publicJwk,
          attributes: { ...certAttrs, exportable: policy.key_props.exportable },
        },
        true,
      );
      vault.secrets.addVersion(
        name,
        {
          version,
          value: issued.secretValue,
          contentType: policy.secret_props.contentType,
          kid: `${vault.baseUrl}/keys/${name}/${version}`,
          attributes: { ...certAttrs },
        },
        true,
      );
    },
  };
  vault.issuing.add(cert);
  return {
    status: 202,
    body: operationView(vault, name, cert.operation),
    headers: {
      location: `${vault.baseUrl}/certificates/${name}/pending?api-version=${ctx.apiVersion}&request_id=${cert.operation.requestId}`,
      "retry-after": "10",
    },
  };
}

function requireOperation(vault: Vault, name: string) {
  const cert = vault.certificates.get(validName(name));
  if (!cert?.operation) throw errors.pendingNotFound(name);
  return { cert, op: cert.operation };
}

function backup(ctx: RequestContext) {
  const { vault } = ctx;
  const cert = vault.certificates.require(validName(ctx.params.name));
  const key = vault.keys.require(cert.name);
  const secret = vault.secrets.require(cert.name);
  const { operation: _op, ...certificate } = cert;
  const payload: CertificateBackup = { kind: "certificate", certificate, key, secret };
  return { status: 200, body: { value: vault.backup("certificate", BackupTags.certificate, cert, payload) } };
}

function restore(ctx: RequestContext) {
  const { vault } = ctx;
  const payload = vault.openBackup<CertificateBackup | { kind: string }>(
    BackupTags.certificate,
    backupValue(ctx.body),
  );
  if (payload.kind !== "certificate") throw errors.invalidBackup();
  const { certificate, key, secret } = payload as CertificateBackup;
  const last = current(certificate);
  if (!last) throw errors.invalidBackup();
  vault.certificates.assertRestorable(
    certificate.name,
    `${vault.baseUrl}/certificates/${certificate.name}/${last.version}`,
  );
  vault.keys.assertRestorable(key.name, `${vault.baseUrl}/keys/${key.name}/${last.version}`);
  vault.secrets.assertRestorable(secret.name, `${vault.baseUrl}/secrets/${secret.name}/${last.version}`);
  // Managed secrets carry their key's id, which must point at the vault they now live in.
  for (const v of secret.versions) v.kid = `${vault.baseUrl}/keys/${key.name}/${v.version}`;
  vault.certificates.putRestored(certificate);
  vault.keys.putRestored(key);
  vault.secrets.putRestored(secret);
  return { status: 200, body: certificateBundle(vault, certificate, last, "restored") };
}

const cascade = (vault: Vault, name: string, action: "delete" | "recover" | "purge"): void => {
  for (const store of [vault.keys, vault.secrets] as const) {
    const managed = action === "delete" ? store.get(name)?.managed : true;
    if (!managed) continue;
    try {
      store[action](name);
    } catch (e) {
      if (!(e instanceof KvError && e.status === 404)) throw e;
    }
  }
};

const collection = collectionRoutes<CertificateVersion>({
  collection: "certificates",
  kind: "certificate",
  store: (vault) => vault.certificates,
  ops: {
    list: Op.GetCertificates,
    versions: Op.GetCertificateVersions,
    listDeleted: Op.GetDeletedCertificates,
    get: Op.GetCertificate,
    update: Op.UpdateCertificate,
    delete: Op.DeleteCertificate,
    getDeleted: Op.GetDeletedCertificate,
    purge: Op.PurgeDeletedCertificate,
    recover: Op.RecoverDeletedCertificate,
  },
  item: certificateItem,
  view: certificateBundle,
  bundle: certificateBundle,
  update: (b, o) => {
    if (b.policy !== undefined) o.policy = parsePolicy(b.policy, o.policy);
  },
  pendingView: (vault, o, version) => {
    const op = o.operation;
    return op?.status === "inProgress" && (!version || version === op.version)
      ? pendingCertificateBundle(vault, o.name, op, o.policy)
      : undefined;
  },
  includePending: true,
  cascade,
});

export const certificateRoutes: Route[] = [
  route("POST", "/certificates/restore", Op.RestoreCertificate, restore),
  ...collection.listing,
  route("POST", "/certificates/{name}/create", Op.CreateCertificate, create, path),
  route("POST", "/certificates/{name}/backup", Op.BackupCertificate, backup, path),
  route(
    "GET",
    "/certificates/{name}/pending",
    Op.GetCertificateOperation,
    (ctx) => {
      const { cert, op } = requireOperation(ctx.vault, ctx.params.name ?? "");
      return { status: 200, body: operationView(ctx.vault, cert.name, op) };
    },
    path,
  ),
  route(
    "PATCH",
    "/certificates/{name}/pending",
    Op.UpdateCertificateOperation,
    (ctx) => {
      const { cert, op } = requireOperation(ctx.vault, ctx.params.name ?? "");
      if (bodyObject(ctx.body).cancellation_requested === true && op.status === "inProgress") {
        op.cancellationRequested = true;
        op.status = "cancelled";
        delete op.complete;
      }
      return { status: 200, body: operationView(ctx.vault, cert.name, op) };
    },
    path,
  ),
  route(
    "DELETE",
    "/certificates/{name}/pending",
    Op.DeleteCertificateOperation,
    (ctx) => {
      const { cert, op } = requireOperation(ctx.vault, ctx.params.name ?? "");
      delete cert.operation;
      return { status: 200, body: operationView(ctx.vault, cert.name, op) };
    },
    path,
  ),
  route(
    "GET",
    "/certificates/{name}/policy",
    Op.GetCertificatePolicy,
    (ctx) => {
      const cert = ctx.vault.certificates.require(validName(ctx.params.name));
      return {
        status: 200,
        body: policyView(ctx.vault, cert.name, cert.policy ?? (current(cert) as CertificateVersion).policy),
      };
    },
    path,
  ),
  route(
    "PATCH",
    "/certificates/{name}/policy",
    Op.UpdateCertificatePolicy,
    (ctx) => {
      const cert = ctx.vault.certificates.require(validName(ctx.params.name));
      cert.policy = parsePolicy(ctx.body, cert.policy);
      return { status: 200, body: policyView(ctx.vault, cert.name, cert.policy) };
    },
    path,
  ),
  ...collection.objects,
  ...collection.deleted,
];
