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
