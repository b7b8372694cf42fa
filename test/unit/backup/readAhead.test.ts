import { describe, expect, it } from "vitest";
import { readAhead } from "../../../src/backup/pool.js";

/** A source of pages that records when each was asked for and whether it was closed. */
function pages(count: number, failAt?: number) {
  const log: string[] = [];
  let closed = false;
  const source: AsyncIterable<number> = {
    [Symbol.asyncIterator]() {
      let n = 0;
      return {
        next: async () => {
          n++;
          log.push(`ask ${n}`);
          if (n === failAt) throw new Error(`page ${n} failed`);
          return n > count ? { done: true, value: undefined } : { done: false, value: n };
        },
        return: async () => {
          closed = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return { source, log, closed: () => closed };
}

describe("readAhead (the listing's next page asked for while the current one is worked on)", () => {
  it("asks for the next page before the consumer has finished with the current one, and yields every page in order", async () => {
    const p = pages(3);
    const seen: number[] = [];
    for await (const page of readAhead(p.source)) {
      seen.push(page);
      p.log.push(`work ${page}`);
    }
    expect(seen).toEqual([1, 2, 3]);
    // Page 2 was asked for before page 1's work, page 3 before page 2's.
    expect(p.log.slice(0, 4)).toEqual(["ask 1", "ask 2", "work 1", "ask 3"]);
  });

  it("a page that fails surfaces in its turn, after the pages before it; the source is closed", async () => {
    const p = pages(5, 3);
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const page of readAhead(p.source)) seen.push(page);
      })(),
    ).rejects.toThrow("page 3 failed");
    expect(seen).toEqual([1, 2]);
    expect(p.closed()).toBe(true);
  });

  it("a consumer that stops early closes the source, and asks for at most one page more", async () => {
    const p = pages(100);
    for await (const page of readAhead(p.source)) if (page === 2) break;
    expect(p.closed()).toBe(true);
    expect(p.log.filter((l) => l.startsWith("ask"))).toHaveLength(3);
  });
});
