import type {
  Attributes,
  CertificateOperation,
  CertificatePolicy,
  CertificateVersion,
  DeletedObject,
  KeyVersion,
  SecretVersion,
  StoredObject,
  VersionBase,
} from "./model.js";
import { current } from "./model.js";
import type { Vault } from "./vault.js";

/** JSON shapes of the 2025-07-01 swagger (SecretBundle, KeyItem, CertificateBundle, ...). */
const withTags = (v: VersionBase): { tags?: Record<string, string> } => (v.tags ? { tags: v.tags } : {});

export function attributesView(vault: Vault, a: Attributes, kind: "secret" | "key" | "certificate"): object {
  const view: Record<string, unknown> = { enabled: a.enabled };
  if (a.nbf !== undefined) view.nbf = a.nbf;
  if (a.exp !== undefined) view.exp = a.exp;
  view.created = a.created;
  view.updated = a.updated;
  view.recoveryLevel = "Recoverable+Purgeable";
  view.recoverableDays = vault.config.timing.recoverableDays;
  if (kind === "key" && a.exportable !== undefined) view.exportable = a.exportable;
  return view;
}

const managedFlag = (o: StoredObject<VersionBase>): { managed?: true } =>
  o.managed ? { managed: true } : {};

export function secretBundle(
  vault: Vault,
  o: StoredObject<SecretVersion>,
  v: SecretVersion,
  includeValue = true,
): object {
  return {
    ...(includeValue ? { value: v.value } : {}),
    ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
    id: `${vault.baseUrl}/secrets/${o.name}/${v.version}`,
    attributes: attributesView(vault, v.attributes, "secret"),
    ...withTags(v),
    ...(v.kid ? { kid: v.kid } : {}),
    ...managedFlag(o),
  };
}

export function secretItem(
  vault: Vault,
  o: StoredObject<SecretVersion>,
  v: SecretVersion,
  withVersion = false,
): object {
  return {
    id: withVersion
      ? `${vault.baseUrl}/secrets/${o.name}/${v.version}`
      : `${vault.baseUrl}/secrets/${o.name}`,
    attributes: attributesView(vault, v.attributes, "secret"),
    ...withTags(v),
    ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
    ...managedFlag(o),
  };
}

export function keyBundle(vault: Vault, o: StoredObject<KeyVersion>, v: KeyVersion): object {
  return {
    key: {
      kid: `${vault.baseUrl}/keys/${o.name}/${v.version}`,
      kty: v.kty,
      key_ops: v.keyOps,
      ...publicParts(v),
    },
    attributes: attributesView(vault, v.attributes, "key"),
    ...withTags(v),
    ...managedFlag(o),
  };
}

function publicParts(v: KeyVersion): Record<string, string> {
  const { n, e, crv, x, y } = v.publicJwk;
  return Object.fromEntries(
    Object.entries({ n, e, crv, x, y }).filter(([, val]) => val !== undefined),
  ) as Record<string, string>;
}

export function keyItem(
  vault: Vault,
  o: StoredObject<KeyVersion>,
  v: KeyVersion,
  withVersion = false,
): object {
  return {
    kid: withVersion ? `${vault.baseUrl}/keys/${o.name}/${v.version}` : `${vault.baseUrl}/keys/${o.name}`,
    attributes: attributesView(vault, v.attributes, "key"),
    ...withTags(v),
    ...managedFlag(o),
  };
}

export function policyView(vault: Vault, name: string, p: CertificatePolicy): object {
  return {
    id: `${vault.baseUrl}/certificates/${name}/policy`,
    ...p,
    x509_props: { ...p.x509_props, basic_constraints: { ca: false } },
  };
}

/** As recorded: tags always present ({} when none), `pending` while an operation exists, except in a restore's answer. */
export function certificateBundle(
  vault: Vault,
  o: StoredObject<CertificateVersion>,
  v: CertificateVersion,
  shape: "full" | "restored" = "full",
): object {
  return {
    id: `${vault.baseUrl}/certificates/${o.name}/${v.version}`,
    kid: `${vault.baseUrl}/keys/${o.name}/${v.version}`,
    sid: `${vault.baseUrl}/secrets/${o.name}/${v.version}`,
    x5t: v.x5t,
    cer: v.cer,
    attributes: attributesView(vault, v.attributes, "certificate"),
    tags: v.tags ?? {},
    policy: policyView(vault, o.name, o.policy ?? v.policy),
    ...(o.operation && shape !== "restored"
      ? { pending: { id: `${vault.baseUrl}/certificates/${o.name}/pending` } }
      : {}),
  };
}

/** While issuance is in progress the service shows a disabled version with no certificate yet. */
export function pendingCertificateBundle(
  vault: Vault,
  name: string,
  op: CertificateOperation,
  policy: CertificatePolicy | undefined,
): object {
  return {
    id: `${vault.baseUrl}/certificates/${name}/${op.version}`,
    attributes: attributesView(
      vault,
      { enabled: false, created: op.created, updated: op.created },
      "certificate",
    ),
    ...(policy ? { policy: policyView(vault, name, policy) } : {}),
  };
}

export function certificateItem(
  vault: Vault,
  o: StoredObject<CertificateVersion>,
  v: CertificateVersion | undefined,
  withVersion = false,
): object {
  if (!v) return { id: `${vault.baseUrl}/certificates/${o.name}` };
  return {
    id: withVersion
      ? `${vault.baseUrl}/certificates/${o.name}/${v.version}`
      : `${vault.baseUrl}/certificates/${o.name}`,
    attributes: attributesView(vault, v.attributes, "certificate"),
    ...withTags(v),
    x5t: v.x5t,
  };
}

export function operationView(vault: Vault, name: string, op: CertificateOperation): object {
  return {
    id: `${vault.baseUrl}/certificates/${name}/pending`,
    issuer: { name: "Self" },
    csr: op.csr,
    cancellation_requested: op.cancellationRequested,
    status: op.status,
    ...(op.status === "inProgress"
      ? {
          status_details:
            "Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later.",
        }
      : {}),
    ...(op.status === "completed" ? { target: `${vault.baseUrl}/certificates/${name}` } : {}),
    request_id: op.requestId,
  };
}

const deletedPart = (vault: Vault, collection: string, d: DeletedObject<VersionBase>): object => ({
  recoveryId: `${vault.baseUrl}/${collection}/${d.object.name}`,
  deletedDate: d.deletedDate,
  scheduledPurgeDate: d.scheduledPurgeDate,
});

export function deletedView<V extends VersionBase>(
  vault: Vault,
  collection: "deletedsecrets" | "deletedkeys" | "deletedcertificates",
  d: DeletedObject<V>,
  view: (vault: Vault, o: StoredObject<V>, v: V) => object,
): object {
  const v = current(d.object);
  return { ...deletedPart(vault, collection, d), ...(v ? view(vault, d.object, v) : {}) };
}
