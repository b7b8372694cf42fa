// azd's preprovision hook: what the template needs and cannot create, checked before anything is
// created — the resource providers each subscription must have registered, or the deployment fails
// half-way with MissingSubscriptionRegistration:
// - Microsoft.App in this subscription: Flex Consumption's VNet integration delegates the Function
//   subnet to Microsoft.App/environments;
// - with continuous protection (KVBACKUP_CONTINUOUS_PROTECTION=true): Microsoft.EventGrid in every
//   subscription that holds a listed vault (its system topic lives there) and in every discovery
//   subscription (the policy makes topics there), and Microsoft.PolicyInsights in every discovery
//   subscription (the policy's remediation).
// Plain Node, nothing installed: it runs before `npm ci`. The token comes from azd itself. A check
// it cannot make is said, never a reason to block.
import { execFileSync } from "node:child_process";

const subscription = process.env.AZURE_SUBSCRIPTION_ID;
// Sovereign clouds (and the local stack's emulated Resource Manager): KVBACKUP_ARM_ENDPOINT.
const arm = (process.env.KVBACKUP_ARM_ENDPOINT || "https://management.azure.com").replace(/\/+$/, "");
const register = (namespace, sub) =>
  `az provider register --namespace ${namespace} --subscription ${sub} --wait`;

/** What to check: [namespace, subscription, why]. */
function needed() {
  const out = [
    [
      "Microsoft.App",
      subscription,
      "Flex Consumption's VNet integration needs it (the Function subnet is delegated to Microsoft.App/environments)",
    ],
  ];
  if ((process.env.KVBACKUP_CONTINUOUS_PROTECTION ?? "").trim().toLowerCase() !== "true") return out;
  let vaults = [];
  try {
    vaults = JSON.parse(process.env.KVBACKUP_VAULTS || "[]");
  } catch {
    vaults = []; // The template says what is wrong with it.
  }
  const vaultSubs = new Set(
    (Array.isArray(vaults) ? vaults : []).map(
      (v) => (v && typeof v.subscriptionId === "string" && v.subscriptionId) || subscription,
    ),
  );
  const discovery = new Set(
    (process.env.KVBACKUP_DISCOVERY_SUBSCRIPTIONS ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
  for (const sub of new Set([...vaultSubs, ...discovery]))
    out.push([
      "Microsoft.EventGrid",
      sub,
      "continuous protection makes each vault's Event Grid system topic there",
    ]);
  for (const sub of discovery)
    out.push([
      "Microsoft.PolicyInsights",
      sub,
      "continuous protection's policy remediates the vaults discovered there",
    ]);
  return out;
}

if (!subscription) {
  console.log(
    `kvbackup preprovision: could not check the resource providers (AZURE_SUBSCRIPTION_ID is not set). If provisioning fails with MissingSubscriptionRegistration: ${register("Microsoft.App", "<subscription>")}`,
  );
  process.exit(0);
}
let token;
try {
  const out = execFileSync("azd", ["auth", "token", "--output", "json", "--scope", `${arm}/.default`], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  token = JSON.parse(out).token;
} catch (e) {
  console.log(
    `kvbackup preprovision: could not check that Microsoft.App is registered (azd auth token: ${String(e.stderr || e.message).split("\n")[0]}). If provisioning fails with MissingSubscriptionRegistration: ${register("Microsoft.App", subscription)}`,
  );
  process.exit(0);
}

/** The namespace's registration state in the subscription, or why it could not be read. */
async function stateOf(namespace, sub) {
  try {
    const res = await fetch(`${arm}/subscriptions/${sub}/providers/${namespace}?api-version=2021-04-01`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(30_000),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok)
      return { unchecked: `Resource Manager answered ${res.status} ${body?.error?.code ?? ""}`.trim() };
    return { state: body.registrationState };
  } catch (e) {
    return { unchecked: e?.cause?.code ?? e?.name ?? String(e) };
  }
}

let failed = false;
for (const [namespace, sub, why] of needed()) {
  const r = await stateOf(namespace, sub);
  if (r.unchecked)
    console.log(
      `kvbackup preprovision: could not check that ${namespace} is registered (${r.unchecked}). If provisioning fails with MissingSubscriptionRegistration: ${register(namespace, sub)}`,
    );
  else if (r.state === "Registered")
    console.log(`kvbackup preprovision: ${namespace} is registered in subscription ${sub}.`);
  else {
    failed = true;
    console.error(
      `kvbackup preprovision: the ${namespace} resource provider is ${r.state ?? "not registered"} in subscription ${sub}: ${why}. Register it (it takes a minute or two; it needs */register/action, e.g. Contributor on the subscription), then run azd up again:\n  ${register(namespace, sub)}`,
    );
  }
}
process.exit(failed ? 1 : 0);
