import { type ManifestItem, objectBlob } from "../../domain/manifest.js";
import { type Kind, Kinds } from "../../domain/vocabulary.js";

/**
 * One item as one flat JSON array, its name first: `["name",bytes,"sha256",updatedOn,enabled,
 * contentType,tags,copiedFrom,etag,version,blob]`, 0 for a field the item does not have, and the
 * blob only when it is not the layout path (it always is: kept so that nothing is lost if not).
 * A name is DNS-like ([0-9a-zA-Z-], every character after '"'), so sorting the strings sorts by name.
 */
type Packed = [
  string,
  number,
  string,
  string | 0,
  1 | 0,
  string | 0,
  Record<string, string> | 0,
  string | 0,
  string | 0,
  string | 0,
  string | 0,
];

/**
 * A run's manifest items until its commit, held packed: one flat string per item, about 330 bytes
 * against 470 for the object (measured on 100,000 items), and V8 lets its heap grow to about twice
 * what is live before collecting — so a 100,000-object run peaks tens of MB lower. Unpacked one at a
 * time, in the manifest's order (by kind, then name), only while the manifest is written.
 */
export class RunItems {
  private readonly byKind = new Map<Kind, string[]>(Kinds.map((k) => [k, []]));
  private count = 0;
  /** Items copied from a base run (an incremental run's unchanged objects). */
  copied = 0;

  constructor(private readonly prefix: string) {}

  get size(): number {
    return this.count;
  }

  add(item: ManifestItem): void {
    const blob = item.blob === objectBlob(this.prefix, item.kind, item.name) ? 0 : item.blob;
    const packed: Packed = [
      item.name,
      item.bytes,
      item.sha256,
      item.updatedOn ?? 0,
      item.enabled ? 1 : 0,
      item.contentType ?? 0,
      item.tags ?? 0,
      item.copiedFrom ?? 0,
      item.etag ?? 0,
      item.version ?? 0,
      blob,
    ];
    this.byKind.get(item.kind)?.push(JSON.stringify(packed));
    this.count++;
    if (item.copiedFrom) this.copied++;
  }

  /** The items by kind, then name (the manifest's order; sorts once, then reads in place). */
  *sorted(): Generator<ManifestItem> {
    for (const kind of [...Kinds].sort()) {
      const lines = this.byKind.get(kind) ?? [];
      lines.sort();
      for (const line of lines) yield this.unpack(kind, line);
    }
  }

  /** Every item's blob path (the commit's check of what an earlier attempt left). */
  blobs(): Set<string> {
    const out = new Set<string>();
    for (const item of this.sorted()) out.add(item.blob);
    return out;
  }

  private unpack(kind: Kind, line: string): ManifestItem {
    const [name, bytes, sha256, updatedOn, enabled, contentType, tags, copiedFrom, etag, version, blob] =
      JSON.parse(line) as Packed;
    return {
      kind,
      name,
      blob: blob === 0 ? objectBlob(this.prefix, kind, name) : blob,
      bytes,
      sha256,
      // 0 is "absent"; an empty string is a value (an object listed with an empty content type).
      ...(version !== 0 ? { version } : {}),
      ...(updatedOn !== 0 ? { updatedOn } : {}),
      enabled: enabled === 1,
      ...(contentType !== 0 ? { contentType } : {}),
      ...(tags !== 0 ? { tags } : {}),
      ...(copiedFrom !== 0 ? { copiedFrom } : {}),
      ...(etag !== 0 ? { etag } : {}),
    };
  }
}
