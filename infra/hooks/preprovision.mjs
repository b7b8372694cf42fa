// azd's preprovision hook: what the template needs and cannot create, checked before anything is
// created. Flex Consumption's VNet integration delegates the Function subnet to
// Microsoft.App/environments, which needs the Microsoft.App resource provider registered in the
// subscription; without it the deployment fails half-way with MissingSubscriptionRegistration.
// Plain Node, nothing installed: it runs before `npm ci`. The token comes from azd itself.
import { execFileSync } from "node:child_process";

const namespace = "Microsoft.App";
const subscription = process.env.AZURE_SUBSCRIPTION_ID;
// Sovereign clouds (and the local stack's emulated Resource Manager): KVBACKUP_ARM_ENDPOINT.
const arm = (process.env.KVBACKUP_ARM_ENDPOINT || "https://management.azure.com").replace(/\/+$/, "");
const register = `az provider register --namespace ${namespace} --subscription ${subscription} --wait`;

/** Says it could not check (never blocks a deployment on its own failure) and what to do if azd then fails. */
function unchecked(why) {
  console.log(
    `kvbackup preprovision: could not check that ${namespace} is registered (${why}). If provisioning fails with MissingSubscriptionRegistration: ${register}`,
  );
  process.exit(0);
}

if (!subscription) unchecked("AZURE_SUBSCRIPTION_ID is not set");
let token;
try {
  const out = execFileSync("azd", ["auth", "token", "--output", "json", "--scope", `${arm}/.default`], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  token = JSON.parse(out).token;
} catch (e) {
  unchecked(`azd auth token: ${String(e.stderr || e.message).split("\n")[0]}`);
}
let state;
try {
  const res = await fetch(
    `${arm}/subscriptions/${subscription}/providers/${namespace}?api-version=2021-04-01`,
    {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(30_000),
    },
  );
  const body = await res.json().catch(() => ({}));
  if (!res.ok) unchecked(`Resource Manager answered ${res.status} ${body?.error?.code ?? ""}`.trim());
  state = body.registrationState;
} catch (e) {
  unchecked(e?.cause?.code ?? e?.name ?? String(e));
}
if (state === "Registered") {
  console.log(`kvbackup preprovision: ${namespace} is registered in subscription ${subscription}.`);
  process.exit(0);
}
console.error(
  `kvbackup preprovision: the ${namespace} resource provider is ${state ?? "not registered"} in subscription ${subscription}: Flex Consumption's VNet integration needs it (the Function subnet is delegated to Microsoft.App/environments). Register it (it takes a minute or two; it needs */register/action, e.g. Contributor on the subscription), then run azd up again:\n  ${register}`,
);
process.exit(1);
