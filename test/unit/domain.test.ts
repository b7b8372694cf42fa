import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { RunIdPattern } from "../../src/domain/rules.js";
import { newRunId, runIdTime } from "../../src/domain/runId.js";

describe("runIds", () => {
  it("match the pattern, carry their time to the millisecond, and sort by time within a second", () => {
    const base = Date.parse("2026-11-26T02:00:00.000Z");
    const ids = Array.from({ length: 1000 }, (_, ms) => newRunId(new Date(base + ms)));
    for (const id of ids) expect(id).toMatch(RunIdPattern);
    expect([...ids].sort()).toEqual(ids);
    expect(runIdTime(ids[737] as string)?.toISOString()).toBe("2026-11-26T02:00:00.737Z");
    expect(runIdTime("not a run")).toBeUndefined();
    expect(new Set(Array.from({ length: 2000 }, () => newRunId(new Date(base)))).size).toBeGreaterThan(1990);
  });
});

describe("invocation traces", () => {
  it("a handler runs inside the trace the host passed; without one it is left alone", async () => {
    const { context, propagation, trace } = await import("@opentelemetry/api");
    const { W3CTraceContextPropagator } = await import("@opentelemetry/core");
    const { AsyncLocalStorageContextManager } = await import("@opentelemetry/context-async-hooks");
    const { inInvocationTrace } = await import("../../src/telemetry/invocations.js");
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const handler = () => trace.getSpanContext(context.active())?.traceId;
    const wrapped = inInvocationTrace({ traceParent: `00-${traceId}-b7ad6b7169203331-01` }, handler);
    expect(wrapped()).toBe(traceId);
    expect(inInvocationTrace(undefined, handler)).toBe(handler);
    propagation.disable();
    context.disable();
  });
});

describe("the process's streams", () => {
  it("a reader that goes away (EPIPE) drops the rest of the output quietly; other stream errors still surface", async () => {
    const { processIo } = await import("../../src/cli/output.js");
    const before = [process.stdout, process.stderr].map((s) => s.listenerCount("error"));
    const io = processIo();
    const epipe = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
    expect(() => process.stdout.emit("error", epipe)).not.toThrow();
    io.stdout("dropped\n");
    const other = Object.assign(new Error("write EIO"), { code: "EIO" });
    expect(() => process.stdout.emit("error", other)).toThrow("EIO");
    [process.stdout, process.stderr].forEach((s, i) => {
      for (const l of s.listeners("error").slice(before[i])) s.removeListener("error", l as () => void);
    });
  });
});

describe("manifest.json in chunks", () => {
  it("the chunks are exactly JSON.stringify(manifest) plus a newline, for 0, 1 and many items", async () => {
    const { manifestChunks, manifestDocument } = await import("../../src/domain/manifest.js");
    const item = (i: number) => ({
      kind: "secrets" as const,
      name: `s${i}`,
      blob: `daily/v/2026/11/26/r/secrets/s${i}.kvbak`,
      bytes: i,
      sha256: "a".repeat(64),
      enabled: true,
      tags: { note: '"items":[] inside a value' },
    });
    for (const n of [0, 1, 99, 100, 101, 499, 500, 501, 1234]) {
      const m = {
        schemaVersion: 2 as const,
        runId: "20261126T020000Z-abcdef",
        vault: { name: "v", url: "https://v.vault.azure.net" },
        tier: "daily" as const,
        trigger: "timer" as const,
        mode: "full" as const,
        kinds: ["secrets" as const],
        startedAt: "x",
        finishedAt: "y",
        status: "succeeded" as const,
        items: Array.from({ length: n }, (_, i) => item(i)),
        skipped: [],
        failed: [],
      };
      const whole = `${JSON.stringify(m)}\n`;
      expect(Buffer.concat([...manifestChunks(m)].map((c) => Buffer.from(c))).toString("utf8")).toBe(whole);
      // The document gives the same bytes every time it is read, and its SHA-256 is theirs.
      const doc = manifestDocument(m);
      expect(Buffer.concat([...doc.chunks()].map((c) => Buffer.from(c))).toString("utf8")).toBe(whole);
      expect(Buffer.concat([...doc.chunks()].map((c) => Buffer.from(c))).toString("utf8")).toBe(whole);
      expect(doc.sha256).toBe(createHash("sha256").update(whole).digest("hex"));
      // Items from a source (a run's packed items): the same bytes as the array.
      const fromSource = manifestDocument({ ...m, items: [] }, () => m.items.values());
      expect(Buffer.concat([...fromSource.chunks()].map((c) => Buffer.from(c))).toString("utf8")).toBe(whole);
      expect(fromSource.sha256).toBe(doc.sha256);
    }
  });
});

