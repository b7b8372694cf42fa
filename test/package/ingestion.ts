import { createServer, type Server } from "node:https";
import { gunzipSync } from "node:zlib";
import { closeNow, listenLoopback } from "../stack/loopback.js";
import type { StackTls } from "../stack/tls.js";

/** One telemetry item as Application Insights' ingestion receives it (the v2.1 track envelope). */
export interface Envelope {
  name: string;
  time: string;
  iKey?: string;
  tags?: Record<string, string>;
  data?: { baseType?: string; baseData?: Record<string, unknown> & { properties?: Record<string, string> } };
}

/**
 * Application Insights' ingestion endpoint on loopback, as the Azure Monitor exporter talks to it:
 * POST /v2.1/track with a JSON array of envelopes (gzipped), answered as the service answers; the
 * live metrics endpoint's pings are answered "not subscribed". Records each envelope and the
 * bearer token each track request carried.
 */
export class Ingestion {
  readonly envelopes: Envelope[] = [];
  readonly tokens: (string | undefined)[] = [];
  readonly unknown: string[] = [];
  private server: Server | undefined;
  url = "";

  constructor(private readonly tls: StackTls) {}

  async start(): Promise<void> {
    this.server = createServer({ cert: this.tls.certPem, key: this.tls.keyPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const path = new URL(req.url ?? "/", "https://ingestion").pathname;
        if (req.method === "POST" && /\/v2(\.1)?\/track$/.test(path)) {
          let body = Buffer.concat(chunks);
          if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
          const items = JSON.parse(body.toString("utf8")) as Envelope[];
          this.envelopes.push(...items);
          this.tokens.push(req.headers.authorization?.replace(/^Bearer /, ""));
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ itemsReceived: items.length, itemsAccepted: items.length, errors: [] }));
          return;
        }
        if (/quickpulse|\/ping|\/post/i.test(path)) {
          res.writeHead(200, { "x-ms-qps-subscribed": "false", "content-type": "application/json" });
          res.end("{}");
          return;
        }
        this.unknown.push(`${req.method} ${path}`);
        res.writeHead(404);
        res.end();
      });
    });
    const port = await listenLoopback(this.server as unknown as import("node:http").Server);
    this.url = `https://127.0.0.1:${port}/`;
  }

  /** The connection string an app is given: ingestion and live metrics here. */
  connectionString(): string {
    return `InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=${this.url};LiveEndpoint=${this.url}`;
  }

  async stop(): Promise<void> {
    await closeNow(this.server as unknown as import("node:http").Server);
  }
}
