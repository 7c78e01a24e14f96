// The in-process client: the Client interface served straight from the registry, for
// controllers running inside `tug server`. It takes the same path as an HTTP request
// (decoding checks, defaulting, admission, validation, resourceVersion checks) minus
// the socket, so a controller cannot do anything a remote client could not.

import type { KList, KObject, WatchEvent } from "../apimachinery/types.js";
import { deepCopy } from "../apimachinery/types.js";
import type { Client, DeleteOpts, ListOpts, PatchOpts, PatchType, WatchHandle, WatchOpts, WriteOpts } from "./types.js";
import type { Registry } from "../apiserver/registry.js";
import { deleteCollection, deleteObject } from "../apiserver/deletion.js";
import { watchObjects } from "../apiserver/watch.js";
import { bindPod, evictPod, finalizeNamespace, getScale, patchScale, updateScale } from "../apiserver/subresources.js";
import { parseFieldValidation } from "../apiserver/fieldvalidation.js";
import { createTokenRequest } from "../apiserver/tokenrequest.js";
import { BadRequest } from "../apimachinery/errors.js";

export function createInProcessClient(reg: Registry, fieldManager = "tug-controller"): Client {
  const wopts = (o?: WriteOpts) => ({
    dryRun: o?.dryRun,
    fieldManager: o?.fieldManager ?? fieldManager,
    fieldValidation: parseFieldValidation(o?.fieldValidation) ?? "Ignore",
  });
  return {
    async get(gvr, namespace, name) {
      return reg.get(reg.def(gvr), namespace, name);
    },
    async list(gvr, opts: ListOpts = {}): Promise<KList> {
      return reg.list(reg.def(gvr), opts.namespace, opts);
    },
    async create(gvr, obj, opts) {
      const def = reg.def(gvr);
      return (await reg.create(def, obj.metadata?.namespace, deepCopy(obj), wopts(opts))).object;
    },
    async createSubresource(gvr, namespace, name, subresource, body) {
      const def = reg.def(gvr);
      if (def.plural === "pods" && subresource === "binding") return bindPod(reg, def, namespace!, name, deepCopy(body));
      if (def.plural === "pods" && subresource === "eviction") return evictPod(reg, def, namespace!, name, deepCopy(body));
      if (def.group === "" && def.plural === "serviceaccounts" && subresource === "token") return createTokenRequest(reg, namespace!, name, deepCopy(body));
      throw new BadRequest(`subresource ${subresource} of ${gvr} does not accept POST`);
    },
    async update(gvr, obj, opts) {
      const def = reg.def(gvr);
      if (!obj.metadata?.name) throw new BadRequest("metadata.name: Required value");
      if (opts?.subresource === "finalize") return finalizeNamespace(reg, def, obj.metadata.name, deepCopy(obj));
      if (opts?.subresource === "scale") return updateScale(reg, def, obj.metadata.namespace, obj.metadata.name, deepCopy(obj), wopts(opts));
      if (opts?.subresource === "status") return (await reg.update(def, obj.metadata.namespace, obj.metadata.name, deepCopy(obj), { ...wopts(opts), subresource: "status" })).object;
      return (await reg.update(def, obj.metadata.namespace, obj.metadata.name, deepCopy(obj), wopts(opts))).object;
    },
    async updateStatus(gvr, obj, opts) {
      const def = reg.def(gvr);
      return (await reg.update(def, obj.metadata.namespace, obj.metadata.name!, deepCopy(obj), { ...wopts(opts), subresource: "status" })).object;
    },
    async patch(gvr, namespace, name, type: PatchType, patch, opts: PatchOpts = {}) {
      const def = reg.def(gvr);
      if (opts.subresource === "scale") return patchScale(reg, def, namespace, name, type, deepCopy(patch), wopts(opts));
      return (await reg.patch(def, namespace, name, type, deepCopy(patch), { ...wopts(opts), subresource: opts.subresource, force: opts.force })).object;
    },
    async delete(gvr, namespace, name, opts: DeleteOpts = {}) {
      return (await deleteObject(reg, reg.def(gvr), namespace, name, opts)).object;
    },
    async deleteCollection(gvr, opts = {}) {
      await deleteCollection(reg, reg.def(gvr), opts.namespace, opts, opts);
    },
    async watch(gvr, opts: WatchOpts, onEvent: (ev: WatchEvent) => void): Promise<WatchHandle> {
      const def = reg.def(gvr);
      let resolve!: () => void;
      const done = new Promise<void>((r) => (resolve = r));
      let ended = false;
      let timer: NodeJS.Timeout | undefined;
      const end = () => {
        if (ended) return;
        ended = true;
        if (timer) clearTimeout(timer);
        w.stop();
        resolve();
      };
      // Events are handed over asynchronously, in order, like a network stream: a
      // handler never runs inside the writer's call stack.
      const queue: WatchEvent[] = [];
      let scheduled = false;
      const flush = () => {
        scheduled = false;
        while (queue.length && !ended) {
          const ev = queue.shift()!;
          onEvent(ev);
          if (ev.type === "ERROR") end();
        }
      };
      const w = await watchObjects(reg, def, opts.namespace, opts, (ev) => {
        if (ended) return;
        queue.push(ev.type === "ERROR" ? ev : { type: ev.type, object: deepCopy(ev.object) });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
      if (opts.timeoutSeconds) timer = setTimeout(end, opts.timeoutSeconds * 1000);
      return { stop: end, done };
    },
  };
}

/** Scale and namespace-finalize helpers reachable in-process (no Client verb for them). */
export const inProcessSubresources = { getScale, updateScale, finalizeNamespace };
