import { createApp } from "./app.js";
import { loadConfig } from "./config.js";
import { registerFunctions } from "./functions/register.js";
import { startTelemetry } from "./telemetry/bootstrap.js";

// Entry point of the Functions app: the settings, read once (bad ones stop the app with one
// message naming each); telemetry next, so the SDK clients made after it are instrumented; then
// the functions, all sharing one set of dependencies.
const config = loadConfig(process.env, "function");
await startTelemetry(config.appInsightsConnectionString);
registerFunctions(createApp(config));
