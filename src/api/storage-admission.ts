// The DefaultStorageClass admission plugin
// (https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#defaultstorageclass):
// a PersistentVolumeClaim created without spec.storageClassName (absent, not "": an
// empty string explicitly asks for no class) and without the beta class annotation gets
// the cluster's default StorageClass. With no default class the claim is left alone.

import type { KObject } from "../apimachinery/types.js";
import type { AdmissionPlugin } from "../apiserver/admission.js";
import { defaultStorageClass } from "./storage.js";

const BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class";

/** `classes` lists the StorageClasses (the registry reads them from the store). */
export function defaultStorageClassAdmission(classes: () => Promise<KObject[]>): AdmissionPlugin {
  return {
    name: "DefaultStorageClass",
    async admit(req) {
      if (req.operation !== "create" || req.subresource || req.def.group !== "" || req.def.plural !== "persistentvolumeclaims") return;
      const pvc = req.object;
      if (!pvc.spec || typeof pvc.spec !== "object") return;
      if (pvc.spec.storageClassName !== undefined && pvc.spec.storageClassName !== null) return;
      if (pvc.metadata.annotations?.[BETA_CLASS_ANNOTATION] !== undefined) return;
      const def = defaultStorageClass(await classes());
      if (def) pvc.spec.storageClassName = def.metadata.name;
    },
  };
}
