// What engine-faults.test.ts and run-interrupts.test.ts share: a stack whose faults are cleared
// after every test, and what they read of the run's container.
import { afterAll, afterEach, beforeAll } from "vitest";
import type { Stack } from "../../stack/stack.js";
import { appFor, startTestStack } from "../helpers.js";

/**
 * A test stack for this file, started before its tests and stopped after them; after each test the
 * proxies' rules and demo-vault's faults, limits and latency are back to none. Returns the stack
 * as a getter (it exists once beforeAll ran).
 */
export function faultStack(): () => Stack {
  let stack: Stack | undefined;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterEach(() => {
    if (!stack) return;
    for (const p of Object.values(stack.proxies)) p.clearRules();
    stack.emulator.setFaults("demo-vault", { errorRate: 0, dropRate: 0 });
    stack.emulator.setLimits("demo-vault", { perTenSeconds: 4000, retryAfter: false });
    stack.emulator.setLatency("demo-vault", { fixedMs: 0, jitterMs: 0 });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  return () => {
    if (!stack) throw new Error("the stack is started in beforeAll");
    return stack;
  };
}

/** The run's container (the stack's, per file). */
export const container = (): string => process.env.BACKUP_CONTAINER as string;

/** The blob names under a prefix of the run's container. */
export const blobsUnder = async (prefix: string): Promise<string[]> => [
  ...(await appFor().blobs.list(prefix)).keys(),
];
