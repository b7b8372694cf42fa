/**
 * The event function's work on one queue message, in a process of its own (so a test can kill it
 * with SIGKILL mid-backup, as a host crash would): the message text from EVENT_MESSAGE, the app
 * from the environment, as the Functions worker builds it. Prints the outcome as one JSON line.
 * Run: node --import tsx --import ./test/setup/guard.setup.ts test/integration/eventProcess.ts
 */
import { createApp } from "../../src/app.js";
import { handleEventMessage } from "../../src/backup/engine.js";
import { loadConfig } from "../../src/loadConfig.js";

const result = await handleEventMessage(
  createApp(loadConfig(process.env, "function")),
  process.env.EVENT_MESSAGE,
);
process.stdout.write(`${JSON.stringify(result)}\n`);
