import { app } from "@azure/functions";
import { Queues } from "../config.js";
import { getBackup, listBackups, postBackups } from "./backupsApi.js";
import { backupWorker } from "./backupWorker.js";
import { getHealth } from "./healthApi.js";
import { getRestore, postRestores, restoreWorker } from "./restoresApi.js";
import { scheduledBackup } from "./scheduledBackup.js";

/** The triggers: thin adapters from bindings to the engine. */
export function registerFunctions(): void {
  // A timer that fails to enqueue (storage briefly unreachable) tries again a few times; queue
  // messages retry by dequeue count (host.json: 5, then the poison queue).
  app.timer("scheduledBackup", {
    retry: {
      strategy: "exponentialBackoff",
      maxRetryCount: 4,
      minimumInterval: { seconds: 10 },
      maximumInterval: { minutes: 5 },
    },
    schedule: "%BACKUP_SCHEDULE%",
    handler: (timer, context) => scheduledBackup(timer, context).then(() => undefined),
  });
  app.storageQueue("backupWorker", {
    queueName: Queues.backup,
    connection: "BACKUP_STORAGE",
    handler: (message, context) => backupWorker(message, context).then(() => undefined),
  });
  app.http("postBackups", {
    methods: ["POST"],
    route: "backups",
    authLevel: "function",
    handler: postBackups,
  });
  app.http("listBackups", {
    methods: ["GET"],
    route: "backups",
    authLevel: "function",
    handler: listBackups,
  });
  app.http("getBackup", {
    methods: ["GET"],
    route: "backups/{runId}",
    authLevel: "function",
    handler: getBackup,
  });
  app.storageQueue("restoreWorker", {
    queueName: Queues.restore,
    connection: "BACKUP_STORAGE",
    handler: (message, context) => restoreWorker(message, context).then(() => undefined),
  });
  app.http("postRestores", {
    methods: ["POST"],
    route: "restores",
    authLevel: "function",
    handler: postRestores,
  });
  app.http("getRestore", {
    methods: ["GET"],
    route: "restores/{id}",
    authLevel: "function",
    handler: getRestore,
  });
  app.http("getHealth", { methods: ["GET"], route: "health", authLevel: "function", handler: getHealth });
}
