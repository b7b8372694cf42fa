import { errors } from "../errors.js";
import { current, type StoredObject, type VersionBase } from "../model.js";
import type { ObjectStore } from "../objectStore.js";
import type { OperationInfo } from "../operations.js";
import { pageFor, versionEntries } from "../paging.js";
import { type Route, route } from "../router.js";
import { bodyObject, parseTags, updateAttributes, validName } from "../validate.js";
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
    get: OperationInfo;
    update: OperationInfo;
    delete: OperationInfo;
    listDeleted: OperationInfo;
    getDeleted: OperationInfo;
    purge: OperationInfo;
    recover: OperationInfo;
  };
  /** List item (SecretItem, KeyItem, CertificateItem); `v` is undefined for a certificate still being issued. */
  item: (vault: Vault, o: StoredObject<V>, v: V | undefined, withVersion?: boolean) => object;
  /** The bundle a GET answers with. */
  view: View<V>;
  /** The bundle an update answers with (default: view). */
  updatedView?: View<V>;
  /** The bundle shown for a deleted object and after a recovery. */
  bundle: View<V>;
  /** Kind-specific fields of an update body (attributes and tags are handled here). */
  update?: (body: Record<string, unknown>, o: StoredObject<V>, v: V) => void;
  /** Refuses a delete (a certificate's managed key or secret). */
  guardDelete?: (o: StoredObject<V> | undefined) => void;
  /** What a GET shows while an object has no completed version yet (a certificate being issued). */
  pendingView?: (vault: Vault, o: StoredObject<V>, version: string | undefined) => object | undefined;
  /** Certificates list pending ones on request. */
  includePending?: boolean;
  /** Certificates purge and recover their managed key and secret too. */
  cascade?: (vault: Vault, name: string, action: "delete" | "purge" | "recover") => void;
}

/**
 * The routes every kind shares: `listing` (list, list versions) goes before the kind's own
 * /{name}/... routes, `objects` (delete, get, update by /{name}/{version?}) after them, and
 * `deleted` (list deleted, get deleted, purge, recover) anywhere.
 */
export function collectionRoutes<V extends VersionBase>(
  spec: CollectionSpec<V>,
): { listing: Route[]; objects: Route[]; deleted: Route[] } {
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
  const objects: Route[] = [
    route(
      "DELETE",
      `/${collection}/{name}`,
      ops.delete,
      (ctx) => {
        const name = validName(ctx.params.name);
        spec.guardDelete?.(store(ctx.vault).get(name));
        const d = store(ctx.vault).delete(name);
        spec.cascade?.(ctx.vault, name, "delete");
        return { status: 200, body: deletedView(ctx.vault, deletedCollection, d, spec.bundle) };
      },
      path,
    ),
    route(
      "GET",
      `/${collection}/{name}/{version?}`,
      ops.get,
      (ctx) => {
        const name = validName(ctx.params.name);
        const o = store(ctx.vault).get(name);
        const pending =
          o && o.versions.length === 0 ? spec.pendingView?.(ctx.vault, o, ctx.params.version) : undefined;
        if (pending) return { status: 200, body: pending };
        const { object, version } = store(ctx.vault).requireVersion(name, ctx.params.version);
        return { status: 200, body: spec.view(ctx.vault, object, version) };
      },
      path,
    ),
    route(
      "PATCH",
      `/${collection}/{name}/{version?}`,
      ops.update,
      (ctx) => {
        const { object, version } = store(ctx.vault).requireVersion(
          validName(ctx.params.name),
          ctx.params.version,
        );
        const b = bodyObject(ctx.body);
        spec.update?.(b, object, version);
        version.attributes = updateAttributes(version.attributes, b.attributes);
        const tags = parseTags(b.tags);
        if (tags) version.tags = tags;
        return { status: 200, body: (spec.updatedView ?? spec.view)(ctx.vault, object, version) };
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
        if (ctx.vault.config.purgeProtection) {
          store(ctx.vault).getDeleted(name);
          throw errors.purgeProtected(ctx.vault.config.name, ctx.vault.config.location);
        }
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
  return { listing, objects, deleted };
}
