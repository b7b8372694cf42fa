import { app } from "@azure/functions";
import { createApp } from "./app.js";
import { registerFunctions } from "./functions/register.js";
import { loadConfig } from "./loadConfig.js";
import { startTelemetry } from "./telemetry/bootstrap.js";
import { inInvocationTrace } from "./telemetry/invocations.js";

// Entry point of the Functions app: the settings, read once (bad ones stop the app with one
// message naming each); telemetry next, so the SDK clients made after it are instrumented and each
// invocation's spans join the host's trace; then the functions, all sharing one set of
// dependencies. Nothing here opens a connection: the first invocation does.
const config = loadConfig(process.env, "function");
if (await startTelemetry(config.appInsightsConnectionString, config.clientId)) {
  app.hook.preInvocation((ctx) => {
    ctx.functionHandler = inInvocationTrace(ctx.invocationContext.traceContext, ctx.functionHandler);
  });
}
registerFunctions(createApp(config));
