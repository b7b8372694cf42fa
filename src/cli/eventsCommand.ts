import { deadLetterFacts, drainEvents, replayDeadLetters } from "../backup/engine.js";
import { eventsDeadLettered } from "../diagnosis/events.js";
import { type Command, ExitCode, usageError } from "./command.js";

/** kvbackup events: what waits on the events queue, or in Event Grid's dead letters, worked off now (continuous protection, preview). */
export const eventsCommand: Command = {
  name: "events",
  usage: `kvbackup events --drain | --dead-letters | --replay-dead-letters
  Continuous protection (preview; docs/continuous-protection.md).
  --drain                backs up now the object of each Key Vault event waiting on BACKUP_EVENTS_QUEUE,
                         as the event function does — a backlog after an outage, say. Each event once:
                         a version already held is a duplicate; another event type, a vault or kind not
                         protected, or an object gone since, is skipped. An event that fails stays on
                         the queue (the function retries it, then poisons it). Exit 1 when any failed,
                         or when messages wait that none could take.
  --dead-letters         says what Event Grid could not deliver to the queue and dead-lettered into
                         BACKUP_EVENTS_DEADLETTER_CONTAINER, and the likely cause. Exit 1 when there are any.
  --replay-dead-letters  backs up what each dead letter names (each version once) and removes the dead
                         letters it took care of; one it cannot read, or whose backup fails, is kept.
                         Exit 1 when any is kept.`,
  options: {
    drain: { type: "boolean" },
    "dead-letters": { type: "boolean" },
    "replay-dead-letters": { type: "boolean" },
  },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const asked = (["drain", "dead-letters", "replay-dead-letters"] as const).filter(
      (o) => ctx.values[o] === true,
    );
    if (asked.length !== 1)
      throw usageError(
        "events takes one of --drain (work off the queue), --dead-letters (what Event Grid could not deliver), --replay-dead-letters (back those up)",
      );
    const app = ctx.app();
    if (asked[0] !== "drain" && !app.deadLetters)
      throw usageError(
        "BACKUP_EVENTS_DEADLETTER_CONTAINER is not set: it names the container the event subscriptions dead-letter into (the infra sets it with continuousProtection)",
      );
    if (asked[0] === "dead-letters") {
      const facts = await deadLetterFacts(app, ctx.signal);
      const diagnosis = facts ? eventsDeadLettered(facts) : undefined;
      if (ctx.out.json) ctx.out.document({ ok: !facts, ...(facts ? { deadLetters: facts, diagnosis } : {}) });
      else if (!diagnosis) ctx.out.out(`dead letters: none in '${app.deadLetters?.container}'`);
      else {
        ctx.out.out(`dead letters: ${diagnosis.cause}`);
        ctx.out.out(`  fix: ${diagnosis.fix}`);
      }
      return facts ? ExitCode.failed : ExitCode.ok;
    }
    if (asked[0] === "replay-dead-letters") {
      const r = await replayDeadLetters(app, ctx.signal);
      if (ctx.out.json) ctx.out.document(r);
      else {
        ctx.out.out(
          `dead letters: ${r.blobs} read, ${r.events} event(s) — ${r.backedUp} backed up, ${r.duplicates} already held, ${r.skipped} skipped, ${r.deferred} deferred, ${r.failed} failed; ${r.removed} removed, ${r.kept} kept${r.more ? "; more wait: run it again" : ""}`,
        );
        for (const f of r.failures) ctx.out.out(`  ${f.blob}: ${f.message}`);
      }
      return r.kept > 0 || r.more ? ExitCode.failed : ExitCode.ok;
    }
    const r = await drainEvents(app, ctx.signal);
    if (ctx.out.json) ctx.out.document(r);
    else {
      ctx.out.out(
        `events: ${r.processed} processed — ${r.backedUp} backed up, ${r.duplicates} already held, ${r.skipped} skipped, ${r.deferred} deferred, ${r.failed} failed; about ${r.left} still on the queue`,
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
