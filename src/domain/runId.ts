import { randomBytes } from "node:crypto";

const Base32 = "abcdefghijklmnopqrstuvwxyz234567";
/** The same 32 characters in the order they sort in: time digits written with it sort as numbers. */
const Sorted = "234567abcdefghijklmnopqrstuvwxyz";

/**
 * `{yyyyMMdd'T'HHmmss'Z'}-{6 base32 chars}`: the first two chars are the millisecond (so runs
 * started in the same second still sort by time), the last four are random (unique in practice).
 */
export function newRunId(at: Date = new Date(), prefix = ""): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
  const ms = at.getUTCMilliseconds();
  let suffix = `${Sorted[ms >> 5]}${Sorted[ms & 31]}`;
  for (const b of randomBytes(4)) suffix += Base32[b & 31];
  return `${prefix}${stamp}-${suffix}`;
}

/** The run's start time, from its id, to the millisecond (undefined for a string that is not one). */
export function runIdTime(runId: string): Date | undefined {
  const m = runId.match(/^r?(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-([a-z2-7])([a-z2-7])/);
  if (!m) return undefined;
  const ms = Math.min(999, Sorted.indexOf(m[7] as string) * 32 + Sorted.indexOf(m[8] as string));
  return new Date(
    Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms),
  );
}
