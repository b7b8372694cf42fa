import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addFleet, type Stack, StackSubscriptions } from "../../stack/stack.js";
import { childEnv, identityCredential, startTestStack } from "../helpers.js";

/**
 * azd's preprovision hook (infra/hooks/preprovision.mjs) against the local Resource Manager, with
 * an `azd` on PATH that hands out a token of the stack's identity, as `azd auth token` does.
 */
const exec = promisify(execFile);
let stack: Stack;
let bin: string;

beforeAll(async () => {
  stack = await startTestStack({ seed: false });
  await addFleet(stack, stack.vaults.demo);
  const token = await identityCredential(stack.identities.admin.clientId).getToken(
    "https://management.azure.com/.default",
  );
  bin = mkdtempSync(join(tmpdir(), "kvbackup-azd-"));
  writeFileSync(
    join(bin, "azd"),
    `#!/bin/sh\necho '${JSON.stringify({ token: token?.token, expiresOn: "" })}'\n`,
  );
  chmodSync(join(bin, "azd"), 0o755);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

const hook = (subscription: string, env: Record<string, string> = {}) =>
  exec(process.execPath, ["infra/hooks/preprovision.mjs"], {
    env: childEnv({
      PATH: `${bin}:${process.env.PATH ?? ""}`,
      AZURE_SUBSCRIPTION_ID: subscription,
      KVBACKUP_ARM_ENDPOINT: stack.arm.url,
      ...env,
    }),
  }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      code: e.code ?? -1,
      out: `${e.stdout}${e.stderr}`,
    }),
  );

describe("azd preprovision: the Microsoft.App resource provider (issue 21)", () => {
  it("registered: provisioning goes on; not registered: it stops before anything is created, saying how to register it", async () => {
    const ok = await hook(StackSubscriptions.a);
    expect(ok).toMatchObject({ code: 0, out: expect.stringContaining("Microsoft.App is registered") });
    stack.arm.setRegistration(StackSubscriptions.a, "Microsoft.App", "NotRegistered");
    const refused = await hook(StackSubscriptions.a);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain("the Microsoft.App resource provider is NotRegistered");
    expect(refused.out).toContain(
      `az provider register --namespace Microsoft.App --subscription ${StackSubscriptions.a} --wait`,
    );
  });

  it("when it cannot check (a subscription Resource Manager does not know), it says so and does not block", async () => {
    const r = await hook("00000000-0000-0000-0000-0000000000ee");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /could not check that Microsoft\.App is registered \(Resource Manager answered 404 SubscriptionNotFound\)/,
    );
  });
});

describe("azd preprovision with continuous protection (issue 23)", () => {
  it("checks Microsoft.EventGrid where the vaults and the discovery subscriptions are, and Microsoft.PolicyInsights where the policy remediates", async () => {
    const env = {
      KVBACKUP_CONTINUOUS_PROTECTION: "true",
      KVBACKUP_VAULTS: JSON.stringify([
        { name: "kv-a", resourceGroup: "rg" },
        { name: "kv-b", resourceGroup: "rg", subscriptionId: StackSubscriptions.b },
      ]),
      KVBACKUP_DISCOVERY_SUBSCRIPTIONS: StackSubscriptions.b,
    };
    stack.arm.setRegistration(StackSubscriptions.a, "Microsoft.App", "Registered");
    const ok = await hook(StackSubscriptions.a, env);
    expect(ok.code).toBe(0);
    for (const line of [
      `Microsoft.EventGrid is registered in subscription ${StackSubscriptions.a}`,
      `Microsoft.EventGrid is registered in subscription ${StackSubscriptions.b}`,
      `Microsoft.PolicyInsights is registered in subscription ${StackSubscriptions.b}`,
    ])
      expect(ok.out).toContain(line);
    stack.arm.setRegistration(StackSubscriptions.b, "Microsoft.EventGrid", "NotRegistered");
    const refused = await hook(StackSubscriptions.a, env);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain(
      `the Microsoft.EventGrid resource provider is NotRegistered in subscription ${StackSubscriptions.b}: continuous protection makes each vault's Event Grid system topic there`,
    );
    // Without continuous protection, nothing of it is checked.
    const off = await hook(StackSubscriptions.a, { ...env, KVBACKUP_CONTINUOUS_PROTECTION: "false" });
    expect(off.code).toBe(0);
    expect(off.out).not.toContain("Microsoft.EventGrid");
    stack.arm.setRegistration(StackSubscriptions.b, "Microsoft.EventGrid", "Registered");
  });
});
