import type { AuthorizationMode } from "./authz.js";
import { openBackup, sealBackup } from "./backupBlob.js";
import { errors, type ObjectKind } from "./errors.js";
import type { KeyMaterial } from "./keyMaterial.js";
import type { CertificateVersion, KeyVersion, SecretVersion, StoredObject, VersionBase } from "./model.js";
import { ObjectStore, type StoreTiming } from "./objectStore.js";
import type { SecurityWorld } from "./securityWorld.js";
import { TokenBucket } from "./throttle.js";

export interface NetworkRules {
  /** "Disabled" answers ForbiddenByConnection to every caller (no private link in the emulator). */
  publicNetworkAccess: "Enabled" | "Disabled";
  defaultAction: "Allow" | "Deny";
  /** IPv4 addresses or CIDR ranges allowed when defaultAction is Deny. */
  ipRules: string[];
}

export interface VaultLimits {
  /** All transactions per 10 s (the service's vault limit). */
  perTenSeconds: number;
  /** Create/import/restore transactions per 10 s (a smaller class). */
  createPerTenSeconds: number;
  /** Send Retry-After on 429 (the real service often does not). */
  retryAfter: boolean;
}

export interface VaultFaults {
  /** Fraction of requests answered with errorStatus. */
  errorRate: number;
  errorStatus: 500 | 503;
  /** Fraction of requests whose connection is dropped without an answer. */
  dropRate: number;
}

export interface VaultLatency {
  fixedMs: number;
  jitterMs: number;
}

export interface VaultStats {
  total: number;
  byOperation: Record<string, number>;
  byStatus: Record<string, number>;
  byOperationStatus: Record<string, number>;
  throttled: number;
  dropped: number;
  inflight: number;
  peakInflight: number;
}

export const emptyStats = (): VaultStats => ({
  total: 0,
  byOperation: {},
  byStatus: {},
  byOperationStatus: {},
  throttled: 0,
  dropped: 0,
  inflight: 0,
  peakInflight: 0,
});

export interface CannedResponse {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

export interface VaultConfig {
  name: string;
  location: string;
  subscriptionId: string;
  resourceGroup: string;
  world: SecurityWorld;
  authorization: AuthorizationMode;
  network: NetworkRules;
  limits: VaultLimits;
  latency: VaultLatency;
  faults: VaultFaults;
  timing: StoreTiming & { certificateMs: number };
  maxBackupVersions: number;
  purgeProtection: boolean;
  /** Pages shorter than maxresults now and then (clients must follow nextLink, not count items). */
  shortPages: boolean;
}

/** A version Key Vault has just created: what its NewVersionCreated event names. */
export interface NewVersion {
  vault: Vault;
  kind: "secrets" | "keys" | "certificates";
  name: string;
  version: string;
}

/** One emulated vault: its objects, its rules, its counters. */
export class Vault {
  readonly secrets: ObjectStore<SecretVersion>;
  readonly keys: ObjectStore<KeyVersion>;
  readonly certificates: ObjectStore<CertificateVersion>;
  readonly bucket: TokenBucket;
  readonly createBucket: TokenBucket;
  stats: VaultStats = emptyStats();
  /** Set once the server listens. */
  baseUrl = "";
  /** Reused key material for bulk seeding (see keyMaterial.ts). */
  keyPool: Map<string, KeyMaterial> | undefined;
  /** A recorded answer given to every request instead of the service's own (tests replay real error bodies). */
  canned: CannedResponse | undefined;
  /** Certificates whose issuance is in progress; settle() looks only at these. */
  readonly issuing = new Set<StoredObject<CertificateVersion>>();

  constructor(readonly config: VaultConfig) {
    this.secrets = new ObjectStore("secret", config.timing);
    this.keys = new ObjectStore("key", config.timing);
    this.certificates = new ObjectStore("certificate", config.timing);
    this.bucket = new TokenBucket(config.limits.perTenSeconds);
    this.createBucket = new TokenBucket(config.limits.createPerTenSeconds);
    const announce =
      (kind: NewVersion["kind"]) =>
      (name: string, version: string, managed: boolean): void => {
        // A certificate's own key and secret: its certificate's event stands for them.
        if (!managed) this.onNewVersion?.({ vault: this, kind, name, version });
      };
    this.secrets.onVersion = announce("secrets");
    this.keys.onVersion = announce("keys");
    this.certificates.onVersion = announce("certificates");
  }

  /** Told of each new version of an object (the emulator publishes the vault's events). */
  onNewVersion: ((v: NewVersion) => void) | undefined;

  get name(): string {
    return this.config.name;
  }

  setLimits(limits: Partial<VaultLimits>): void {
    Object.assign(this.config.limits, limits);
    this.bucket.setLimit(this.config.limits.perTenSeconds);
    this.createBucket.setLimit(this.config.limits.createPerTenSeconds);
  }

  /** Completes certificate operations whose time has come (the service issues asynchronously). */
  settle(now = Date.now()): void {
    for (const cert of this.issuing) {
      const op = cert.operation;
      if (op?.status !== "inProgress") {
        this.issuing.delete(cert);
      } else if (now >= op.completesAt) {
        op.complete?.();
        op.status = "completed";
        delete op.complete;
        this.issuing.delete(cert);
      }
    }
  }

  /**
   * A backup of one object, as the API returns it (base64url), sealed for this vault's security
   * world; refused when the object has more versions than the service backs up.
   */
  backup(kind: ObjectKind, tag: string, object: StoredObject<VersionBase>, payload: object): string {
    const limit = this.config.maxBackupVersions;
    if (object.versions.length > limit) throw errors.tooManyVersions(kind, object.name, limit);
    return sealBackup(tag, payload, this.config.world).toString("base64url");
  }

  /** Opens a backup sent to this vault: only its own security world's blobs decrypt. */
  openBackup<T>(tag: string, blob: Buffer): T {
    return openBackup<T>(blob, tag, (kid) => (kid === this.config.world.kid ? this.config.world : undefined));
  }

  resetStats(): void {
    this.stats = emptyStats();
  }
}