describe("ETags", () => {
  it("a strong ETag is recorded quoted, bare or not; a wildcard, a list or a weak tag is not one", async () => {
    const { strongEtag } = await import("../../src/domain/objects.js");
    expect(strongEtag('"0x8DD1F2A3B4C5D6E"')).toBe('"0x8DD1F2A3B4C5D6E"');
    expect(strongEtag("0x8DD1F2A3B4C5D6E")).toBe('"0x8DD1F2A3B4C5D6E"');
    for (const bad of [
      undefined,
      "",
      "*",
      '"*"',
      '"a,b"',
      "a,*",
      'W/"0x1"',
      "W/0x1",
      '"日本"',
      "a b",
      '"a"b"',
    ])
      expect(strongEtag(bad), String(bad)).toBeUndefined();
  });
});

describe("a run's items, held packed", () => {
  it("give back exactly the items added, by kind then name, whatever they hold", async () => {
    const { RunItems } = await import("../../src/backup/run/runItems.js");
    const { byKindAndName, objectBlob } = await import("../../src/domain/manifest.js");
    const prefix = "daily/v/2026/11/26/20261126T020000Z-abcdef/";
    const names = ["b", "a-b", "a", "A", "aB", "ab", "z9", "0-x", "Z"];
    const kinds = ["secrets", "keys", "certificates"] as const;
    const added = kinds.flatMap((kind, k) =>
      names.map((name, i) => ({
        kind,
        name,
        blob: objectBlob(prefix, kind, name),
        bytes: i * 100 + k,
        sha256: createHash("sha256").update(`${kind}${name}`).digest("hex"),
        ...(i % 2 ? { updatedOn: `2026-11-2${i}T10:00:00.000Z` } : {}),
        enabled: i % 3 !== 0,
        ...(i % 4 === 1 ? { contentType: 'text/"quoted"' } : {}),
        ...(i % 3 === 2 ? { tags: { env: "prod", "odd key": 'ü,"]' } } : i === 4 ? { tags: {} } : {}),
        ...(i % 2 ? { copiedFrom: "20261125T020000Z-zzzzzz" } : {}),
        ...(i % 5 ? { etag: `"0x8DD${i}"` } : {}),
      })),
    );
    // One item whose blob is not the layout path: kept as it was, never rebuilt.
    added.push({ ...added[0], name: "elsewhere", blob: "daily/other/path.kvbak" } as (typeof added)[0]);
    const items = new RunItems(prefix);
    for (const i of [...added].reverse()) items.add(i);
    expect(items.size).toBe(added.length);
    expect(items.copied).toBe(added.filter((i) => i.copiedFrom).length);
    const expected = [...added].sort(byKindAndName);
    expect(JSON.stringify([...items.sorted()])).toBe(JSON.stringify(expected));
    expect(JSON.stringify([...items.sorted()])).toBe(JSON.stringify(expected));
    expect(items.blobs()).toEqual(new Set(added.map((i) => i.blob)));
  });

  it("across many buffer chunks, an item larger than a chunk, empty strings and multi-byte text: the same items back", async () => {
    const { RunItems } = await import("../../src/backup/run/runItems.js");
    const { byKindAndName, objectBlob } = await import("../../src/domain/manifest.js");
    const prefix = "daily/v/2026/11/26/20261126T020000Z-abcdef/";
    const added = Array.from({ length: 6000 }, (_, i) => {
      const name = `s-${((i * 7919) % 6000).toString(36)}`;
      return {
        kind: i % 2 ? ("secrets" as const) : ("keys" as const),
        name,
        blob: objectBlob(prefix, i % 2 ? "secrets" : "keys", name),
        bytes: i,
        sha256: createHash("sha256").update(name).digest("hex"),
        updatedOn: i % 7 ? "2026-11-26T10:00:00.000Z" : "",
        enabled: true,
        contentType: i % 5 ? "ü€😀".repeat(i % 40) : "",
        tags: { k: "é".repeat(i % 300) },
        etag: `"0x${i}"`,
      };
    });
    added.push({ ...(added[0] as (typeof added)[0]), name: "huge", tags: { k: "😀".repeat(400_000) } });
    const items = new RunItems(prefix);
    for (const i of added) items.add(i);
    const expected = [...added].sort(byKindAndName);
    const got = [...items.sorted()];
    expect(got.length).toBe(expected.length);
    expect(JSON.stringify(got)).toBe(JSON.stringify(expected));
  });
});
