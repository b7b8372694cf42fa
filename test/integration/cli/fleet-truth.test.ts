import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GuardedNodeArgs } from "../../setup/guardedNode.js";
import { RestoreOperatorRole } from "../../stack/keyvault/roles.js";
import { addDrillVault, addFleet, type Stack, StackSubscriptions } from "../../stack/stack.js";
import { childEnv, DoctorKeys, quickOperatorApp, runCli, startTestStack } from "../helpers.js";

/**
 * Issue 20 on the local Azure, through the real SDKs: the fleet-wide word (the CLI's planning, a
 * vault that is gone), the identity failing, and diagnoses that name the right vault and role.
 */

let stack: Stack;
let fleetEnv: Record<string, string>;
const kvbackup = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, { ...stack.env, ...fleetEnv, ...env }, quickOperatorApp);

/** A loopback port nothing listens on: the identity endpoint, down. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const exec = promisify(execFile);
/** Node, with tsx and the network guard loaded first: the test's own rules hold in the child too. */
const guarded = GuardedNodeArgs;

/**
 * A program in a process of its own with the stack's settings plus `env`: the identity library keeps
 * the managed identity endpoint it first saw for the life of a process, as in Azure, so a broken
 * identity is tested in a fresh one. Exit code, stdout (one JSON document) and the wall time.
 */
async function child(program: string[], env: Record<string, string>) {
  const started = Date.now();
  const run = exec(process.execPath, [...guarded, ...program], {
    env: childEnv({ ...stack.env, ...fleetEnv, ...env }),
    timeout: 120_000,
  });
  const out = await run.then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code?: number; stdout?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? "" }),
  );
  return {
    ...out,
    json: JSON.parse(out.stdout || "null"),
    ms: Date.now() - started,
  };
}

/** Wall times of the identity cases, for the note (not asserted: speed is the benchmark's). */
const measured: Record<string, number> = {};

const subscriptionB = () => ({
  principalId: stack.identities.app.principalId,
  subscription: StackSubscriptions.b,
  role: { name: "Key Vault Discovery Reader", actions: ["Microsoft.KeyVault/vaults/read"] },
});

beforeAll(async () => {
  stack = await startTestStack();
  fleetEnv = await addFleet(stack, stack.vaults.demo);
}, 60_000);
afterEach(() => {
  stack.arm.assign(subscriptionB());
  for (const p of Object.values(stack.proxies)) p.clearRules();
});
afterAll(async () => {
  await stack?.stop();
});

