import { drainEvents } from "../backup/engine.js";
import { type Command, ExitCode, usageError } from "./command.js";

/** kvbackup events --drain: what waits on the events queue, worked off now (continuous protection, preview). */
export const eventsCommand: Command = {
  name: "events",
  usage: `kvbackup events --drain
  Continuous protection (preview; docs/continuous-protection.md): backs up now the object of each
  Key Vault event waiting on BACKUP_EVENTS_QUEUE, as the event function does — a backlog after an
  outage, say. Each event once: a version already held is a duplicate; another event type, a vault
  or kind not protected, or an object gone since, is skipped. An event that fails stays on the
  queue (the function retries it, then poisons it). Exit 1 when any failed, or when messages wait
  that none could take (hidden after failing, or taken by another reader).`,
  options: { drain: { type: "boolean" } },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    if (ctx.values.drain !== true)
      throw usageError("events takes --drain (work off what waits on the queue now)");
    const r = await drainEvents(ctx.app(), ctx.signal);
    if (ctx.out.json) ctx.out.document(r);
    else {
      ctx.out.out(
        `events: ${r.processed} processed — ${r.backedUp} backed up, ${r.duplicates} already held, ${r.skipped} skipped, ${r.failed} failed; about ${r.left} still on the queue`,
      );
      for (const f of r.failures) ctx.out.out(`  message ${f.messageId}: ${f.code}: ${f.message}`);
      if (r.left > 0 && r.processed === 0)
        ctx.out.out(
          "  none could be taken now: they are hidden while another reader works on them, or after failing (for up to 5 minutes)",
        );
    }
    // Not drained: something failed, or messages wait that none could take.
    return r.failed > 0 || (r.left > 0 && r.processed === 0) ? ExitCode.failed : ExitCode.ok;
  },
};
