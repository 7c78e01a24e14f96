// Admission: plugins that see every write after defaulting and before validation and
// storage, and may mutate or reject it (https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/).
// Built-ins here: NamespaceLifecycle (no new objects in a missing or terminating
// namespace; system namespaces cannot be deleted). Others (ServiceAccount,
// DefaultTolerationSeconds, Service IP allocation, Priority) register themselves.

import { Forbidden, NotFound } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";
import type { ResourceDef } from "../api/types.js";

export type AdmissionOperation = "create" | "update" | "delete";

export interface AdmissionRequest {
  operation: AdmissionOperation;
  def: ResourceDef;
  namespace?: string;
  name: string;
  /** The object being written (mutable for create/update); the live object for delete. */
  object: KObject;
  old?: KObject;
  subresource?: string;
  dryRun: boolean;
}

export interface AdmissionPlugin {
  name: string;
  /** Mutate req.object in place, or throw a StatusError to reject. */
  admit(req: AdmissionRequest): Promise<void> | void;
  /** Called after a successful delete or a failed write, to release what admit reserved. */
  release?(req: AdmissionRequest): Promise<void> | void;
}

export const systemNamespaces = ["default", "kube-system", "kube-public", "kube-node-lease"];

/** Looks up a namespace object (through the registry) for NamespaceLifecycle. */
export type NamespaceGetter = (name: string) => Promise<KObject | undefined>;

export function namespaceLifecycle(getNamespace: NamespaceGetter): AdmissionPlugin {
  return {
    name: "NamespaceLifecycle",
    async admit(req) {
      if (req.def.group === "" && req.def.plural === "namespaces") {
        if (req.operation === "delete" && systemNamespaces.slice(0, 3).includes(req.name)) {
          throw new Forbidden(`namespaces "${req.name}" is forbidden: this namespace may not be deleted`, {
            name: req.name,
            kind: "namespaces",
          });
        }
        return;
      }
      if (!req.def.namespaced || req.operation !== "create" || !req.namespace) return;
      const ns = await getNamespace(req.namespace);
      if (!ns) throw new NotFound("namespaces", req.namespace);
      if (ns.metadata.deletionTimestamp || ns.status?.phase === "Terminating") {
        // Upstream lets events through so controllers can report on the teardown.
        if (req.def.plural === "events") return;
        throw new Forbidden(
          `${req.def.plural} "${req.name}" is forbidden: unable to create new content in namespace ${req.namespace} because it is being terminated`,
          { name: req.name, kind: req.def.plural, group: req.def.group },
        );
      }
    },
  };
}
