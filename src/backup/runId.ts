import { randomBytes } from "node:crypto";

const Base32 = "abcdefghijklmnopqrstuvwxyz234567";
export const RunIdPattern = /^\d{8}T\d{6}Z-[a-z2-7]{6}$/;

/** `{yyyyMMdd'T'HHmmss'Z'}-{6 base32 chars}`: sorts by time, unique in practice. */
export function newRunId(at: Date = new Date()): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
  const bytes = randomBytes(6);
  let suffix = "";
  for (const b of bytes) suffix += Base32[b & 31];
  return `${stamp}-${suffix}`;
}

/** The run's start time, from its id. */
export function runIdTime(runId: string): Date {
  const m = runId.match(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/);
  if (!m) throw new Error(`not a runId: ${runId}`);
  return new Date(
    Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])),
  );
}
