/**
 * Starts the Azure Monitor exporter only when a connection string is configured: with none,
 * useAzureMonitor() would still probe the instance metadata service and Azure hosts.
 * The exporter authenticates with the app's identity because the infra disables local auth.
 */
export async function startTelemetry(connectionString: string | undefined): Promise<boolean> {
  const cs = connectionString?.trim();
  if (!cs) return false;
  const [{ useAzureMonitor }, { DefaultAzureCredential }] = await Promise.all([
    import("@azure/monitor-opentelemetry"),
    import("@azure/identity"),
  ]);
  useAzureMonitor({
    azureMonitorExporterOptions: { connectionString: cs, credential: new DefaultAzureCredential() },
  });
  return true;
}
