import { DefaultAzureCredential } from "@azure/identity";
import { QueueClient } from "@azure/storage-queue";

type Env = Record<string, string | undefined>;

/**
 * Receives and deletes up to `max` job messages of a queue, as the Functions host would before it
 * hands each to its worker: the local demo, the bench and the tests drain the queues this way. With
 * the app's own settings and identity (the stack's managed identity endpoint), so it proves the
 * same path the host takes.
 */
export async function takeJobs<T>(queue: string, max = 32, env: Env = process.env): Promise<T[]> {
  const base = env.BACKUP_STORAGE__queueServiceUri;
  if (!base)
    throw new Error("takeJobs: BACKUP_STORAGE__queueServiceUri is not set (source .local/stack.env)");
  const client = new QueueClient(`${base.replace(/\/$/, "")}/${queue}`, new DefaultAzureCredential());
  let receivedMessageItems: Awaited<ReturnType<QueueClient["receiveMessages"]>>["receivedMessageItems"];
  try {
    ({ receivedMessageItems } = await client.receiveMessages({ numberOfMessages: Math.min(32, max) }));
  } catch (e) {
    // No queue yet: nothing was ever sent to it.
    if ((e as { statusCode?: number }).statusCode === 404) return [];
    throw e;
  }
  const out: T[] = [];
  for (const m of receivedMessageItems) {
    out.push(JSON.parse(Buffer.from(m.messageText, "base64").toString("utf8")) as T);
    await client.deleteMessage(m.messageId, m.popReceipt);
  }
  return out;
}
