import { randomUUID } from "node:crypto";

/** Unix seconds, the unit Key Vault uses for every timestamp. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
/** Version ids are 32 lowercase hex characters. */
export const newVersionId = (): string => randomUUID().replaceAll("-", "");

export interface Attributes {
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
  exportable?: boolean;
}

export type Tags = Record<string, string>;

export interface VersionBase {
  version: string;
  attributes: Attributes;
  tags?: Tags;
}

export interface SecretVersion extends VersionBase {
  value: string;
  contentType?: string;
  /** Set on a certificate's managed secret: the certificate's key id. */
  kid?: string;
}

export interface KeyVersion extends VersionBase {
  kty: "RSA" | "EC" | "RSA-HSM" | "EC-HSM";
  keyOps: string[];
  /** PKCS#8 PEM of the private key: never returned by the API, only carried inside backups. */
  privatePem: string;
  publicJwk: Record<string, string>;
}

export interface CertificatePolicy {
  key_props: { exportable: boolean; kty: string; key_size?: number; crv?: string; reuse_key: boolean };
  secret_props: { contentType: string };
  x509_props: {
    subject: string;
    sans?: { dns_names?: string[]; emails?: string[]; upns?: string[] };
    ekus?: string[];
    key_usage?: string[];
    validity_months: number;
  };
  lifetime_actions: {
    trigger: { lifetime_percentage?: number; days_before_expiry?: number };
    action: { action_type: string };
  }[];
  issuer: { name: string; cty?: string; cert_transparency?: boolean };
  attributes: { enabled: boolean; created: number; updated: number };
}

export interface CertificateVersion extends VersionBase {
  /** base64 DER of the X.509 certificate. */
  cer: string;
  /** base64url SHA-1 thumbprint. */
  x5t: string;
  policy: CertificatePolicy;
}

export interface CertificateOperation {
  requestId: string;
  /** The version being issued, visible (disabled, without cer) until issuance completes. */
  version: string;
  created: number;
  csr: string;
  status: "inProgress" | "completed" | "cancelled" | "failed";
  completesAt: number;
  /** Work done at completion: the version, key and secret become visible then. */
  complete?: () => void;
  cancellationRequested: boolean;
}

export interface StoredObject<V extends VersionBase> {
  /** Name as first created; lookups are case-insensitive like the service. */
  name: string;
  /** Oldest first; the last is the current version. */
  versions: V[];
  /** true for a certificate's key and secret. */
  managed: boolean;
  policy?: CertificatePolicy;
  operation?: CertificateOperation;
}

export interface DeletedObject<V extends VersionBase> {
  object: StoredObject<V>;
  deletedDate: number;
  scheduledPurgeDate: number;
  /** Before this time (ms) the deletion is still "in progress", as the service is eventually consistent. */
  visibleAt: number;
}

export const current = <V extends VersionBase>(o: StoredObject<V>): V | undefined =>
  o.versions[o.versions.length - 1];
