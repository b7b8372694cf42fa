import { app } from "@azure/functions";
import type { EngineDeps } from "../backup/engine.js";
import { Queues } from "../domain/config.js";
import { getBackup, listBackups, postBackups } from "./backupsApi.js";
import { getReport, postDrills, scheduledDrill } from "./drillsApi.js";
import { getHealth } from "./healthApi.js";
import { getRestore, postRestores } from "./restoresApi.js";
import { scheduledBackup } from "./scheduledBackup.js";
import { StatusSchedule, scheduledStatus } from "./scheduledStatus.js";
import { backupWorker, eventWorker, restoreWorker } from "./workers.js";

/** The triggers: thin adapters from bindings to the engine, all sharing one set of dependencies. */
export function registerFunctions(deps: EngineDeps): void {
  // A timer that fails to enqueue (storage briefly unreachable) tries again a few times; queue
  // messages retry by dequeue count (host.json: 5, then the poison queue).
  const timer = scheduledBackup(deps);
  app.timer("scheduledBackup", {
    retry: {
      strategy: "exponentialBackoff",
      maxRetryCount: 4,
      minimumInterval: { seconds: 10 },
      maximumInterval: { minutes: 5 },
    },
    schedule: "%BACKUP_SCHEDULE%",
    handler: async (t, context) => {
      await timer(t, context);
    },
  });
  // The status the alerts read, hourly: a failure here shows as "kvbackup is silent".
  const status = scheduledStatus(deps);
  app.timer("scheduledStatus", {
    schedule: StatusSchedule,
    handler: async (t, context) => {
      await status(t, context);
    },
  });
  // Both queues use the storage connection of the identity form (BACKUP_STORAGE__*), the Functions convention.
  const queues = [
    ["backupWorker", Queues.backup, backupWorker(deps)],
    ["restoreWorker", Queues.restore, restoreWorker(deps)],
  ] as const;
  for (const [name, queueName, worker] of queues) {
    app.storageQueue(name, {
      queueName,
      connection: "BACKUP_STORAGE",
      handler: async (message, context) => {
        await worker(message, context);
      },
    });
  }
  // Continuous protection (preview) only where its queue is set (BACKUP_EVENTS_QUEUE).
  const events = deps.config.eventsQueue;
  if (events) {
    const worker = eventWorker(deps);
    app.storageQueue("eventWorker", {
      queueName: events,
      connection: "BACKUP_STORAGE",
      handler: async (message, context) => {
        await worker(message, context);
      },
    });
  }
  const http = { authLevel: "function" } as const;
  app.http("postBackups", { ...http, methods: ["POST"], route: "backups", handler: postBackups(deps) });
  app.http("listBackups", { ...http, methods: ["GET"], route: "backups", handler: listBackups(deps) });
  app.http("getBackup", { ...http, methods: ["GET"], route: "backups/{runId}", handler: getBackup(deps) });
  app.http("postRestores", { ...http, methods: ["POST"], route: "restores", handler: postRestores(deps) });
  app.http("getRestore", { ...http, methods: ["GET"], route: "restores/{id}", handler: getRestore(deps) });
  app.http("getHealth", { ...http, methods: ["GET"], route: "health", handler: getHealth(deps) });
  app.http("postDrills", { ...http, methods: ["POST"], route: "drills", handler: postDrills(deps) });
  app.http("getReport", { ...http, methods: ["GET"], route: "report", handler: getReport(deps) });
  // The drill timer only where drills have a scratch vault (BACKUP_DRILL_VAULT); its schedule is
  // the validated BACKUP_DRILL_SCHEDULE (default Sundays 04:00 UTC).
  if (deps.config.drillVault) {
    const drills = scheduledDrill(deps);
    app.timer("scheduledDrill", {
      schedule: deps.config.drillSchedule,
      handler: async (t, context) => {
        await drills(t, context);
      },
    });
  }
}
