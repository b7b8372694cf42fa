import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layers of src/ (docs/architecture.md), read from the imports themselves. Arrows point down
 * only: triggers and the CLI -> engine -> ports <- adapters -> domain.
 */
const root = resolve(import.meta.dirname, "..", "..", "src");

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** The room a file lives in: its top folder under src/, or its own name for files at the top. */
const room = (file: string): string => {
  const rel = relative(root, file).replace(/\\/g, "/");
  return rel.includes("/") ? (rel.split("/")[0] as string) : rel.replace(/\.ts$/, "");
};

/** Rooms each room may import (besides itself), and the npm packages it may use. */
const Rules: Record<string, { rooms: string[]; packages: RegExp }> = {
  domain: { rooms: [], packages: /^(zod|@azure\/abort-controller)$/ },
  diagnosis: { rooms: ["domain"], packages: /^$/ },
  backup: { rooms: ["domain", "diagnosis"], packages: /^$/ },
  keyvault: { rooms: ["domain"], packages: /^@azure\/(core-auth|core-rest-pipeline|keyvault-[a-z]+)$/ },
  arm: { rooms: ["domain"], packages: /^@azure\/(core-auth|arm-keyvault)$/ },
  storage: { rooms: ["domain"], packages: /^@azure\/(core-auth|storage-blob|storage-queue|data-tables)$/ },
  telemetry: {
    rooms: ["domain"],
    packages:
      /^(@opentelemetry\/.+|@azure\/(core-tracing|identity|monitor-opentelemetry|opentelemetry-instrumentation-azure-sdk))$/,
  },
  settings: { rooms: ["domain"], packages: /^zod$/ },
  config: { rooms: ["domain", "settings"], packages: /^zod$/ },
  identity: { rooms: ["domain"], packages: /^@azure\/(core-auth|identity)$/ },
  app: { rooms: ["domain", "backup", "keyvault", "storage", "arm", "telemetry", "identity"], packages: /^$/ },
  functions: { rooms: ["domain", "diagnosis", "backup"], packages: /^(@azure\/functions|zod)$/ },
  cli: { rooms: ["domain", "diagnosis", "backup", "app", "config"], packages: /^$/ },
  index: { rooms: ["app", "config", "functions", "telemetry"], packages: /^@azure\/functions$/ },
};

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"/g),
    ...text.matchAll(/import\("([^"]+)"\)/g),
  ].map((m) => m[1] as string);
}

describe("the layers of src/", () => {
  const all = files(root);

  it("every file is in a room with rules", () => {
    expect(all.map(room).filter((r) => !Rules[r])).toEqual([]);
  });

  it("every import points down: to an allowed room, or an allowed package", () => {
    const broken: string[] = [];
    for (const file of all) {
      const from = room(file);
      const rule = Rules[from] as (typeof Rules)[string];
      for (const spec of importsOf(file)) {
        if (spec.startsWith("node:")) continue;
        if (spec.startsWith(".")) {
          const to = room(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
          if (to !== from && !rule.rooms.includes(to))
            broken.push(`${relative(root, file)} -> ${to} (${spec})`);
        } else if (
          !rule.packages.test(
            spec
              .split("/")
              .slice(0, spec.startsWith("@") ? 2 : 1)
              .join("/"),
          )
        )
          broken.push(`${relative(root, file)} -> package ${spec}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("nothing imports a trigger: only the entry point reaches functions/, nothing reaches cli/", () => {
    const offenders = all
      .filter((f) => room(f) !== "index")
      .flatMap((f) =>
        importsOf(f)
          .filter((spec) => spec.startsWith("."))
          .map((spec) => [room(f), room(resolve(dirname(f), spec.replace(/\.js$/, ".ts")))] as const)
          .filter(([from, to]) => from !== to && (to === "functions" || to === "cli")),
      );
    expect(offenders).toEqual([]);
  });

  it("no file is over 300 lines", () => {
    const long = all
      .map((f) => [relative(root, f), readFileSync(f, "utf8").split("\n").length] as const)
      .filter(([, n]) => n > 300);
    expect(long).toEqual([]);
  });
});
