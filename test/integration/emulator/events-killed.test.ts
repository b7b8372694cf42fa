import { type ChildProcess, spawn } from "node:child_process";
import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventFolder } from "../../../src/backup/events/backupEvent.js";
import { GuardedNodeArgs } from "../../setup/guardedNode.js";
import { EventPublisher } from "../../stack/keyvault/events.js";
import type { Stack } from "../../stack/stack.js";
import { appFor, childEnv, identityCredential, kvOptions, startTestStack } from "../helpers.js";

/*
 * Issue 23's fault "function killed mid-backup": the event function's process is killed (SIGKILL,
 * as a host crash) while Key Vault's backup call is under way, and while the blob is being written.
 * The queue delivers the message again (the host removes a message only after the function
 * returns): nothing is left half-written, the version is backed up once, and a redelivery after a
 * backup that did finish is a duplicate.
 */

let stack: Stack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  stack.emulator.gate = undefined;
  await stack?.stop();
});

const guarded = GuardedNodeArgs;

/** One new version of `name` in demo-vault, and the message Event Grid queues for it. */
async function newVersionMessage(name: string): Promise<string> {
  const messages: string[] = [];
  stack.emulator.events = new EventPublisher({
    send: async (m) => {
      messages.push(m);
      return 201;
    },
  });
  const admin = new SecretClient(
    stack.vaults.demo.url,
    identityCredential(stack.identities.admin.clientId),
    kvOptions,
  );
  await admin.setSecret(name, "v1");
  await stack.emulator.events.settled();
  stack.emulator.events = undefined;
  return messages[0] as string;
}

/** The event function's process on one message; `exited` resolves with its exit (code or signal) and output. */
function eventProcess(message: string): {
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: string | null; out: string; err: string }>;
} {
  const proc = spawn(process.execPath, [...guarded, "test/integration/eventProcess.ts"], {
    env: childEnv({ ...stack.env, BACKUP_EVENTS_QUEUE: "keyvault-events", EVENT_MESSAGE: message }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stdout?.on("data", (d) => {
    out += String(d);
  });
  proc.stderr?.on("data", (d) => {
    err += String(d);
  });
  const exited = new Promise<{ code: number | null; signal: string | null; out: string; err: string }>(
    (resolve) => proc.on("exit", (code, signal) => resolve({ code, signal, out, err })),
  );
  return { proc, exited };
}

/**
 * The message delivered again, as the host does after a deferral, until it is no longer deferred:
 * a killed process's event hold (its vault's events lock) lasts until its lease expires (15 s
 * here). Every outcome before the last must be "deferred" — never a failure, never a second backup.
 */
async function redeliveredUntilTaken(message: string): Promise<Record<string, unknown>> {
  for (let attempt = 1; attempt <= 20; attempt++) {
    const r = await eventProcess(message).exited;
    expect(r.code, r.err).toBe(0);
    const result = JSON.parse(r.out) as Record<string, unknown>;
    if (result.outcome !== "deferred") return result;
  }
  throw new Error("the message stayed deferred for 20 deliveries");
}

const eventBlobs = async (name: string) => {
  const app = appFor();
  return [...(await app.blobs.list(eventFolder("demo-vault", "secrets", name))).values()];
};

/**
 * The event function's process on `message`, killed (SIGKILL) once the call `hold` picks is held:
 * `hold(stop)` installs a gate that calls stop() and never lets the call through; the gate is
 * taken away once the process is gone.
 */
async function killedWhileHeld(
  message: string,
  hold: (held: () => void) => void,
  release: () => void,
): Promise<void> {
  let arrived: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  hold(arrived);
  const first = eventProcess(message);
  const early = await Promise.race([held.then(() => undefined), first.exited]);
  expect(early, "the process ended before it reached the held call").toBeUndefined();
  first.proc.kill("SIGKILL");
  expect((await first.exited).signal).toBe("SIGKILL");
  release();
}

/** A gate that holds the call forever (its caller is killed meanwhile), after saying it has it. */
const holdForever = (arrived: () => void): Promise<void> => {
  arrived();
  return new Promise<void>(() => undefined);
};

describe("the event function killed mid-backup (issue 23)", () => {
  it("killed during Key Vault's backup call: nothing written; delivered again, backed up once; again, a duplicate", async () => {
    const message = await newVersionMessage("killed-in-backup");
    // Key Vault holds the backup call until the process is gone.
    await killedWhileHeld(
      message,
      (arrived) => {
        stack.emulator.gate = (_vault, operation) =>
          operation === "BackupSecret" ? holdForever(arrived) : undefined;
      },
      () => {
        stack.emulator.gate = undefined;
      },
    );
    expect(await eventBlobs("killed-in-backup")).toEqual([]);
    expect(await redeliveredUntilTaken(message)).toMatchObject({
      outcome: "backed-up",
      name: "killed-in-backup",
    });
    const once = eventProcess(message);
    expect(JSON.parse((await once.exited).out)).toMatchObject({ outcome: "duplicate" });
    const blobs = await eventBlobs("killed-in-backup");
    expect(blobs).toHaveLength(1);
    expect(blobs[0]?.bytes).toBeGreaterThan(0);
  });

  it("killed while the blob is being written: no partial blob; delivered again, backed up once", async () => {
    const message = await newVersionMessage("killed-in-write");
    // Storage holds the blob's PUT (the proxy has not forwarded it) until the process is gone.
    await killedWhileHeld(
      message,
      (arrived) => {
        stack.proxies.blob.gate = (method, path) =>
          method === "PUT" && path.includes("/events/demo-vault/secrets/killed-in-write/")
            ? holdForever(arrived)
            : undefined;
      },
      () => {
        stack.proxies.blob.gate = undefined;
      },
    );
    expect(await eventBlobs("killed-in-write")).toEqual([]);
    expect(await redeliveredUntilTaken(message)).toMatchObject({ outcome: "backed-up" });
    expect(await eventBlobs("killed-in-write")).toHaveLength(1);
  });
});
