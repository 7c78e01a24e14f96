// The client interface every component talks to the API through
// (https://kubernetes.io/docs/reference/using-api/api-concepts/). Two
// implementations: inprocess.ts (calls the registry directly, taking the same
// admission/validation path as HTTP without the socket) and http.ts (HTTPS + a
// kubeconfig). Resources are named by their gvr key: "v1/pods", "apps/v1/deployments".

import type { KList, KObject, WatchEvent } from "../apimachinery/types.js";

export type PatchType = "json" | "merge" | "strategic" | "apply";

export const patchContentTypes: Record<PatchType, string> = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
};

export interface ListOpts {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  /** "" / undefined = most recent; "0" = any (cache ok); otherwise exact/not older than. */
  resourceVersion?: string;
}

export interface WatchOpts {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Events after this resourceVersion. Required for a resumable watch. */
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export interface WriteOpts {
  dryRun?: boolean;
  /** update only: "status" (same as updateStatus) or "finalize" (namespaces). */
  subresource?: string;
  fieldManager?: string;
  /** "Strict" | "Warn" | "Ignore" */
  fieldValidation?: string;
}

export interface PatchOpts extends WriteOpts {
  /** Server-side apply: take ownership of conflicting fields. */
  force?: boolean;
}

export interface DeleteOpts {
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface WatchHandle {
  stop(): void;
  /** Resolves when the watch ends (stopped, timed out, or failed). */
  done: Promise<void>;
}

export interface Client {
  get(gvr: string, namespace: string | undefined, name: string): Promise<KObject>;
  list(gvr: string, opts?: ListOpts): Promise<KList>;
  create(gvr: string, obj: KObject, opts?: WriteOpts): Promise<KObject>;
  /** Creates on a subresource, e.g. pods/binding, pods/eviction: POST …/{name}/{subresource}. */
  createSubresource(gvr: string, namespace: string | undefined, name: string, subresource: string, body: KObject): Promise<KObject>;
  update(gvr: string, obj: KObject, opts?: WriteOpts): Promise<KObject>;
  /** PUT …/status with the object's status. */
  updateStatus(gvr: string, obj: KObject, opts?: WriteOpts): Promise<KObject>;
  patch(gvr: string, namespace: string | undefined, name: string, type: PatchType, patch: unknown, opts?: PatchOpts): Promise<KObject>;
  /** Returns the object (with deletionTimestamp) when deletion is deferred by finalizers/grace, or a Status. */
  delete(gvr: string, namespace: string | undefined, name: string, opts?: DeleteOpts): Promise<KObject>;
  deleteCollection(gvr: string, opts?: ListOpts & DeleteOpts): Promise<void>;
  /**
   * Streams events (ADDED/MODIFIED/DELETED/BOOKMARK; ERROR with a Status on 410 etc.)
   * to onEvent until stopped or the server ends the watch.
   */
  watch(gvr: string, opts: WatchOpts, onEvent: (ev: WatchEvent) => void): Promise<WatchHandle>;
}
