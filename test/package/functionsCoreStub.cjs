// Stands in for @azure/functions-core, the module the Azure Functions Node worker provides to the
// app: it records what the app registers instead of talking to the host, and keeps the handlers,
// hooks and programming model so loadAsWorker.mjs can invoke a function as the worker does.
const recorded = { functions: [], hooks: [], model: undefined };
const live = { handlers: new Map(), hooks: new Map(), model: undefined };
globalThis.__functionsCore = recorded;
globalThis.__functionsCoreLive = live;
module.exports = {
  setProgrammingModel(model) {
    recorded.model = { name: model.name, version: model.version };
    live.model = model;
  },
  registerFunction(metadata, callback) {
    recorded.functions.push(metadata);
    live.handlers.set(metadata.name, callback);
    return { dispose() {} };
  },
  registerHook(name, callback) {
    recorded.hooks.push(name);
    live.hooks.set(name, [...(live.hooks.get(name) ?? []), callback]);
    return { dispose() {} };
  },
  log() {},
};