// Concurrent: both wait on the identity (the hanging endpoint for its 15 s bound) and change nothing.
describe.concurrent("the identity failing: named, in seconds, every check still listed", () => {
  it("the identity endpoint down: kvbackup doctor lists every check with IdentityUnavailable, not an unknown storage answer; one that accepts and never answers: the same, and the CLI exits", async () => {
    const dead = `http://127.0.0.1:${await deadPort()}/msi/token`;
    // An endpoint that takes the connection and never answers (adversary): bounded, named, and the
    // process ends (it used to answer, then stay alive on the open socket).
    const held = new Set<Socket>();
    const silent = createServer((socket) => void held.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const hanging = `http://127.0.0.1:${(silent.address() as { port: number }).port}/msi/token`;
    const [r, hung, wrong] = await Promise.all([
      child(["bin/kvbackup.mjs", "doctor", "--json"], { IDENTITY_ENDPOINT: dead }),
      child(["bin/kvbackup.mjs", "doctor", "--json"], { IDENTITY_ENDPOINT: hanging }),
      child(["bin/kvbackup.mjs", "doctor", "--json"], {
        AZURE_CLIENT_ID: "6d8f9c1a-0000-4000-8000-00000000beef",
      }),
    ]).finally(() => {
      for (const socket of held) socket.destroy();
      return new Promise((resolve) => silent.close(resolve));
    });
    measured.doctorIdentityHanging = hung.ms;
    expect(hung.code).toBe(1);
    expect(hung.json.storage.checks.blob.diagnosis).toMatchObject({
      code: "IdentityUnavailable",
      cause: expect.stringContaining("no token within 15 s"),
    });
    measured.doctorIdentityDown = r.ms;
    expect(r.code).toBe(1);
    expect(Object.keys(r.json).sort()).toEqual(DoctorKeys);
    expect(r.json.identity).toBeNull();
    for (const c of Object.values(r.json.storage.checks) as {
      ok: boolean;
      diagnosis: { code: string; cause: string };
    }[]) {
      expect(c.ok).toBe(false);
      expect(c.diagnosis.code).toBe("IdentityUnavailable");
      expect(c.diagnosis.cause).toContain("Storage was never called");
    }
    expect(r.json.discovery.map((d: { diagnosis: { code: string } }) => d.diagnosis.code)).toEqual([
      "IdentityUnavailable",
      "IdentityUnavailable",
    ]);
    expect(r.json.vaults[0].kinds.secrets.diagnosis.code).toBe("IdentityUnavailable");
    expect(wrong.code).toBe(1);
    expect(wrong.json.storage.checks.blob.diagnosis.code).toBe("IdentityNotAssigned");
  }, 120_000);

  it("the Function's /api/health with the endpoint down, and with an AZURE_CLIENT_ID no identity of the app has", async () => {
    const dead = `http://127.0.0.1:${await deadPort()}/msi/token`;
    const down = await child(["test/integration/functionProcess.ts"], { IDENTITY_ENDPOINT: dead });
    measured.healthIdentityDown = down.json.ms;
    expect(down.json.status).toBe(503);
    expect(down.json.body.storage.diagnosis.code).toBe("IdentityUnavailable");
    expect(down.json.body.storage.diagnosis.cause).toContain(
      "the Function's managed identity (system-assigned)",
    );
    const clientId = "6d8f9c1a-0000-4000-8000-00000000beef";
    const wrong = await child(["test/integration/functionProcess.ts"], { AZURE_CLIENT_ID: clientId });
    measured.healthWrongClientId = wrong.json.ms;
    expect(wrong.json.status).toBe(503);
    expect(wrong.json.body.vaults[0].kinds.secrets.diagnosis.code).toBe("IdentityNotAssigned");
    expect(wrong.json.body.vaults[0].kinds.secrets.diagnosis.cause).toContain(clientId);
    process.stderr.write(`identity failure timings (ms): ${JSON.stringify(measured)}\n`);
  }, 120_000);
});

describe("the CLI signs in as the operator and says as whom (issue 21)", () => {
  it("--settings FILE from a shell that sourced nothing: the file's identity endpoint and CA are used; doctor names who it signed in as", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "kvbackup-settings-")), "stack.env");
    const settings = {
      ...stack.env,
      ...fleetEnv,
      NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? "",
    };
    writeFileSync(
      file,
      Object.entries(settings)
        .map(([k, v]) => `${k}='${v}'`)
        .join("\n"),
    );
    // Only PATH and HOME: no IDENTITY_ENDPOINT, no NODE_EXTRA_CA_CERTS in this process's environment.
    const r = await exec(
      process.execPath,
      [...guarded, "bin/kvbackup.mjs", "doctor", "--json", "--settings", file],
      {
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
        timeout: 120_000,
      },
    ).then(
      (x) => ({ code: 0, stdout: x.stdout }),
      (e: { code?: number; stdout?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? "" }),
    );
    const doc = JSON.parse(r.stdout);
    expect(doc.storage.ok).toBe(true);
    expect(r.code).toBe(0);
    expect(doc.identity).toMatchObject({
      via: "ManagedIdentityCredential",
      kind: "app",
      oid: stack.identities.app.principalId,
    });
  }, 120_000);
});

