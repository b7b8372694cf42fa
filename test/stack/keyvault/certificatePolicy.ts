import { errors } from "./errors.js";
import { type CertificatePolicy, nowSeconds } from "./model.js";
import { bodyObject } from "./validate.js";

const obj = (v: unknown, what: string): Record<string, unknown> => {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v))
    throw errors.badParameter(`Property '${what}' must be an object.`);
  return v as Record<string, unknown>;
};

const strings = (v: unknown, what: string): string[] | undefined => {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
    throw errors.badParameter(`Property '${what}' must be an array of strings.`);
  return v as string[];
};

/** A policy from a create/update body, with the service's defaults filled in. */
export function parsePolicy(raw: unknown, previous?: CertificatePolicy): CertificatePolicy {
  const p = bodyObject(raw);
  const key = obj(p.key_props, "key_props");
  const secret = obj(p.secret_props, "secret_props");
  const x509 = obj(p.x509_props, "x509_props");
  const issuer = obj(p.issuer, "issuer");
  const kty = typeof key.kty === "string" ? key.kty : (previous?.key_props.kty ?? "RSA");
  const subject = typeof x509.subject === "string" ? x509.subject : previous?.x509_props.subject;
  const sans = obj(x509.sans, "sans");
  const dns = strings(sans.dns_names, "dns_names") ?? previous?.x509_props.sans?.dns_names;
  if (!subject && !dns?.length)
    throw errors.badParameter("Certificate policy must have a subject or subject alternative names.");
  const issuerName = typeof issuer.name === "string" ? issuer.name : (previous?.issuer.name ?? "Self");
  if (issuerName !== "Self")
    throw errors.badParameter(`Issuer '${issuerName}' is not supported by the emulator; use 'Self'.`);
  const contentType =
    typeof secret.contentType === "string"
      ? secret.contentType
      : (previous?.secret_props.contentType ?? "application/x-pkcs12");
  if (contentType !== "application/x-pkcs12" && contentType !== "application/x-pem-file") {
    throw errors.badParameter(`Invalid secret content type '${contentType}'.`);
  }
  const validity = x509.validity_months ?? previous?.x509_props.validity_months ?? 12;
  if (typeof validity !== "number" || validity < 1 || validity > 1200)
    throw errors.badParameter("validity_months must be between 1 and 1200.");
  const now = nowSeconds();
  const keyProps: CertificatePolicy["key_props"] = {
    exportable:
      typeof key.exportable === "boolean" ? key.exportable : (previous?.key_props.exportable ?? true),
    kty,
    reuse_key: typeof key.reuse_key === "boolean" ? key.reuse_key : (previous?.key_props.reuse_key ?? false),
  };
  if (kty.startsWith("RSA"))
    keyProps.key_size =
      typeof key.key_size === "number" ? key.key_size : (previous?.key_props.key_size ?? 2048);
  if (typeof key.crv === "string") keyProps.crv = key.crv;
  const lifetime = Array.isArray(p.lifetime_actions)
    ? (p.lifetime_actions as CertificatePolicy["lifetime_actions"])
    : (previous?.lifetime_actions ?? [
        { trigger: { lifetime_percentage: 80 }, action: { action_type: "AutoRenew" } },
      ]);
  return {
    key_props: keyProps,
    secret_props: { contentType },
    x509_props: {
      subject: subject ?? "",
      ...(dns?.length ? { sans: { dns_names: dns } } : {}),
      ekus: strings(x509.ekus, "ekus") ?? previous?.x509_props.ekus ?? [],
      key_usage: strings(x509.key_usage, "key_usage") ??
        previous?.x509_props.key_usage ?? ["digitalSignature", "keyEncipherment"],
      validity_months: validity,
    },
    lifetime_actions: lifetime,
    issuer: { name: issuerName },
    attributes: { enabled: true, created: previous?.attributes.created ?? now, updated: now },
  };
}
