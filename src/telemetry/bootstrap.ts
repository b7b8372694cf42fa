import { firstLine } from "../domain/errors.js";
import { instrumentAzureSdk } from "./azureSdk.js";

/**
 * Starts the Azure Monitor exporter only when a connection string is configured: with none,
 * useAzureMonitor() would still probe the instance metadata service and Azure hosts. The exporter
 * authenticates with the app's identity because the infra disables local auth. The Azure SDK
 * clients made after this create spans beneath kvbackup's own.
 */
export async function startTelemetry(
  connectionString: string | undefined,
  clientId?: string,
): Promise<boolean> {
  const cs = connectionString?.trim();
  if (!cs) return false;
  const [{ useAzureMonitor }, { DefaultAzureCredential }] = await Promise.all([
    import("@azure/monitor-opentelemetry"),
    import("@azure/identity"),
  ]);
  try {
    useAzureMonitor({
      azureMonitorExporterOptions: {
        connectionString: cs,
        credential: new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {}),
      },
      enableLiveMetrics: true,
    });
  } catch (e) {
    // Backups matter more than their telemetry: the app runs on, says why in the host's log, and
    // the "kvbackup is silent" alert fires, as it should with no telemetry.
    console.error(
      `kvbackup: telemetry did not start (${firstLine(e)}); the app runs without it, and the "kvbackup is silent" alert will fire`,
    );
    return false;
  }
  instrumentAzureSdk();
  return true;
}
