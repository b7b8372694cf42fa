import { type Counter, type Histogram, metrics } from "@opentelemetry/api";

/** The event of every run: the infra's failed-run alert queries it (failed, partial or abandoned runs). */
export const RunCompletedEvent = "KeyVaultBackupRunCompleted";

/** The event of a restore drill (when a drill ran, what it proved). */
export const DrillCompletedEvent = "KeyVaultRestoreDrillCompleted";

/**
 * The hourly status of each vault the app backs up: the infra's "no successful backup in 26 h",
 * "no proven restore in 8 days" and "kvbackup is silent" alerts query it.
 */
/** A run's isolated copy ended (copied or failed): the copy alerts read it. */
export const CopyCompletedEvent = "KeyVaultBackupCopyCompleted";
export const StatusEvent = "KeyVaultBackupStatus";

export const MetricNames = {
  objects: "kvbackup.objects",
  bytes: "kvbackup.bytes",
  runDuration: "kvbackup.run.duration",
  throttled: "kvbackup.throttled",
  lastSuccess: "kvbackup.last_success",
  lastProvenRestore: "kvbackup.last_proven_restore",
} as const;

export interface Instruments {
  objects: Counter;
  bytes: Counter;
  duration: Histogram;
  throttled: Counter;
  /** Unix time of each vault's last successful run, observed by the gauge. */
  lastSuccess: Map<string, number>;
  /** Unix time of each vault's last drill that proved a restore, observed by the gauge. */
  lastProvenRestore: Map<string, number>;
}

/** The instruments, and the meter provider they were made from. */
let made: { provider: unknown; instruments: Instruments } | undefined;

/**
 * Instruments are made at first use, after the entry point (or a test) has installed a meter
 * provider: the OpenTelemetry API hands out no-op meters before that. Made again when another
 * provider is installed (a test's own).
 */
export function instruments(): Instruments {
  const provider = metrics.getMeterProvider();
  if (made?.provider === provider) return made.instruments;
  const meter = provider.getMeter("kvbackup");
  const lastSuccess = new Map<string, number>();
  meter
    .createObservableGauge(MetricNames.lastSuccess, {
      description: "Unix time of the vault's last successful run",
      unit: "s",
    })
    .addCallback((result) => {
      for (const [vault, at] of lastSuccess) result.observe(at, { "kvbackup.vault": vault });
    });
  const lastProvenRestore = new Map<string, number>();
  meter
    .createObservableGauge(MetricNames.lastProvenRestore, {
      description: "Unix time of the vault's last restore drill that proved its latest backup",
      unit: "s",
    })
    .addCallback((result) => {
      for (const [vault, at] of lastProvenRestore) result.observe(at, { "kvbackup.vault": vault });
    });
  const instruments: Instruments = {
    objects: meter.createCounter(MetricNames.objects, {
      description: "Objects handled, by kind and outcome",
    }),
    bytes: meter.createCounter(MetricNames.bytes, { description: "Backup bytes written", unit: "By" }),
    duration: meter.createHistogram(MetricNames.runDuration, { description: "Run duration", unit: "s" }),
    throttled: meter.createCounter(MetricNames.throttled, { description: "429 answers seen from Key Vault" }),
    lastSuccess,
    lastProvenRestore,
  };
  made = { provider, instruments };
  return instruments;
}
