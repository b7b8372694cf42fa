import { type App, createApp } from "../app.js";
import { loadConfig } from "../config.js";

let app: App | undefined;

/** The app, made once per process from the settings (bad settings fail here, naming every bad key). */
export function getApp(): App {
  app ??= createApp(loadConfig(process.env));
  return app;
}

/** Tests point the handlers at a fresh stack. */
export function resetAppForTests(next?: App): void {
  app = next;
}
