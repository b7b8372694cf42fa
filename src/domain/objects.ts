import type { Kind } from "./vocabulary.js";

/** One object as listed: the metadata users search by, never a value. */
export interface ObjectInfo {
  kind: Kind;
  name: string;
  enabled: boolean;
  updatedOn?: string;
  /** When the current version was made (an attribute change since moves updatedOn, not this). */
  createdOn?: string;
  contentType?: string;
  tags?: Record<string, string>;
  /** A certificate's key or secret: its certificate's backup covers it. */
  managed: boolean;
}

/** What a backup blob says of itself: the SHA-256 of its bytes and the metadata of the object it holds. */
export interface BlobFacts {
  sha256: string;
  /** The object's listed metadata at the time of its backup (absent on blobs of older versions). */
  object?: Omit<ObjectInfo, "managed">;
  /** The run whose blob this one was copied from (an incremental run's unchanged object). */
  copiedFrom?: string;
  /**
   * A continuous-protection (event) backup: the eventTime of the event it answered, in Key Vault's
   * clock. The backup was taken after the event came, so it holds the object as it was then.
   */
  eventAt?: string;
}

/** What a listing says of an object that tells one state of it from another. */
export type ListedState = Pick<ObjectInfo, "updatedOn" | "enabled" | "contentType" | "tags">;

const tagsText = (tags: Record<string, string> | undefined): string =>
  JSON.stringify(Object.entries(tags ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)));

/**
 * Whether two listings describe the same state of an object: its last change, enabled, content
 * type and tags. Key Vault's timestamps have one-second resolution, and a listing shows only the
 * current version: a value changed within the second of the previous change, or an attribute
 * changed on an older version, look the same (a full run covers both).
 */
export const sameListedState = (a: ListedState, b: ListedState): boolean =>
  a.updatedOn === b.updatedOn &&
  a.enabled === b.enabled &&
  a.contentType === b.contentType &&
  tagsText(a.tags) === tagsText(b.tags);

/** A blob as listed in the container. */
export interface StoredBlob extends Partial<BlobFacts> {
  name: string;
  bytes: number;
  /** When Storage created the blob (ISO 8601, Storage's clock): set by the service, never by the writer. */
  createdOn?: string;
  /** The blob's ETag, quoted as the ETag header gives it: changes with every write of its bytes or metadata. */
  etag?: string;
}

/** What a strong ETag may hold: visible ASCII but the quote, "*" and the comma (no wildcard, no list). */
const EtagChars = "[\\x21\\x23-\\x29\\x2b\\x2d-\\x7e]";

/**
 * A strong ETag as storage gives it: quoted, as the ETag header has it, or bare, as List Blobs has
 * it (`<Etag>0x8D…</Etag>`). Never "*" or a weak `W/` tag: sent as x-ms-source-if-match, those would
 * match any version of a blob.
 */
export const EtagPattern = new RegExp(`^(?:"${EtagChars}{1,198}"|(?!W/)${EtagChars}{1,200})$`);

/**
 * The ETag in the quoted form the manifest records and a copy sends; undefined for anything that is
 * not a strong ETag (then nothing is recorded, and nothing is copied on its word).
 */
export const strongEtag = (etag: string | undefined): string | undefined =>
  etag !== undefined && EtagPattern.test(etag) ? (etag.startsWith('"') ? etag : `"${etag}"`) : undefined;

/** A blob this run wrote or copied: its ETag as storage answered (absent if storage gave none). */
export interface Written {
  etag?: string;
}

/** A Key Vault as Azure Resource Manager lists it (discovery). */
export interface DiscoveredVault {
  name: string;
  /** properties.vaultUri: the vault's own URL, in its cloud's DNS suffix. */
  url: string;
  subscription: string;
  resourceGroup?: string;
  location?: string;
  tags: Record<string, string>;
}
