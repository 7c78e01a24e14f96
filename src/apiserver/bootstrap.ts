// Objects every cluster has from the start (https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/#initial-namespaces):
// the namespaces default, kube-system, kube-public and kube-node-lease. Idempotent:
// runs at every server start and creates only what is missing.

import { AlreadyExists } from "../apimachinery/errors.js";
import type { Registry } from "./registry.js";
import { systemNamespaces } from "./admission.js";

export async function bootstrapCluster(reg: Registry): Promise<void> {
  const nsDef = reg.def("v1/namespaces");
  for (const name of systemNamespaces) {
    try {
      await reg.create(nsDef, undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name } }, { fieldManager: "tug-bootstrap" });
    } catch (e) {
      if (!(e instanceof AlreadyExists)) throw e;
    }
  }
}
