import { discoverFleet } from "../backup/engine.js";
import { type Command, ExitCode } from "./command.js";
import { diagnosisLines } from "./output.js";

/** kvbackup discover: what the timer would back up, and why each vault is in or out. */
export const discoverCommand: Command = {
  name: "discover",
  usage: `kvbackup discover
  Shows what would be backed up and why: each vault listed in BACKUP_VAULTS, each Key Vault found in
  the BACKUP_SUBSCRIPTIONS subscriptions that carries BACKUP_VAULT_TAG, and each one found but left
  out (with the reason). Exit 1 when a subscription cannot be read (its diagnosis is printed).`,
  options: {},
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const fleet = await discoverFleet(ctx.app(), ctx.signal);
    const { out } = ctx;
    const code = fleet.unread.length ? ExitCode.failed : ExitCode.ok;
    if (out.json) {
      out.document({
        vaults: fleet.vaults.map((v) => ({
          name: v.name,
          url: v.url,
          source: v.source,
          ...(v.subscription ? { subscription: v.subscription } : {}),
          ...(v.tags ? { tags: v.tags } : {}),
        })),
        excluded: fleet.excluded,
        unread: fleet.unread,
      });
      return code;
    }
    for (const v of fleet.vaults)
      out.out(
        `backed up  ${v.name.padEnd(24)} ${v.source === "listed" ? "listed in BACKUP_VAULTS" : `discovered in ${v.subscription}`}  ${v.url}`,
      );
    for (const x of fleet.excluded)
      out.out(`left out   ${x.name.padEnd(24)} ${x.subscription ? `in ${x.subscription}: ` : ""}${x.reason}`);
    for (const u of fleet.unread)
      out.out(`FAIL subscription ${u.subscription}:\n${diagnosisLines(u.diagnosis, "     ")}`);
    out.out(
      `${fleet.vaults.length} vault(s) backed up, ${fleet.excluded.length} left out${fleet.unread.length ? `, ${fleet.unread.length} subscription(s) not read` : ""}`,
    );
    return code;
  },
};
