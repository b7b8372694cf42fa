// Stands in for @azure/functions-core, the module the Azure Functions Node worker provides to the
// app: it records what the app registers instead of talking to the host.
const recorded = { functions: [], hooks: [], model: undefined };
globalThis.__functionsCore = recorded;
module.exports = {
  setProgrammingModel(model) {
    recorded.model = { name: model.name, version: model.version };
  },
  registerFunction(metadata) {
    recorded.functions.push(metadata);
    return { dispose() {} };
  },
  registerHook(name) {
    recorded.hooks.push(name);
    return { dispose() {} };
  },
  log() {},
};
