import { errors, type ObjectKind } from "./errors.js";
import { current, type DeletedObject, nowSeconds, type StoredObject, type VersionBase } from "./model.js";

export interface StoreTiming {
  /** ms during which a deleted object is still being deleted (GET deleted -> 404, create -> 409 ObjectIsBeingDeleted). */
  deleteMs: number;
  /** ms during which a purged name is still held (restore/create -> 409). */
  purgeMs: number;
  /** ms during which a recovered object is still being recovered (set/create -> 409 ObjectIsBeingRecovered). */
  recoverMs: number;
  recoverableDays: number;
  /**
   * How far this vault's clock is ahead of the machine's, in ms: a test moves it to see a delete,
   * purge or recovery finish without waiting for it (unset: none).
   */
  aheadMs?: number;
}

/**
 * One kind's objects in one vault, with soft delete as in Azure: delete moves the object to the
 * deleted set, where it holds its name until recovered or purged. Names are case-insensitive.
 */
export class ObjectStore<V extends VersionBase> {
  private now(): number {
    return Date.now() + (this.timing.aheadMs ?? 0);
  }

  private readonly active = new Map<string, StoredObject<V>>();
  private readonly deleted = new Map<string, DeletedObject<V>>();
  private readonly purging = new Map<string, number>();
  private readonly recovering = new Map<string, number>();
  /** Objects in the service's order, rebuilt only after the set of names changes (listing is the hot path). */
  private sorted: StoredObject<V>[] | undefined;

  private setActive(key: string, o: StoredObject<V>): void {
    this.active.set(key, o);
    this.sorted = undefined;
  }

  private removeActive(key: string): void {
    this.active.delete(key);
    this.sorted = undefined;
  }

  constructor(
    readonly kind: ObjectKind,
    private readonly timing: StoreTiming,
  ) {}

  get(name: string): StoredObject<V> | undefined {
    return this.active.get(name.toLowerCase());
  }

  require(name: string): StoredObject<V> {
    const o = this.get(name);
    if (!o || o.versions.length === 0) throw errors.notFound(this.kind, name);
    return o;
  }

  requireVersion(name: string, version: string | undefined): { object: StoredObject<V>; version: V } {
    const object = this.get(name);
    if (!object || object.versions.length === 0) throw errors.notFound(this.kind, name, version || undefined);
    const v = version ? object.versions.find((x) => x.version === version) : current(object);
    if (!v) throw errors.notFound(this.kind, name, version);
    return { object, version: v };
  }

  /** Throws the service's 409 when the name is held by a deleted, deleting or purging object. */
  assertNameUsable(name: string): void {
    const key = name.toLowerCase();
    const recoverUntil = this.recovering.get(key);
    if (recoverUntil !== undefined) {
      if (this.now() < recoverUntil)
        throw errors.beingRecovered(this.kind, this.active.get(key)?.name ?? name);
      this.recovering.delete(key);
    }
    const d = this.deleted.get(key);
    if (d) {
      if (this.now() < d.visibleAt) throw errors.beingDeleted(this.kind, d.object.name);
      throw errors.deletedButRecoverable(this.kind, d.object.name);
    }
    const purgeUntil = this.purging.get(key);
    if (purgeUntil !== undefined) {
      if (this.now() < purgeUntil) throw errors.beingDeleted(this.kind, name);
      this.purging.delete(key);
    }
  }

  /** For restore: the service answers a plain Conflict while the name is taken or still being purged. */
  assertRestorable(name: string, id: string): void {
    const key = name.toLowerCase();
    const purgeUntil = this.purging.get(key);
    if (purgeUntil !== undefined && this.now() < purgeUntil) throw errors.restoreConflict(this.kind, id);
    if (this.active.get(key)?.versions.length) throw errors.restoreConflict(this.kind, id);
    const d = this.deleted.get(key);
    if (d) throw errors.deletedButRecoverable(this.kind, d.object.name);
  }

  /** Adds a version, creating the object if needed. */
  addVersion(name: string, version: V, managed = false): StoredObject<V> {
    this.assertNameUsable(name);
    const key = name.toLowerCase();
    let o = this.active.get(key);
    if (!o) {
      o = { name, versions: [], managed };
      this.setActive(key, o);
    }
    o.versions.push(version);
    this.onVersion?.(o.name, version.version, managed || o.managed);
    return o;
  }

  /** Told of every version added (the vault publishes its "new version" events from here). */
  onVersion: ((name: string, version: string, managed: boolean) => void) | undefined;

  /** Creates an object shell (a certificate whose first version is still pending). */
  ensure(name: string, managed = false): StoredObject<V> {
    const key = name.toLowerCase();
    const existing = this.active.get(key);
    if (existing) return existing;
    this.assertNameUsable(name);
    const o: StoredObject<V> = { name, versions: [], managed };
    this.setActive(key, o);
    return o;
  }

  /** Puts a whole object back (restore), replacing nothing: callers check assertRestorable first. */
  putRestored(object: StoredObject<V>): void {
    this.setActive(object.name.toLowerCase(), object);
  }

  delete(name: string): DeletedObject<V> {
    const o = this.require(name);
    const now = nowSeconds();
    const d: DeletedObject<V> = {
      object: o,
      deletedDate: now,
      scheduledPurgeDate: now + this.timing.recoverableDays * 86400,
      visibleAt: this.now() + this.timing.deleteMs,
    };
    this.removeActive(name.toLowerCase());
    this.deleted.set(name.toLowerCase(), d);
    return d;
  }

  getDeleted(name: string): DeletedObject<V> {
    const d = this.deleted.get(name.toLowerCase());
    if (!d || this.now() < d.visibleAt) throw errors.deletedNotFound(this.kind, name);
    return d;
  }

  recover(name: string): StoredObject<V> {
    const d = this.getDeleted(name);
    this.deleted.delete(name.toLowerCase());
    this.setActive(name.toLowerCase(), d.object);
    if (this.timing.recoverMs > 0)
      this.recovering.set(name.toLowerCase(), this.now() + this.timing.recoverMs);
    return d.object;
  }

  purge(name: string): void {
    this.getDeleted(name);
    this.deleted.delete(name.toLowerCase());
    if (this.timing.purgeMs > 0) this.purging.set(name.toLowerCase(), this.now() + this.timing.purgeMs);
  }

  /** Active objects with at least one version (or pending ones when asked), in the service's order. */
  list(includeEmpty = false): StoredObject<V>[] {
    this.sorted ??= [...this.active.values()].sort((a, b) => ordinal(sortKey(a.name), sortKey(b.name)));
    return includeEmpty ? this.sorted : this.sorted.filter((o) => o.versions.length > 0);
  }

  listDeleted(): DeletedObject<V>[] {
    const now = this.now();
    return [...this.deleted.values()]
      .filter((d) => now >= d.visibleAt)
      .sort((a, b) => ordinal(sortKey(a.object.name), sortKey(b.object.name)));
  }

  get size(): number {
    return this.active.size;
  }
}

/** The service pages in upper-case ordinal order (see the recorded $skiptoken markers). */
export const sortKey = (name: string): string => name.toUpperCase();
const ordinal = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
