import { startTelemetry } from "./telemetry/bootstrap.js";

// Entry point of the Functions app: telemetry first, so the SDK clients created later are instrumented.
// The functions themselves (timer, queue workers, HTTP API) register here as they are built.
await startTelemetry(process.env.APPLICATIONINSIGHTS_CONNECTION_STRING);
