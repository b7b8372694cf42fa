import type { Kind } from "./vocabulary.js";

/** One object as listed: the metadata users search by, never a value. */
export interface ObjectInfo {
  kind: Kind;
  name: string;
  enabled: boolean;
  updatedOn?: string;
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
}

/** A blob as listed in the container. */
export interface StoredBlob extends Partial<BlobFacts> {
  name: string;
  bytes: number;
}
