// Loads the deployed package's main the way the Azure Functions Node worker does (an ES module
// import of package.json's "main"), with a stand-in for @azure/functions-core (which the worker
// provides) that records every registration, and a spy on every socket and DNS lookup: loading the
// package must open no connection. The test network guard is on: anything but loopback is
// unreachable (and listed under "refused"); any module resolved outside the package is listed
// under "outside", any the package asked for and did not find under "unresolved". Prints one JSON
// document.
//   node loadAsWorker.mjs <appDir> [--timed] [--invoke <function> [--input <json>]]...
// --timed     exit as soon as the document is out (telemetry's exporters would keep the process).
// --invoke F  then invoke function F as the worker does: its invocation model, the app's
//             preInvocation hooks, a W3C trace context from the "host"; the trigger's data is
//             --input's JSON (a queue message) or a timer's. After the last, the OpenTelemetry
//             providers the app registered are flushed. Adds invocations: [{name, traceId, ok, error?}].
import { randomBytes, randomUUID } from "node:crypto";
import dns from "node:dns";
import { readFileSync } from "node:fs";
import { builtinModules, registerHooks } from "node:module";
import net from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { blocked, installNetworkGuard, targetOf } from "../setup/networkGuard.ts";

installNetworkGuard("unreachable");
const connections = [];
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const { host, path } = targetOf(args);
  connections.push(path ?? host ?? "localhost");
  return connect.apply(this, args);
};
const lookup = dns.lookup;
dns.lookup = (host, ...rest) => {
  connections.push(`dns:${host}`);
  return lookup(host, ...rest);
};

const appDir = resolve(process.argv[2]);
// Every module the package gets from outside itself (but Node's own and the worker's
// @azure/functions-core): a bundle must need none, and finding one here would hide that the copy
// Azure runs cannot.
const outside = [];
const builtin = new Set(builtinModules);
const unresolved = [];
const appUrl = pathToFileURL(`${appDir}/`).href;
registerHooks({
  resolve(specifier, context, next) {
    const fromApp = context.parentURL?.startsWith(appUrl);
    let r;
    try {
      r = next(specifier, context);
    } catch (e) {
      if (fromApp) unresolved.push(specifier);
      throw e;
    }
    const isBuiltin = r.url.startsWith("node:") || builtin.has(specifier);
    if (fromApp && !r.url.startsWith(appUrl) && !isBuiltin && specifier !== "@azure/functions-core")
      outside.push(r.url.startsWith("file:") ? fileURLToPath(r.url) : r.url);
    return r;
  },
});
const pkg = JSON.parse(readFileSync(join(appDir, "package.json"), "utf8"));
const started = performance.now();
await import(pathToFileURL(join(appDir, pkg.main)).href);
// Anything the import started would run now.
await new Promise((resolve) => setImmediate(resolve));
const loadMs = Math.round(performance.now() - started);
const recorded = globalThis.__functionsCore;
const loadConnections = [...connections];
const doc = {
  main: pkg.main,
  loadMs,
  registrations: recorded.functions,
  hooks: recorded.hooks,
  programmingModel: recorded.model,
  connections: loadConnections,
};

const asked = [];
for (let i = 3; i < process.argv.length; i++) {
  if (process.argv[i] === "--invoke") asked.push({ name: process.argv[++i] });
  else if (process.argv[i] === "--input" && asked.length) asked.at(-1).input = process.argv[++i];
}
if (asked.length) {
  doc.invocations = [];
  for (const { name, input } of asked) doc.invocations.push(await invoke(name, input));
  doc.flushed = await flush();
}
doc.refused = [...new Set(blocked)];
doc.outside = [...new Set(outside)];
doc.unresolved = [...new Set(unresolved)];
process.stdout.write(`${JSON.stringify(doc)}\n`);
if (process.argv.includes("--timed") || asked.length) process.exit(0);

/** One invocation, as the worker makes it. */
async function invoke(name, input) {
  const live = globalThis.__functionsCoreLive;
  const metadata = recorded.functions.find((f) => f.name === name);
  if (!metadata) return { ok: false, error: `no function ${name}` };
  const [bindingName] = Object.entries(metadata.bindings).find(([, b]) => b.direction === "in");
  const traceId = randomBytes(16).toString("hex");
  const coreCtx = {
    invocationId: randomUUID(),
    metadata: { name, bindings: metadata.bindings },
    request: {
      inputData: [
        {
          name: bindingName,
          data: { json: input ?? JSON.stringify({ Schedule: { AdjustForDST: false }, IsPastDue: false }) },
        },
      ],
      triggerMetadata: input ? { DequeueCount: { json: "1" } } : {},
      traceContext: {
        traceParent: `00-${traceId}-${randomBytes(8).toString("hex")}-01`,
        traceState: "",
        attributes: {},
      },
    },
    log: (level, category, message) => logged.push(`${level} ${category}: ${message}`),
  };
  const logged = [];
  const result = { name, traceId, ok: true, log: logged };
  try {
    const model = live.model.getInvocationModel(coreCtx);
    const { context, inputs } = await model.getArguments();
    const hookCtx = {
      invocationContext: context,
      inputs,
      functionCallback: live.handlers.get(name),
      hookData: {},
      appHookData: {},
    };
    for (const hook of live.hooks.get("preInvocation") ?? []) await hook(hookCtx);
    const value = await model.invokeFunction(context, hookCtx.inputs, hookCtx.functionCallback);
    await model.getResponse(context, value);
  } catch (e) {
    result.ok = false;
    result.error = e instanceof Error ? e.message : String(e);
  }
  return result;
}

/**
 * The providers the app registered, through the OpenTelemetry API's global registry (shared by any
 * copy of the API): spans, log records (custom events) and metrics go out now.
 */
async function flush() {
  const api = globalThis[Symbol.for("opentelemetry.js.api.1")] ?? {};
  const tracer = api.trace?.getDelegate?.() ?? api.trace;
  const logsGetter = globalThis[Symbol.for("io.opentelemetry.js.api.logs")];
  const logger = typeof logsGetter === "function" ? logsGetter(1) : undefined;
  const flushed = [];
  for (const [signal, provider] of [
    ["traces", tracer],
    ["logs", logger],
    ["metrics", api.metrics],
  ]) {
    if (typeof provider?.forceFlush !== "function") continue;
    await provider.forceFlush();
    flushed.push(signal);
  }
  return flushed;
}
