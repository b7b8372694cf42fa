import { loadConfig } from "./config.js";
import { registerFunctions } from "./functions/register.js";
import { startTelemetry } from "./telemetry/bootstrap.js";

// Entry point of the Functions app: telemetry first, so the SDK clients created later are
// instrumented; then the settings, read once (bad ones stop the app with one message naming each);
// then the functions.
await startTelemetry(process.env.APPLICATIONINSIGHTS_CONNECTION_STRING);
loadConfig(process.env);
registerFunctions();
