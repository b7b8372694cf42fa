import { describe, expect, it } from "vitest";
import { isIgnoredEvent, parseVaultEvent } from "../../../src/domain/vaultEvent.js";

/** The documented sample (learn.microsoft.com/azure/event-grid/event-schema-key-vault), its stray spaces included. */
const sample = {
  id: "00eccf70-95a7-4e7c-8299-2eb17ee9ad64",
  topic: "/subscriptions/0000/resourceGroups/sample-rg/providers/Microsoft.KeyVault/vaults/sample-kv",
  subject: "newsecret",
  eventType: "Microsoft.KeyVault.SecretNewVersionCreated",
  eventTime: "2019-07-25T01:08:33.1036736Z",
  data: {
    Id: "https://sample-kv.vault.azure.net/secrets/newsecret/ee059b2bb5bc48398a53b168c6cdcb10",
    VaultName: "sample-kv",
    ObjectType: "Secret",
    "ObjectName ": "newsecret",
    Version: " ee059b2bb5bc48398a53b168c6cdcb10",
    NBF: "1559081980",
    EXP: "1559082102",
  },
  dataVersion: "1",
  metadataVersion: "1",
};

const expected = {
  eventId: "00eccf70-95a7-4e7c-8299-2eb17ee9ad64",
  eventType: "Microsoft.KeyVault.SecretNewVersionCreated",
  vault: "sample-kv",
  kind: "secrets",
  name: "newsecret",
  version: "ee059b2bb5bc48398a53b168c6cdcb10",
  at: "2019-07-25T01:08:33.103Z",
};

describe("a Key Vault new-version event off the queue (issue 23 groundwork)", () => {
  it("reads the documented sample as Event Grid queues it: Base64 of the JSON, plain JSON, parsed by the host, in an array of one", () => {
    const json = JSON.stringify(sample);
    for (const message of [
      Buffer.from(json).toString("base64"),
      json,
      sample,
      [sample],
      JSON.stringify([sample]),
    ])
      expect(parseVaultEvent(message)).toEqual(expected);
  });

  it("reads the CloudEvents 1.0 schema too, and keys, certificates and a sovereign cloud's host", () => {
    const { eventType: _t, eventTime: _at, topic: _s, ...rest } = sample;
    const cloud = {
      ...rest,
      type: sample.eventType,
      time: sample.eventTime,
      source: sample.topic,
      specversion: "1.0",
    };
    expect(parseVaultEvent(cloud)).toEqual(expected);
    const key = {
      ...sample,
      eventType: "Microsoft.KeyVault.KeyNewVersionCreated",
      data: {
        Id: "https://Sample-KV.vault.azure.cn/keys/signing/0123abcd",
        VaultName: "Sample-KV",
        ObjectType: "Key",
      },
    };
    expect(parseVaultEvent(key)).toMatchObject({
      vault: "sample-kv",
      kind: "keys",
      name: "signing",
      version: "0123abcd",
    });
    const cert = {
      ...sample,
      eventType: "Microsoft.KeyVault.CertificateNewVersionCreated",
      data: { id: "https://127.0.0.1:8443/certificates/www/v1", vaultName: "demo-vault" },
    };
    expect(parseVaultEvent(cert)).toMatchObject({
      vault: "demo-vault",
      kind: "certificates",
      name: "www",
      version: "v1",
    });
  });

  it("other Key Vault events are not work: ignored, named", () => {
    for (const t of [
      "Microsoft.KeyVault.SecretNearExpiry",
      "Microsoft.KeyVault.VaultAccessPolicyChanged",
      "constructor",
    ]) {
      const r = parseVaultEvent({ ...sample, eventType: t });
      expect(isIgnoredEvent(r) && r.ignored).toBe(t);
    }
  });

  it("refuses what does not hold together, naming what is wrong, never a stack trace", () => {
    const cases: [unknown, RegExp][] = [
      ["not json, not base64!", /neither JSON nor Base64/],
      [[sample, sample], /an array of 2 events/],
      [{ ...sample, eventType: undefined }, /no eventType/],
      [{ ...sample, eventTime: "yesterday" }, /not an ISO 8601 time/],
      // A number or a year past 9999 is no event time (it would outrank every backup taken).
      [{ ...sample, eventTime: "1" }, /not an ISO 8601 time/],
      [{ ...sample, eventTime: "+275760-09-13T00:00:00.000Z" }, /not an ISO 8601 time/],
      // Only Key Vault's hosts (or a loopback one, the local stack's): nothing else is a vault.
      [
        {
          ...sample,
          data: {
            ...sample.data,
            Id: "https://evil.example.com/secrets/newsecret/ee059b2bb5bc48398a53b168c6cdcb10",
          },
        },
        /is not a Key Vault host/,
      ],
      [
        {
          ...sample,
          data: {
            ...sample.data,
            Id: "https://sample-kv.vault.azure.net.evil.com/secrets/newsecret/ee059b2bb5bc48398a53b168c6cdcb10",
          },
        },
        /is not a Key Vault host/,
      ],
      [
        {
          ...sample,
          data: {
            ...sample.data,
            Id: "https://x@sample-kv.vault.azure.net/secrets/newsecret/ee059b2bb5bc48398a53b168c6cdcb10",
          },
        },
        /is not https/,
      ],
      [{ ...sample, data: "x" }, /data is not an object/],
      [{ ...sample, data: { ...sample.data, Id: "not a url" } }, /is not a URL/],
      [
        { ...sample, data: { ...sample.data, Id: "http://sample-kv.vault.azure.net/secrets/newsecret/v1" } },
        /is not https/,
      ],
      // The object's host is another vault than the one the event names: refused, no token sent anywhere.
      [
        {
          ...sample,
          data: {
            ...sample.data,
            Id: "https://other-kv.vault.azure.net/secrets/newsecret/ee059b2bb5bc48398a53b168c6cdcb10",
          },
        },
        /in vault 'other-kv' but data.VaultName says 'sample-kv'/,
      ],
      [{ ...sample, eventType: "Microsoft.KeyVault.KeyNewVersionCreated" }, /names a secrets object/],
      [{ ...sample, data: { ...sample.data, "ObjectName ": "another" } }, /differ or are not names/],
      [{ ...sample, data: { ...sample.data, Version: "ffff" } }, /differ or are not a version/],
      [{ ...sample, data: { ...sample.data, VaultName: "x" } }, /is not a vault name/],
    ];
    for (const [message, why] of cases) {
      const err = (() => {
        try {
          parseVaultEvent(message);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toMatchObject({ code: "BadRequest", message: expect.stringMatching(why) });
    }
  });
});
