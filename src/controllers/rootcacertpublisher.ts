// The root CA certificate publisher (kube-controller-manager's "root-ca-cert-publisher",
// https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#root-ca-configmap-publisher):
// every namespace holds a ConfigMap `kube-root-ca.crt` whose `ca.crt` is the cluster CA,
// so pods can verify the API server; the projected kube-api-access volume reads it. The
// ConfigMap is recreated when deleted and rewritten when changed or when the CA rotates.
// Terminating namespaces are skipped.

import type { Controller } from "../client/controller.js";

const NAMESPACES = "v1/namespaces";
const CONFIGMAPS = "v1/configmaps";
export const ROOT_CA_CONFIGMAP_NAME = "kube-root-ca.crt";
const DESCRIPTION =
  "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

export function rootCACertPublisher(caPem: string): Controller {
  return {
    name: "root-ca-cert-publisher",
    for: NAMESPACES,
    watches: [{ gvr: CONFIGMAPS, map: (cm) => (cm.metadata.name === ROOT_CA_CONFIGMAP_NAME && cm.metadata.namespace ? [{ name: cm.metadata.namespace }] : []) }],
    async reconcile(ctx, key) {
      const ns = ctx.reader.get(NAMESPACES, undefined, key.name);
      if (!ns || ns.metadata.deletionTimestamp || ns.status?.phase === "Terminating") return;
      const cm = ctx.reader.get(CONFIGMAPS, key.name, ROOT_CA_CONFIGMAP_NAME);
      const annotations = { "kubernetes.io/description": DESCRIPTION };
      try {
        if (!cm) {
          await ctx.client.create(CONFIGMAPS, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: ROOT_CA_CONFIGMAP_NAME, namespace: key.name, annotations }, data: { "ca.crt": caPem } });
        } else if (cm.data?.["ca.crt"] !== caPem || Object.keys(cm.data ?? {}).length !== 1) {
          await ctx.client.update(CONFIGMAPS, { ...cm, metadata: { ...cm.metadata, annotations: { ...(cm.metadata.annotations ?? {}), ...annotations } }, data: { "ca.crt": caPem } });
        }
      } catch (err) {
        const code = (err as { code?: number })?.code;
        // 409: our cache lags (retried through the watch); 403: the namespace started terminating.
        if (code !== 409 && code !== 403) throw err;
      }
    },
  };
}
