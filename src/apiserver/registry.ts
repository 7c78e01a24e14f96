// The generic registry: create/get/list/update/patch for every resource in the
// catalogue, with upstream's REST semantics (https://kubernetes.io/docs/reference/using-api/api-concepts/):
// optimistic concurrency on resourceVersion, generateName, uid/creationTimestamp,
// generation bumps on spec changes only, status subresource isolation, defaulting →
// admission → validation before anything is stored, no-op writes that store nothing,
// and managedFields for every write. HTTP handlers and the in-process client both
// call this; deletion lives in deletion.ts, watch in watch.ts, subresources in
// subresources.ts.

import { randomUUID } from "node:crypto";
import {
  AlreadyExists,
  BadRequest,
  Conflict,
  Invalid,
  NotFound,
  StatusError,
  type StatusCause,
} from "../apimachinery/errors.js";
import { deepCopy, nowRFC3339, type KList, type KObject } from "../apimachinery/types.js";
import { deepEqual, isPlainObject, specEqual } from "../apimachinery/equality.js";
import { KeyExistsError, KeyNotFoundError, RevisionMismatchError, CompactedError, type Store } from "../store/types.js";
import type { ResourceDef } from "../api/types.js";
import { apiVersionOf } from "../api/types.js";
import type { Catalogue } from "../api/catalogue.js";
import { validateObjectMeta } from "../api/validation.js";
import { ObjectStore } from "./objectstore.js";
import { namespaceLifecycle, type AdmissionPlugin, type AdmissionRequest } from "./admission.js";
import { checkBody, type FieldValidation } from "./fieldvalidation.js";
import { trackManagedFields, applyPatch, type PatchKind } from "./patching.js";
import { Selection } from "./selection.js";
import { Gone } from "../apimachinery/errors.js";
import { serviceAllocation, type ServiceRanges } from "./serviceallocation.js";
import { defaultTolerationSecondsAdmission, priorityAdmission, serviceAccountAdmission } from "./podadmission.js";
import { defaultStorageClassAdmission } from "../api/storage-admission.js";
import { defaultIngressClassAdmission } from "../api/networking-admission.js";
import { serviceAccountTokenVolumeAdmission } from "./tokenrequest-admission.js";

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: FieldValidation;
  subresource?: string;
}

export interface PatchOptions extends WriteOptions {
  force?: boolean;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WriteResult {
  object: KObject;
  /** Warning headers (unknown fields under Warn, deprecations). */
  warnings: string[];
  /** True when the write created the object (201). */
  created: boolean;
}

export interface RegistryOptions {
  /** Time source for timestamps (tests inject a fixed clock). */
  now?: () => Date;
  /** tolerationSeconds given to pods for not-ready/unreachable nodes (default 30). */
  defaultTolerationSeconds?: number;
  /** Per taint, overriding defaultTolerationSeconds (--default-not-ready-toleration-seconds …). */
  defaultNotReadyTolerationSeconds?: number;
  defaultUnreachableTolerationSeconds?: number;
  /** Service ClusterIP and NodePort ranges. */
  serviceRanges?: ServiceRanges;
}

const nameChars = "bcdfghjklmnpqrstvwxz2456789";
const MAX_CONFLICT_RETRIES = 8;

export function randomSuffix(n = 5): string {
  let s = "";
  for (let i = 0; i < n; i++) s += nameChars[Math.floor(Math.random() * nameChars.length)];
  return s;
}

function continueToken(rev: number, key: string): string {
  return Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: rev, start: key })).toString("base64url");
}

function parseContinue(tok: string): { rv: number; start: string } {
  try {
    const o = JSON.parse(Buffer.from(tok, "base64url").toString("utf8"));
    if (typeof o.rv === "number" && typeof o.start === "string") return { rv: o.rv, start: o.start };
  } catch {
    /* fall through */
  }
  throw new BadRequest("continue key is not valid: invalid continue token");
}

export class Registry {
  readonly objects: ObjectStore;
  readonly admission: AdmissionPlugin[] = [];
  readonly now: () => Date;

