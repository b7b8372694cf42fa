import * as coreTracing from "@azure/core-tracing";
import { createAzureSdkInstrumentation } from "@azure/opentelemetry-instrumentation-azure-sdk";

/**
 * Makes the Azure SDK clients create OpenTelemetry spans (beneath kvbackup's own). The
 * instrumentation normally hooks `require`, which an ESM app never goes through, so it is applied
 * to @azure/core-tracing directly (one shared state for its CJS and ESM builds).
 */
export function instrumentAzureSdk(): void {
  const instrumentation = createAzureSdkInstrumentation({ enabled: false }) as unknown as {
    getModuleDefinitions(): { patch?: (exports: unknown, version?: string) => unknown }[];
  };
  for (const definition of instrumentation.getModuleDefinitions()) definition.patch?.(coreTracing);
}
