// What the event tests share: a new-version event of one of demo-vault's secrets.
import type { VaultEvent } from "../../../../src/domain/vaultEvent.js";

/** SecretNewVersionCreated for demo-vault's alpha, version v2, made at 01:59 on the fakes' day. */
export const secretEvent = (over: Partial<VaultEvent> = {}): VaultEvent => ({
  eventId: "00eccf70-95a7-4e7c-8299-2eb17ee9ad64",
  eventType: "Microsoft.KeyVault.SecretNewVersionCreated",
  vault: "demo-vault",
  kind: "secrets",
  name: "alpha",
  version: "v2",
  at: "2026-11-26T01:59:00.000Z",
  ...over,
});
