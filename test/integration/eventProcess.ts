/**
 * The event function's work on one queue message, in a process of its own (so a test can kill it
 * with SIGKILL mid-backup, as a host crash would): the message text from EVENT_MESSAGE, the app
 * from the environment, as the Functions worker builds it. Prints the outcome as one JSON line.
 * Its event hold (the vault's events lock, a budget slot) is let go as the process ends, as the
 * Functions host's long-lived worker lets it go after eventHoldLingerMs.
 * Run: node --import tsx --import ./test/setup/guard.setup.ts test/integration/eventProcess.ts
 */
import { createApp } from "../../src/app.js";
import { handleEventMessage } from "../../src/backup/engine.js";
import { releaseEventHolds } from "../../src/backup/events/eventHold.js";
import { loadConfig } from "../../src/loadConfig.js";

// Leases of 15 s (Azure's shortest; the app's default is 60 s): a killed process's event hold
// expires that much sooner, so the test waits less for the message's redelivery to be taken.
const app = createApp(loadConfig(process.env, "function"), { leaseSeconds: 15 });
const result = await handleEventMessage(app, process.env.EVENT_MESSAGE);
await releaseEventHolds(app);
process.stdout.write(`${JSON.stringify(result)}\n`);
