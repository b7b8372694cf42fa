// Run in a process of its own (telemetry sets process-wide globals): starts telemetry with the
// connection string given and prints {started} as one JSON line.
import { startTelemetry } from "../../../src/telemetry/bootstrap.js";

const started = await startTelemetry(process.argv[2]);
process.stdout.write(`${JSON.stringify({ started })}\n`);
process.exit(0);