  constructor(
    readonly store: Store,
    readonly catalogue: Catalogue,
    opts: RegistryOptions = {},
  ) {
    this.objects = new ObjectStore(store, catalogue);
    this.now = opts.now ?? (() => new Date());
    const nsDef = catalogue.lookup("", "v1", "namespaces");
    if (nsDef) {
      this.admission.push(
        namespaceLifecycle(async (name) => {
          const kv = await store.get(this.objects.key(nsDef, undefined, name));
          return kv ? this.objects.decode(nsDef, kv) : undefined;
        }),
      );
    }
    const saDef = catalogue.lookup("", "v1", "serviceaccounts");
    this.admission.push(
      serviceAccountAdmission(),
      // Upstream's default: pods get the projected kube-api-access-* token volume unless
      // automountServiceAccountToken is false on the pod or its ServiceAccount.
      ...(saDef
        ? [
            serviceAccountTokenVolumeAdmission(async (ns, name) => {
              const kv = await store.get(this.objects.key(saDef, ns, name));
              return kv ? this.objects.decode(saDef, kv) : undefined;
            }),
          ]
        : []),
      defaultTolerationSecondsAdmission({
        notReady: opts.defaultNotReadyTolerationSeconds ?? opts.defaultTolerationSeconds,
        unreachable: opts.defaultUnreachableTolerationSeconds ?? opts.defaultTolerationSeconds,
      }),
      serviceAllocation(store, opts.serviceRanges),
    );
    const scDef = catalogue.lookup("storage.k8s.io", "v1", "storageclasses");
    if (scDef) this.admission.push(defaultStorageClassAdmission(async () => (await this.list(scDef, undefined)).items));
    const icDef = catalogue.lookup("networking.k8s.io", "v1", "ingressclasses");
    if (icDef) this.admission.push(defaultIngressClassAdmission(async () => (await this.list(icDef, undefined)).items));
    const pcDef = catalogue.lookup("scheduling.k8s.io", "v1", "priorityclasses");
    if (pcDef) {
      this.admission.push(
        priorityAdmission({
          get: async (name) => {
            const kv = await store.get(this.objects.key(pcDef, undefined, name));
            return kv ? this.objects.decode(pcDef, kv) : undefined;
          },
          globalDefault: async () => (await this.list(pcDef, undefined)).items.find((p) => p.globalDefault === true),
        }),
      );
    }
  }

  /** The def for a gvr key, or a 404 naming it. */
  def(gvr: string): ResourceDef {
    const d = this.catalogue.get(gvr);
    if (!d) throw new NotFound("resource", gvr);
    return d;
  }

  // ---------------------------------------------------------------- reads

  async getWithRevision(def: ResourceDef, namespace: string | undefined, name: string): Promise<{ obj: KObject; rev: number }> {
    const kv = await this.store.get(this.objects.key(def, namespace, name));
    if (!kv) throw new NotFound(def.plural, name, def.group);
    return { obj: this.objects.decode(def, kv), rev: kv.modRevision };
  }

  async get(def: ResourceDef, namespace: string | undefined, name: string): Promise<KObject> {
    return (await this.getWithRevision(def, namespace, name)).obj;
  }

  async list(def: ResourceDef, namespace: string | undefined, opts: ListOptions = {}): Promise<KList> {
    const sel = new Selection(def, opts.labelSelector, opts.fieldSelector);
    const prefix = this.objects.prefix(def, namespace);
    let startAfter: string | undefined;
    let revision: number | undefined;
    if (opts.continue) {
      const c = parseContinue(opts.continue);
      startAfter = prefix + c.start;
      revision = c.rv;
    }
    // A field selector on metadata.name reads one key instead of scanning.
    const exactName = sel.exactName();
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const items: KObject[] = [];
    let more = false;
    let lastKey = "";
    let readRev = 0;
    try {
      if (exactName !== undefined && (namespace || !def.namespaced)) {
        const kv = await this.store.get(prefix + exactName);
        readRev = await this.store.currentRevision();
        if (kv) {
          const o = this.objects.decode(def, kv);
          if (sel.matches(o)) items.push(o);
        }
      } else {
        // Page through the store until `limit` matching items are found.
        for (;;) {
          const batch = limit ? Math.max(limit - items.length, 50) : 0;
          const r = await this.store.list(prefix, { startAfter, limit: batch, revision });
          readRev = r.revision;
          revision = r.revision;
          for (const kv of r.kvs) {
            lastKey = kv.key;
            const o = this.objects.decode(def, kv);
            if (!sel.matches(o)) continue;
            items.push(o);
            if (limit && items.length >= limit) break;
          }
          const stoppedEarly = limit > 0 && items.length >= limit && lastKey !== r.kvs[r.kvs.length - 1]?.key;
          if (stoppedEarly || (limit && items.length >= limit && r.more)) {
            more = true;
            break;
          }
          if (!r.more) break;
          startAfter = r.kvs[r.kvs.length - 1]!.key;
        }
      }
    } catch (e) {
      if (e instanceof CompactedError) {
        throw new Gone(
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
        );
      }
      throw e;
    }
    const list: KList = {
      apiVersion: apiVersionOf(def),
      kind: `${def.kind}List`,
      metadata: { resourceVersion: String(readRev) },
      items,
    };
    if (more) list.metadata.continue = continueToken(readRev, lastKey.slice(prefix.length));
    return list;
  }

