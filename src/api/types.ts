// The resource catalogue's shape: what the API server needs to know to serve one
// resource (https://kubernetes.io/docs/reference/using-api/api-concepts/).
// Each API group file (core.ts, apps.ts, batch.ts, …) exports a list of ResourceDefs;
// catalogue.ts gathers them. The server's registry, discovery, OpenAPI, tables and
// field selectors are all driven from these definitions: no kind is special-cased
// in the apiserver.

import type { StatusCause } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";

export type SubresourceName =
  | "status"
  | "scale"
  | "binding"
  | "eviction"
  | "log"
  | "exec"
  | "attach"
  | "portforward"
  | "proxy"
  | "ephemeralcontainers"
  | "approval"
  | "finalize"
  | "token";

export interface ColumnDefinition {
  name: string;
  /** "string" | "integer" | "number" | "boolean" | "date" */
  type: string;
  /** "name" for the Name column, "" otherwise (upstream also uses "date"). */
  format: string;
  description: string;
  /** 0 = always shown; >0 = only with -o wide. */
  priority: number;
}

export interface TableSpec {
  /** Columns after Name (Name is always first and is added by the server). */
  columns: ColumnDefinition[];
  /**
   * Cells for the columns above, in order. `now` lets Age-like cells be computed
   * consistently; use formatAge() from src/api/table.ts for durations.
   */
  cells(obj: KObject, now: Date): unknown[];
  /** The Name cell, when it says more than metadata.name (e.g. "local-path (default)"). */
  nameCell?(obj: KObject): string;
}

export interface ScaleSpec {
  /** JSON path in the object of desired replicas, e.g. "spec.replicas". */
  specReplicasPath: string;
  /** JSON path of observed replicas, e.g. "status.replicas". */
  statusReplicasPath: string;
  /** Computes the label selector string for Scale.status.selector. */
  selector(obj: KObject): string;
}

/** Context handed to validation: create or update, and the old object on update. */
export interface ValidationContext {
  operation: "create" | "update";
  old?: KObject;
  /** The subresource being written ("status" …), if any. */
  subresource?: string;
}

export interface ResourceDef {
  group: string; // "" for core
  version: string;
  kind: string;
  /** Resource name (plural, lower case): "pods". */
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  subresources?: SubresourceName[];
  scale?: ScaleSpec;
  /** Verbs served; default all standard verbs. */
  verbs?: string[];

  /**
   * Versions of one resource share storage: the object is stored in storageVersion
   * and converted on the way in and out. Absent = stored as served.
   */
  storageVersion?: string;
  /** served version → storage version (called only when storageVersion differs). */
  toStorage?(obj: KObject): KObject;
  /** storage version → served version. */
  fromStorage?(obj: KObject): KObject;
  /**
   * Storage resource path segment when several served resources share storage
   * (events.k8s.io/v1 events share core v1 events): { group, plural }.
   */
  storageResource?: { group: string; plural: string };

  /** Name rule (returns error messages); default DNS-1123 subdomain. */
  nameFn?(name: string): string[];
  /** Fills defaults in place, as upstream's SetDefaults_*. Runs after decode, before validate. */
  defaults?(obj: KObject): void;
  /** Returns field errors (empty = valid). Includes immutability checks on update. */
  validate?(obj: KObject, ctx: ValidationContext): StatusCause[];
  /**
   * Called on create and update before validation to reset fields the client may not
   * set (e.g. status on create for kinds with a status subresource is done by the
   * server already); kind-specific adjustments such as a Pod's default QoS.
   */
  prepareForCreate?(obj: KObject): void;
  prepareForUpdate?(obj: KObject, old: KObject): void;

  /**
   * Kinds with a status subresource have status reset on create (the client cannot
   * set it) unless this is true (Nodes: the kubelet registers with its status).
   */
  keepStatusOnCreate?: boolean;

  /** Does a spec change bump metadata.generation? Default: true when the kind has a spec. */
  tracksGeneration?: boolean;

  /** Columns for `kubectl get`. Absent = Name, Age only. */
  table?: TableSpec;
  /**
   * Supported field selector keys besides metadata.name/metadata.namespace, e.g.
   * { "spec.nodeName": (o) => o.spec?.nodeName ?? "" }.
   */
  fieldSelectors?: Record<string, (obj: KObject) => string | undefined>;
}

/** Identity helpers. */
export function apiVersionOf(def: Pick<ResourceDef, "group" | "version">): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

/** "apps/v1/deployments" or "v1/pods": the key used by clients and informers. */
export function gvrKey(def: Pick<ResourceDef, "group" | "version" | "plural">): string {
  return `${apiVersionOf(def)}/${def.plural}`;
}
