// Loads the deployed package's main the way the Azure Functions Node worker does (an ES module
// import of package.json's "main"), with a stand-in for @azure/functions-core (which the worker
// provides) that records every registration, and a spy on every socket and DNS lookup: loading the
// package must open no connection. Prints one JSON document.
import dns from "node:dns";
import { readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const connections = [];
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  connections.push(JSON.stringify(args[0]).slice(0, 200));
  return connect.apply(this, args);
};
const lookup = dns.lookup;
dns.lookup = (host, ...rest) => {
  connections.push(`dns:${host}`);
  return lookup(host, ...rest);
};

const appDir = process.argv[2];
const pkg = JSON.parse(readFileSync(join(appDir, "package.json"), "utf8"));
await import(pathToFileURL(join(appDir, pkg.main)).href);
// Anything the import started would run now.
await new Promise((resolve) => setImmediate(resolve));
const recorded = globalThis.__functionsCore;
process.stdout.write(
  `${JSON.stringify({ main: pkg.main, registrations: recorded.functions, hooks: recorded.hooks, programmingModel: recorded.model, connections })}\n`,
);