  // ---------------------------------------------------------------- create

  async create(def: ResourceDef, namespace: string | undefined, body: unknown, opts: WriteOptions = {}): Promise<WriteResult> {
    const { obj, warnings } = this.decodeBody(def, namespace, body, opts.fieldValidation);
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomSuffix();
    const object = await this.createPrepared(def, obj, opts, "Update");
    return { object, warnings, created: true };
  }

  /**
   * The create pipeline after decoding: system metadata, defaults, admission,
   * validation, managedFields ("Update" writes are tracked here; server-side apply
   * brings its own), then the store. Admission reservations are released on failure.
   */
  async createPrepared(def: ResourceDef, obj: KObject, opts: WriteOptions, operation: "Update" | "Apply" = "Apply"): Promise<KObject> {
    this.initSystemMeta(def, obj);
    if (def.subresources?.includes("status") && !def.keepStatusOnCreate) delete obj.status;
    def.defaults?.(obj);
    def.prepareForCreate?.(obj);
    const req = this.admissionRequest("create", def, obj, undefined, opts);
    await this.admit(req);
    try {
      this.validate(def, obj, "create");
      if (operation === "Update") {
        obj.metadata.managedFields = trackManagedFields(def, undefined, obj, opts.fieldManager, "Update", opts.subresource, this.now());
      }
      if (opts.dryRun) return obj;
      const rev = await this.store.create(this.objects.key(def, obj.metadata.namespace, obj.metadata.name!), this.objects.encode(def, obj));
      obj.metadata.resourceVersion = String(rev);
      return obj;
    } catch (e) {
      await this.release(req);
      if (e instanceof KeyExistsError) throw new AlreadyExists(def.plural, obj.metadata.name!, def.group);
      throw e;
    }
  }

  // ---------------------------------------------------------------- update

  async update(def: ResourceDef, namespace: string | undefined, name: string, body: unknown, opts: WriteOptions = {}): Promise<WriteResult> {
    const { obj, warnings } = this.decodeBody(def, namespace, body, opts.fieldValidation);
    if (obj.metadata.name && obj.metadata.name !== name) {
      throw new BadRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    }
    obj.metadata.name = name;
    const precondition = obj.metadata.resourceVersion;
    for (let attempt = 0; ; attempt++) {
      const cur = await this.getWithRevision(def, namespace, name);
      if (precondition && precondition !== cur.obj.metadata.resourceVersion) {
        throw new Conflict(def.plural, name, def.group);
      }
      try {
        const object = await this.commitUpdate(def, cur, deepCopy(obj), opts, "Update");
        return { object, warnings, created: false };
      } catch (e) {
        if (e instanceof RevisionMismatchError && !precondition && attempt < MAX_CONFLICT_RETRIES) continue;
        if (e instanceof RevisionMismatchError) throw new Conflict(def.plural, name, def.group);
        throw e;
      }
    }
  }

  // ---------------------------------------------------------------- patch

  async patch(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    kind: PatchKind,
    patchBody: unknown,
    opts: PatchOptions = {},
  ): Promise<WriteResult> {
    if (kind === "apply" && !opts.fieldManager) {
      throw new BadRequest("PATCH, application/apply-patch+yaml requires fieldManager to be set");
    }
    for (let attempt = 0; ; attempt++) {
      let cur: { obj: KObject; rev: number } | undefined;
      try {
        cur = await this.getWithRevision(def, namespace, name);
      } catch (e) {
        if (!(e instanceof NotFound) || kind !== "apply" || opts.subresource) throw e;
      }
      const out = applyPatch({ def, kind, live: cur?.obj, patch: patchBody, name, namespace, opts, now: this.now() });
      const { obj, warnings } = this.decodeBody(def, namespace, out.object, opts.fieldValidation, out.skipFieldCheck);
      if (obj.metadata.name !== name) throw new BadRequest(`metadata.name: Invalid value: "${obj.metadata.name}": field is immutable`);
      if (!cur) {
        const object = await this.createPrepared(def, obj, opts);
        return { object, warnings, created: true };
      }
      const pinned = out.pinnedResourceVersion;
      if (pinned && pinned !== cur.obj.metadata.resourceVersion) throw new Conflict(def.plural, name, def.group);
      try {
        const object = await this.commitUpdate(def, cur, obj, opts, kind === "apply" ? "Apply" : "Update");
        return { object, warnings, created: false };
      } catch (e) {
        if (e instanceof RevisionMismatchError && !pinned && attempt < MAX_CONFLICT_RETRIES) continue;
        if (e instanceof RevisionMismatchError) throw new Conflict(def.plural, name, def.group);
        throw e;
      }
    }
  }