describe("the fleet-wide word on the local Azure", () => {
  it("backup --vault of a vault whose subscription cannot be read: exit 1 naming ArmForbidden, not bad usage", async () => {
    stack.arm.unassign(stack.identities.app.principalId, StackSubscriptions.b);
    const r = await kvbackup(["backup", "--vault", "team-b-kv", "--json"]);
    expect(r.code).toBe(1);
    expect(r.json.error).toMatchObject({ code: "DiscoveryIncomplete", diagnosis: { code: "ArmForbidden" } });
  });

  it("a vault gone from discovery: list and restore --to read its backups without editing BACKUP_VAULTS", async () => {
    const b = await kvbackup(["backup", "--vault", "team-b-kv", "--json"]);
    expect(b.code).toBe(0);
    const runId = b.json.runs[0].runId as string;
    stack.arm.unassign(stack.identities.app.principalId, StackSubscriptions.b);
    const list = await kvbackup(["list", "--vault", "team-b-kv", "--json"]);
    expect(list.code).toBe(0);
    expect(list.json.runs.map((r: { runId: string }) => r.runId)).toEqual([runId]);
    const restore = await kvbackup([
      "restore",
      "latest",
      "--vault",
      "team-b-kv",
      "--to",
      "restore-vault",
      "--json",
    ]);
    expect(restore.code).toBe(0);
    expect(restore.json.status).toBe("succeeded");
    const report = await kvbackup(["report", "--json"]);
    const gone = report.json.vaults.find((v: { vault: string }) => v.vault === "team-b-kv");
    expect(gone).toMatchObject({ verdict: "at risk", notInFleet: { code: "VaultNoLongerFound" } });
    expect(report.code).toBe(1);
  }, 60_000);
});

describe("diagnoses name the right vault and the right role", () => {
  it("a restore target that refuses listing: doctor names the Restore Operator role; a table refused: the Table data role", async () => {
    stack.emulator.removeRoles("restore-vault", stack.identities.app.principalId);
    try {
      const r = await kvbackup(["doctor", "--json"], { BACKUP_KINDS: "secrets" });
      const d = r.json.restoreTargets[0].restore.secrets.diagnosis;
      expect(d.code).toBe("KeyVaultRbac");
      expect(d.fix).toContain("Key Vault Restore Operator");
      expect(d.fix).not.toContain("Key Vault Backup Operator");
    } finally {
      stack.emulator.assignRole("restore-vault", {
        principalId: stack.identities.app.principalId,
        role: RestoreOperatorRole,
      });
    }
    stack.proxies.table.addRule({ fault: "AuthorizationPermissionMismatch" });
    const t = await kvbackup(["doctor"], { BACKUP_KINDS: "secrets" });
    expect(t.code).toBe(1);
    expect(t.stdout).toMatch(/FAIL inventory table[^\n]*\n\s+StorageRbac: [^\n]*table '/);
    expect(t.stdout).toMatch(
      /fix: Assign "Storage Table Data Contributor"[^\n]*tableServices\/default\/tables\//,
    );
  }, 60_000);

  it("a role scoped to the table may not create tables: an existing table is used, a missing one is named (issue 21)", async () => {
    // The data-plane Create Table is refused under a table-scoped role, as in Azure; the infra made the table.
    stack.proxies.table.addRule({
      method: "POST",
      pathPrefix: "/Tables",
      fault: "AuthorizationPermissionMismatch",
    });
    const ok = await kvbackup(["doctor", "--json"], { BACKUP_KINDS: "secrets" });
    expect(ok.json.storage.checks.table).toEqual({ ok: true });
    const missing = await kvbackup(["doctor", "--json"], {
      BACKUP_KINDS: "secrets",
      BACKUP_INVENTORY_TABLE: "nosuchtable",
    });
    expect(missing.code).toBe(1);
    expect(missing.json.storage.checks.table.diagnosis).toMatchObject({
      code: "StorageResourceMissing",
      cause: expect.stringContaining("table 'nosuchtable' does not exist"),
      fix: expect.stringContaining("az storage table create"),
    });
  }, 60_000);

  it("a drill whose source vault refuses it names the source vault, not the scratch vault", async () => {
    expect((await kvbackup(["backup", "--vault", "demo-vault"])).code).toBe(0);
    const scratch = await addDrillVault(stack, `drill-${Math.random().toString(36).slice(2, 7)}`);
    stack.emulator.setNetwork("demo-vault", { defaultAction: "Deny" });
    try {
      const r = await kvbackup(["drill", "--vault", "demo-vault", "--json"], scratch.env);
      expect(r.code).toBe(1);
      const d = r.json.drills[0].diagnosis;
      expect(d.code).toBe("KeyVaultFirewall");
      expect(d.cause).toContain("'demo-vault'");
      expect(d.cause).not.toContain(scratch.vault.name);
    } finally {
      stack.emulator.setNetwork("demo-vault", { defaultAction: "Allow" });
    }
  }, 60_000);
});
