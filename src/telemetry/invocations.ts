import { context, propagation } from "@opentelemetry/api";

/**
 * Ties our spans to the Functions invocation that runs them: the host passes the invocation's W3C
 * trace context (traceParent, traceState) to the worker; the handler runs inside it, so
 * kvbackup.run and the Azure SDK spans beneath it land in the host's trace for that invocation.
 */
export function inInvocationTrace<A extends unknown[], R>(
  trace: { traceParent?: string | null | undefined; traceState?: string | null | undefined } | undefined,
  handler: (...args: A) => R,
): (...args: A) => R {
  if (!trace?.traceParent) return handler;
  const carrier = {
    traceparent: trace.traceParent,
    ...(trace.traceState ? { tracestate: trace.traceState } : {}),
  };
  const parent = propagation.extract(context.active(), carrier);
  return (...args: A) => context.with(parent, () => handler(...args));
}