  /**
   * The shared tail of update and patch: merge the write into the live object
   * according to the subresource, run the update pipeline and CAS it into the store.
   * Throws RevisionMismatchError for the caller to retry or turn into a 409.
   */
  async commitUpdate(
    def: ResourceDef,
    cur: { obj: KObject; rev: number },
    incoming: KObject,
    opts: WriteOptions,
    operation: "Update" | "Apply",
  ): Promise<KObject> {
    const old = cur.obj;
    let obj: KObject;
    const hasStatus = def.subresources?.includes("status");
    if (opts.subresource === "status") {
      obj = deepCopy(old);
      obj.status = incoming.status;
    } else {
      obj = incoming;
      if (hasStatus) obj.status = deepCopy(old.status);
      if (obj.status === undefined) delete obj.status;
    }
    // System metadata is owned by the server.
    const m = obj.metadata;
    const om = old.metadata;
    m.uid = om.uid;
    m.creationTimestamp = om.creationTimestamp;
    m.namespace = om.namespace;
    m.name = om.name;
    if (om.deletionTimestamp) m.deletionTimestamp = om.deletionTimestamp;
    else delete m.deletionTimestamp;
    if (om.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = om.deletionGracePeriodSeconds;
    else delete m.deletionGracePeriodSeconds;
    if (om.generation !== undefined) m.generation = om.generation;
    // Unconditional updates validate as if they named the live version.
    m.resourceVersion = om.resourceVersion;
    // Apply computed the new ownership already; other writes start from the live record.
    m.managedFields = operation === "Apply" ? incoming.metadata.managedFields : om.managedFields;
    if (om.deletionTimestamp) {
      // Finalizers may only be removed once deletion started.
      const added = (m.finalizers ?? []).filter((f) => !(om.finalizers ?? []).includes(f));
      if (added.length) {
        throw new Invalid(def.kind, om.name!, [{ reason: "FieldValueForbidden", field: "metadata.finalizers", message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}` }], def.group);
      }
    }
    def.defaults?.(obj);
    if (opts.subresource !== "status") def.prepareForUpdate?.(obj, old);
    if (!specEqual(obj, old) && (def.tracksGeneration ?? obj.spec !== undefined)) {
      m.generation = (om.generation ?? 0) + 1;
    }
    const req = this.admissionRequest("update", def, obj, old, opts);
    await this.admit(req);
    try {
      this.validate(def, obj, "update", old, opts.subresource);
    } catch (e) {
      await this.release(req);
      throw e;
    }
    if (operation === "Update") {
      m.managedFields = trackManagedFields(def, old, obj, opts.fieldManager, "Update", opts.subresource, this.now());
    }
    if (this.unchanged(obj, old)) return old;
    if (opts.dryRun) {
      obj.metadata.resourceVersion = old.metadata.resourceVersion;
      return obj;
    }
    const key = this.objects.key(def, om.namespace, om.name!);
    if (om.deletionTimestamp && this.finalized(def, obj)) {
      const d = await this.deleteKey(key, cur.rev);
      await this.release(this.admissionRequest("delete", def, obj, undefined, opts));
      obj.metadata.resourceVersion = String(d);
      return obj;
    }
    const rev = await this.store.update(key, this.objects.encode(def, obj), cur.rev);
    obj.metadata.resourceVersion = String(rev);
    return obj;
  }

  /** A deleting object whose last finalizer is gone is removed for good. */
  finalized(def: ResourceDef, obj: KObject): boolean {
    if ((obj.metadata.finalizers ?? []).length > 0) return false;
    if (def.group === "" && def.plural === "namespaces" && (obj.spec?.finalizers ?? []).length > 0) return false;
    return true;
  }

  async deleteKey(key: string, rev: number): Promise<number> {
    try {
      return (await this.store.delete(key, rev)).revision;
    } catch (e) {
      if (e instanceof KeyNotFoundError) throw new NotFound("object", key.split("/").pop()!);
      throw e;
    }
  }

  private unchanged(obj: KObject, old: KObject): boolean {
    const strip = (o: KObject) => {
      const c = { ...o, metadata: { ...o.metadata } };
      delete c.metadata.resourceVersion;
      delete c.metadata.managedFields;
      return c;
    };
    if (!deepEqual(strip(obj), strip(old))) return false;
    // Only timestamps in managedFields differ: keep the old record.
    const ops = (mf: KObject["metadata"]["managedFields"]) => JSON.stringify((mf ?? []).map((e) => [e.manager, e.operation, e.subresource, e.fieldsV1]));
    return ops(obj.metadata.managedFields) === ops(old.metadata.managedFields);
  }

  // ---------------------------------------------------------------- pipeline pieces

  /**
   * Checks a request body's shape against the def and the URL: an object, matching
   * apiVersion/kind, metadata, namespace; unknown fields per fieldValidation.
   */
  decodeBody(
    def: ResourceDef,
    namespace: string | undefined,
    body: unknown,
    fieldValidation: FieldValidation | undefined,
    skipFieldCheck = false,
  ): { obj: KObject; warnings: string[] } {
    if (!isPlainObject(body)) throw new BadRequest(`the body of the request must be a JSON/YAML object for ${def.kind}`);
    const obj = body as KObject;
    const served = apiVersionOf(def);
    if (obj.apiVersion !== undefined && obj.apiVersion !== served) {
      throw new BadRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${served})`);
    }
    if (obj.kind !== undefined && obj.kind !== def.kind) {
      throw new BadRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${def.kind})`);
    }
    obj.apiVersion = served;
    obj.kind = def.kind;
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (!isPlainObject(obj.metadata)) throw new BadRequest(`metadata: Invalid value: must be an object`, [{ reason: "FieldValueTypeInvalid", field: "metadata", message: "must be an object" }]);
    const warnings = skipFieldCheck ? [] : checkBody(def, obj, fieldValidation);
    const meta = obj.metadata;
    if (def.namespaced) {
      if (meta.namespace && namespace && meta.namespace !== namespace) {
        throw new BadRequest("the namespace of the provided object does not match the namespace sent on the request");
      }
      if (!meta.namespace) meta.namespace = namespace;
    } else {
      delete meta.namespace;
    }
    return { obj, warnings };
  }

  private initSystemMeta(def: ResourceDef, obj: KObject): void {
    const m = obj.metadata;
    m.uid = randomUUID();
    m.creationTimestamp = nowRFC3339(this.now());
    delete m.resourceVersion;
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    delete m.selfLink;
    if (def.tracksGeneration ?? obj.spec !== undefined) m.generation = 1;
    else delete m.generation;
  }

  validate(def: ResourceDef, obj: KObject, operation: "create" | "update", old?: KObject, subresource?: string): void {
    const causes: StatusCause[] = [];
    // Kinds with their own name rule validate metadata themselves; this catches the rest.
    causes.push(...validateObjectMeta(obj.metadata, { namespaced: def.namespaced, nameFn: def.nameFn }));
    causes.push(...(def.validate?.(obj, { operation, old, subresource }) ?? []));
    if (causes.length) {
      const seen = new Set<string>();
      const unique = causes.filter((c) => {
        const k = `${c.field}|${c.message}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
      throw new Invalid(def.kind, obj.metadata.name ?? obj.metadata.generateName ?? "", unique, def.group);
    }
  }

  admissionRequest(operation: AdmissionRequest["operation"], def: ResourceDef, obj: KObject, old: KObject | undefined, opts: WriteOptions): AdmissionRequest {
    return {
      operation,
      def,
      namespace: obj.metadata.namespace,
      name: obj.metadata.name ?? "",
      object: obj,
      old,
      subresource: opts.subresource,
      dryRun: !!opts.dryRun,
    };
  }

  async admit(req: AdmissionRequest): Promise<void> {
    for (const p of this.admission) await p.admit(req);
  }

  async release(req: AdmissionRequest): Promise<void> {
    for (const p of this.admission) {
      try {
        await p.release?.(req);
      } catch {
        /* release is best effort: a leaked reservation is repaired by the allocator's resync */
      }
    }
  }
}

export { StatusError };
