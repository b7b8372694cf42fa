import { type ManifestItem, objectBlob } from "../../domain/manifest.js";
import { type Kind, Kinds } from "../../domain/vocabulary.js";

/**
 * One item as one flat JSON array, its name first: `["name",bytes,"sha256",updatedOn,enabled,
 * contentType,tags,copiedFrom,etag,version,blob]`, 0 for a field the item does not have, and the
 * blob only when it is not the layout path (it always is: kept so that nothing is lost if not).
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

/** Bytes of one chunk of packed items (a line longer than this gets a chunk of its own). */
const ChunkBytes = 1 << 20;
/** A line's place: its chunk times this, plus its offset in the chunk (offsets stay below ChunkBytes). */
const Place = 2 ** 24;

/**
 * One kind's packed items: the lines' UTF-8 bytes in 1 MiB buffers, outside V8's heap, and in the
 * heap only each item's name (to sort by) and where its line is.
 */
class PackedLines {
  private readonly chunks: Buffer[] = [];
  private used = 0;
  private readonly names: string[] = [];
  private readonly places: number[] = [];
  private readonly lengths: number[] = [];

  push(name: string, line: string): void {
    const length = Buffer.byteLength(line);
    let chunk = this.chunks.at(-1);
    if (!chunk || this.used + length > chunk.length) {
      chunk = Buffer.allocUnsafe(Math.max(ChunkBytes, length));
      this.chunks.push(chunk);
      this.used = 0;
    }
    chunk.write(line, this.used, "utf8");
    this.names.push(name);
    this.places.push((this.chunks.length - 1) * Place + this.used);
    this.lengths.push(length);
    this.used += length;
  }

  line(i: number): string {
    const place = this.places[i] as number;
    const chunk = this.chunks[Math.floor(place / Place)] as Buffer;
    const offset = place % Place;
    return chunk.toString("utf8", offset, offset + (this.lengths[i] as number));
  }

  /** The items' indexes in name order (as byKindAndName orders names). */
  order(): number[] {
    const { names } = this;
    return names
      .map((_, i) => i)
      .sort((a, b) => {
        const x = names[a] as string;
        const y = names[b] as string;
        return x < y ? -1 : x > y ? 1 : a - b;
      });
  }
}

/**
 * A run's manifest items until its commit, held packed: one flat JSON line per item, its bytes in
 * buffers outside V8's heap. V8 lets its heap grow to about twice what is live before a full
 * collection, so every byte of items held in the heap costs about two at the peak; in buffers it
 * costs one. Unpacked one at a time, in the manifest's order (by kind, then name), only while the
 * manifest is written.
 */
export class RunItems {
  private readonly byKind = new Map<Kind, PackedLines>(Kinds.map((k) => [k, new PackedLines()]));
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
    this.byKind.get(item.kind)?.push(item.name, JSON.stringify(packed));
    this.count++;
    if (item.copiedFrom) this.copied++;
  }

  /** The items by kind, then name (the manifest's order). */
  *sorted(): Generator<ManifestItem> {
    for (const kind of [...Kinds].sort()) {
      const lines = this.byKind.get(kind);
      if (!lines) continue;
      for (const i of lines.order()) yield this.unpack(kind, lines.line(i));
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
