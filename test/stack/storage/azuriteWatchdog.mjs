// Runs Azurite and ends it when the process that started it goes away: the IPC channel closes
// when the parent exits for any reason, kill -9 included, so no Azurite outlives its test run.
import { pathToFileURL } from "node:url";

process.on("disconnect", () => process.exit(0));
const [entry, ...args] = process.argv.slice(2);
process.argv = [process.argv[0], entry, ...args];
await import(pathToFileURL(entry).href);
