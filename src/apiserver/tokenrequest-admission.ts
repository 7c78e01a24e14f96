// The ServiceAccount admission plugin's token volume
// (https://kubernetes.io/docs/concepts/security/service-accounts/#get-a-token and
// https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#bound-service-account-token-volume):
// a new pod whose automountServiceAccountToken (on the pod, else on its ServiceAccount)
// is not false gets a projected volume `kube-api-access-<5 chars>` — a bound token
// (3607 s, renewed by the kubelet), ca.crt from the namespace's `kube-root-ca.crt`
// ConfigMap, and the namespace — mounted read-only at
// /var/run/secrets/kubernetes.io/serviceaccount in every container and init container
// that does not already mount something there. Registered after ServiceAccount admission
// in registry.ts; the kube-root-ca.crt publisher (controllers/rootcacertpublisher.ts)
// provides the ConfigMap, without which such pods wait in ContainerCreating.

import type { KObject } from "../apimachinery/types.js";
import type { AdmissionPlugin } from "./admission.js";
import { randomSuffix } from "./registry.js";

export const SERVICE_ACCOUNT_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";
/** Upstream's value: one hour plus a few seconds, so the token outlives a kubelet's renewal window. */
export const KUBE_API_ACCESS_EXPIRATION_SECONDS = 3607;
const VOLUME_PREFIX = "kube-api-access-";

/** The projected volume upstream admission adds. */
export function kubeAPIAccessVolume(name: string): Record<string, unknown> {
  return {
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { expirationSeconds: KUBE_API_ACCESS_EXPIRATION_SECONDS, path: "token" } },
        { configMap: { name: ROOT_CA_CONFIGMAP, items: [{ key: "ca.crt", path: "ca.crt" }] } },
        { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
      ],
    },
  };
}

/** Finds a pod's ServiceAccount (undefined when it does not exist yet). */
export type ServiceAccountLookup = (namespace: string, name: string) => Promise<KObject | undefined>;

export function serviceAccountTokenVolumeAdmission(lookup: ServiceAccountLookup): AdmissionPlugin {
  return {
    name: "ServiceAccountTokenVolume",
    async admit(req) {
      if (req.operation !== "create" || req.def.group !== "" || req.def.plural !== "pods" || req.subresource) return;
      const spec = req.object.spec;
      if (!spec || typeof spec !== "object") return;
      // Mirror pods (static pods) never get API credentials upstream.
      if (req.object.metadata?.annotations?.["kubernetes.io/config.mirror"]) return;
      let automount: unknown = spec.automountServiceAccountToken;
      if (automount === undefined || automount === null) {
        const sa = await lookup(req.namespace ?? "default", spec.serviceAccountName || spec.serviceAccount || "default");
        automount = sa?.automountServiceAccountToken;
      }
      if (automount === false) return;
      const volumes: any[] = Array.isArray(spec.volumes) ? spec.volumes : [];
      let volume = volumes.find((v) => typeof v?.name === "string" && v.name.startsWith(VOLUME_PREFIX) && v.projected);
      const containers = [...(Array.isArray(spec.initContainers) ? spec.initContainers : []), ...(Array.isArray(spec.containers) ? spec.containers : [])];
      const needing = containers.filter((c) => c && typeof c === "object" && !(Array.isArray(c.volumeMounts) && c.volumeMounts.some((m: any) => m?.mountPath === SERVICE_ACCOUNT_MOUNT_PATH)));
      if (!needing.length) return;
      if (!volume) {
        const taken = new Set(volumes.map((v) => v?.name));
        let name: string;
        do name = VOLUME_PREFIX + randomSuffix(5);
        while (taken.has(name));
        volume = kubeAPIAccessVolume(name);
        volumes.push(volume);
        spec.volumes = volumes;
      }
      for (const c of needing) {
        c.volumeMounts = [...(Array.isArray(c.volumeMounts) ? c.volumeMounts : []), { name: volume.name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH }];
      }
    },
  };
}
