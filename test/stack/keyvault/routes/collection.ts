import { current, type StoredObject, type VersionBase } from "../model.js";
import type { ObjectStore } from "../objectStore.js";
import type { OperationInfo } from "../operations.js";
import { pageFor, versionEntries } from "../paging.js";
import { type Route, route } from "../router.js";
import { validName } from "../validate.js";
import type { Vault } from "../vault.js";
import { deletedView } from "../views.js";

type View<V extends VersionBase> = (vault: Vault, o: StoredObject<V>, v: V) => object;

export interface CollectionSpec<V extends VersionBase> {
  collection: "secrets" | "keys" | "certificates";
  /** Singular, as in the $skiptoken markers: "secret", "key", "certificate". */
  kind: string;
  store: (vault: Vault) => ObjectStore<V>;
  ops: {
    list: OperationInfo;
    versions: OperationInfo;
    listDeleted: OperationInfo;
    getDeleted: OperationInfo;
    purge: OperationInfo;
    recover: OperationInfo;
  };
  /** List item (SecretItem, KeyItem, CertificateItem); `v` is undefined for a certificate still being issued. */
  item: (vault: Vault, o: StoredObject<V>, v: V | undefined, withVersion?: boolean) => object;
  /** The bundle shown for a deleted object and after a recovery. */
  bundle: View<V>;
  /** Certificates list pending ones on request. */
  includePending?: boolean;
  /** Certificates purge and recover their managed key and secret too. */
  cascade?: (vault: Vault, name: string, action: "purge" | "recover") => void;
}

/**
 * The routes every kind shares: list, list versions (to be placed before the generic
 * /{name}/{version?} routes), and the soft-delete surface (list deleted, get deleted, purge, recover).
 */
export function collectionRoutes<V extends VersionBase>(
  spec: CollectionSpec<V>,
): { listing: Route[]; deleted: Route[] } {
  const { collection, kind, store, ops } = spec;
  const deletedCollection = `deleted${collection}` as
    | "deletedsecrets"
    | "deletedkeys"
    | "deletedcertificates";
  const path = (p: Record<string, string>): string => `${collection}/${p.name}`;
  const listing: Route[] = [
    route("GET", `/${collection}`, ops.list, (ctx) => {
      const pending = spec.includePending === true && ctx.query.get("includePending") === "true";
      const p = pageFor(
        ctx,
        store(ctx.vault).list(pending),
        (o) => o.name.toUpperCase(),
        `/${collection}`,
        kind,
        pending ? { includePending: "true" } : undefined,
      );
      return {
        status: 200,
        body: { value: p.value.map((o) => spec.item(ctx.vault, o, current(o))), nextLink: p.nextLink },
      };
    }),
    route(
      "GET",
      `/${collection}/{name}/versions`,
      ops.versions,
      (ctx) => {
        const o = store(ctx.vault).get(validName(ctx.params.name));
        const p = pageFor(
          ctx,
          versionEntries(o),
          (x) => x.marker,
          `/${collection}/${ctx.params.name}/versions`,
          `${kind}version`,
        );
        return {
          status: 200,
          body: {
            value: p.value.map((x) => spec.item(ctx.vault, o as StoredObject<V>, x.v, true)),
            nextLink: p.nextLink,
          },
        };
      },
      path,
    ),
  ];
  const deleted: Route[] = [
    route("GET", `/${deletedCollection}`, ops.listDeleted, (ctx) => {
      const p = pageFor(
        ctx,
        store(ctx.vault).listDeleted(),
        (d) => d.object.name.toUpperCase(),
        `/${deletedCollection}`,
        `deleted${kind}`,
      );
      return {
        status: 200,
        body: {
          value: p.value.map((d) => deletedView(ctx.vault, deletedCollection, d, spec.item)),
          nextLink: p.nextLink,
        },
      };
    }),
    route(
      "GET",
      `/${deletedCollection}/{name}`,
      ops.getDeleted,
      (ctx) => ({
        status: 200,
        body: deletedView(
          ctx.vault,
          deletedCollection,
          store(ctx.vault).getDeleted(validName(ctx.params.name)),
          spec.bundle,
        ),
      }),
      path,
    ),
    route(
      "DELETE",
      `/${deletedCollection}/{name}`,
      ops.purge,
      (ctx) => {
        const name = validName(ctx.params.name);
        store(ctx.vault).purge(name);
        spec.cascade?.(ctx.vault, name, "purge");
        return { status: 204 };
      },
      path,
    ),
    route(
      "POST",
      `/${deletedCollection}/{name}/recover`,
      ops.recover,
      (ctx) => {
        const name = validName(ctx.params.name);
        const o = store(ctx.vault).recover(name);
        spec.cascade?.(ctx.vault, name, "recover");
        return { status: 200, body: spec.bundle(ctx.vault, o, current(o) as V) };
      },
      path,
    ),
  ];
  return { listing, deleted };
}
