import { createHash } from "node:crypto";
import type { VaultInspector, VaultPort } from "../../../src/backup/ports.js";
import { azureCallError, type KvBackupError } from "../../../src/domain/errors.js";
import type { ObjectInfo } from "../../../src/domain/objects.js";
import type { RateBudget } from "../../../src/domain/rateBudget.js";
import type { SignalLike } from "../../../src/domain/signal.js";
import type { Kind } from "../../../src/domain/vocabulary.js";

export const kvError = (
  status: number,
  code: string,
  innerCode?: string,
  message = `${code} (test)`,
): KvBackupError =>
  azureCallError({ service: "keyvault", status, code, ...(innerCode ? { innerCode } : {}), message });

interface Stored {
  info: ObjectInfo;
  versions: number;
  /** What a backup holds: enough to restore the same object elsewhere. */
  value: string;
}

export type Fault = (
  op: "list" | "backup" | "restore" | "purge",
  kind: Kind,
  name?: string,
) => KvBackupError | undefined;

/**
 * A vault in memory behind the VaultPort: objects with metadata and versions, soft-deleted names,
 * backups as opaque bytes that restore the same object, faults by operation, and counters. Every
 * call takes a turn from the budget it was made with, as the real adapter does.
 */
export class MemoryVault {
  readonly objects: Record<Kind, Map<string, Stored>> = {
    secrets: new Map(),
    keys: new Map(),
    certificates: new Map(),
  };
  readonly deleted: Record<Kind, Set<string>> = {
    secrets: new Set(),
    keys: new Set(),
    certificates: new Set(),
  };
  readonly calls = { list: 0, backup: 0, restore: 0, other: 0 };
  fault: Fault = () => undefined;
  pageSize = 3;
  /** Runs before each backup resolves: lets a test act mid-run (abort, rotate, break storage). */
  onBackup: (kind: Kind, name: string) => void | Promise<void> = () => undefined;

  put(kind: Kind, name: string, info: Partial<ObjectInfo> = {}, versions = 1): this {
    const prior = this.objects[kind].get(name.toLowerCase());
    const full: ObjectInfo = {
      kind,
      name,
      enabled: true,
      managed: false,
      updatedOn: new Date().toISOString(),
      ...info,
    };
    this.objects[kind].set(name.toLowerCase(), {
      info: full,
      versions: (prior?.versions ?? 0) + versions,
      value: `${name}#${Math.random()}`,
    });
    return this;
  }

  /** A certificate with its managed key and secret, as Key Vault makes them. */
  certificate(name: string): this {
    this.put("certificates", name);
    this.put("keys", name, { managed: true });
    return this.put("secrets", name, { managed: true });
  }

  remove(kind: Kind, name: string): void {
    this.objects[kind].delete(name.toLowerCase());
  }

  port(budget: RateBudget): VaultPort {
    const turn = async (signal?: SignalLike): Promise<void> => budget.acquire(signal);
    const failIf = (op: "list" | "backup" | "restore", kind: Kind, name?: string): void => {
      const e = this.fault(op, kind, name);
      if (e) throw e;
    };
    const names = (kind: Kind): Set<string> => new Set(this.objects[kind].keys());
    return {
      list: async function* (this: MemoryVault, kind: Kind, signal?: SignalLike) {
        const all = [...this.objects[kind].values()].map((o) => ({ ...o.info }));
        for (let i = 0; i === 0 || i < all.length; i += this.pageSize) {
          await turn(signal);
          this.calls.list++;
          failIf("list", kind);
          yield all.slice(i, i + this.pageSize);
        }
      }.bind(this),
      backup: async (kind, name, signal) => {
        await turn(signal);
        this.calls.backup++;
        failIf("backup", kind, name);
        const o = this.objects[kind].get(name.toLowerCase());
        if (!o) throw kvError(404, `${kind.slice(0, -1)}NotFound`);
        if (o.info.managed)
          throw kvError(
            403,
            "Forbidden",
            kind === "keys" ? "KeyManagedByKeyVault" : "SecretManagedByKeyVault",
          );
        await this.onBackup(kind, name);
        return new TextEncoder().encode(
          JSON.stringify({ kind, info: o.info, versions: o.versions, value: o.value }),
        );
      },
      restore: async (kind, bytes, signal) => {
        await turn(signal);
        this.calls.restore++;
        let parsed: Stored & { kind: Kind };
        try {
          parsed = JSON.parse(new TextDecoder().decode(bytes));
        } catch {
          throw kvError(400, "BadParameter");
        }
        failIf("restore", kind, parsed.info.name);
        const key = parsed.info.name.toLowerCase();
        if (this.objects[kind].has(key)) throw kvError(409, "Conflict");
        if (this.deleted[kind].has(key)) throw kvError(409, "Conflict", "ObjectIsDeletedButRecoverable");
        this.objects[kind].set(key, { info: parsed.info, versions: parsed.versions, value: parsed.value });
      },
      names: async (kind, signal) => {
        await turn(signal);
        this.calls.other++;
        failIf("list", kind);
        return names(kind);
      },
      deletedNames: async (kind, signal) => {
        await turn(signal);
        this.calls.other++;
        return new Set(this.deleted[kind]);
      },
      countVersions: async (kind, name) => this.objects[kind].get(name.toLowerCase())?.versions ?? 0,
      probeBackup: async (kind, signal) => {
        await turn(signal);
        failIf("list", kind);
        failIf("backup", kind, "kvbackup-probe-does-not-exist");
      },
      probeRestore: async (kind, signal) => {
        await turn(signal);
        failIf("list", kind);
        failIf("restore", kind, "kvbackup-probe");
      },
    };
  }

  /** The drill's view: metadata, versions and a thumbprint made of the value (never the value itself). */
  inspector(budget: RateBudget): VaultInspector {
    const turn = async (signal?: SignalLike): Promise<void> => budget.acquire(signal);
    return {
      facts: async (kind, name, signal) => {
        await turn(signal);
        this.calls.other++;
        const o = this.objects[kind].get(name.toLowerCase());
        if (!o) return undefined;
        return {
          enabled: o.info.enabled,
          ...(o.info.contentType ? { contentType: o.info.contentType } : {}),
          ...(o.info.tags ? { tags: o.info.tags } : {}),
          ...(o.info.updatedOn ? { updatedOn: o.info.updatedOn } : {}),
          versions: Array.from({ length: o.versions }, (_, i) => ({ id: `v${i}`, enabled: true })),
          ...(kind === "secrets"
            ? {}
            : { thumbprint: createHash("sha256").update(o.value).digest("base64url") }),
        };
      },
      delete: async (kind, name, signal) => {
        await turn(signal);
        const key = name.toLowerCase();
        if (!this.objects[kind].has(key)) return false;
        this.objects[kind].delete(key);
        this.deleted[kind].add(key);
        return true;
      },
      purge: async (kind, name, signal) => {
        await turn(signal);
        const e = this.fault("purge", kind, name);
        if (e) throw e;
        return this.deleted[kind].delete(name.toLowerCase());
      },
    };
  }

  /** Value of an object (what the test compares after a restore). */
  valueOf(kind: Kind, name: string): string | undefined {
    return this.objects[kind].get(name.toLowerCase())?.value;
  }
}
