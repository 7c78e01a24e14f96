// The DefaultIngressClass admission plugin
// (https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#defaultingressclass):
// an Ingress created without spec.ingressClassName (and without the deprecated
// kubernetes.io/ingress.class annotation) gets the IngressClass annotated
// ingressclass.kubernetes.io/is-default-class=true. With several defaults, the newest
// wins, as upstream does; with none, the Ingress is left alone.

import type { KObject } from "../apimachinery/types.js";
import type { AdmissionPlugin } from "../apiserver/admission.js";

const DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class";
const LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class";

/** The default IngressClass among `classes`: the newest one marked default. */
export function defaultIngressClass(classes: KObject[]): KObject | undefined {
  return classes
    .filter((c) => c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === "true")
    .sort((a, b) => String(b.metadata.creationTimestamp ?? "").localeCompare(String(a.metadata.creationTimestamp ?? "")))[0];
}

/** `classes` lists the IngressClasses (the registry reads them from the store). */
export function defaultIngressClassAdmission(classes: () => Promise<KObject[]>): AdmissionPlugin {
  return {
    name: "DefaultIngressClass",
    async admit(req) {
      if (req.operation !== "create" || req.subresource || req.def.group !== "networking.k8s.io" || req.def.plural !== "ingresses") return;
      const ing = req.object;
      if (!ing.spec || typeof ing.spec !== "object") return;
      if (ing.spec.ingressClassName !== undefined && ing.spec.ingressClassName !== null) return;
      if (ing.metadata.annotations?.[LEGACY_CLASS_ANNOTATION] !== undefined) return;
      const def = defaultIngressClass(await classes());
      if (def) ing.spec.ingressClassName = def.metadata.name;
    },
  };
}
