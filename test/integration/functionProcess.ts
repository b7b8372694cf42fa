/**
 * The Function's GET /api/health in a process of its own, with the environment it is given: the
 * identity library keeps the managed identity's endpoint for the life of a process (as in Azure),
 * so a test of a broken identity needs a fresh one. Prints {status, body} as one JSON line.
 * Run: node --import tsx --import ./test/setup/guard.setup.ts test/integration/functionProcess.ts
 */
import functions from "@azure/functions";
import { createApp } from "../../src/app.js";
import { getHealth } from "../../src/functions/healthApi.js";
import { loadConfig } from "../../src/loadConfig.js";

// A CommonJS package: Node's ESM loader gives its classes through the default export only.
const { HttpRequest, InvocationContext } = functions;
const started = Date.now();
const response = await getHealth(createApp(loadConfig(process.env, "function")))(
  new HttpRequest({ url: "https://func.example/api/health", method: "GET" }),
  new InvocationContext({ functionName: "getHealth", logHandler: () => undefined }),
);
process.stdout.write(
  `${JSON.stringify({ status: response.status, body: JSON.parse(String(response.body)), ms: Date.now() - started })}\n`,
);
