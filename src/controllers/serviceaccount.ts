// The ServiceAccount controller's `default` account
// (https://kubernetes.io/docs/concepts/security/service-accounts/#default-service-accounts
// and https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/):
// every namespace gets a ServiceAccount named `default`, created when missing and
// recreated if someone deletes it, so pods that name no account can always run.
// Terminating namespaces are skipped: their contents are being removed.

import type { Controller } from "../client/controller.js";

const NAMESPACES = "v1/namespaces";
const SERVICE_ACCOUNTS = "v1/serviceaccounts";
export const DEFAULT_SERVICE_ACCOUNT = "default";

export function serviceAccountController(): Controller {
  return {
    name: "serviceaccount",
    for: NAMESPACES,
    // A deleted default account wakes its namespace.
    watches: [{ gvr: SERVICE_ACCOUNTS, map: (sa) => (sa.metadata.name === DEFAULT_SERVICE_ACCOUNT && sa.metadata.namespace ? [{ name: sa.metadata.namespace }] : []) }],
    async reconcile(ctx, key) {
      const ns = ctx.reader.get(NAMESPACES, undefined, key.name);
      if (!ns || ns.metadata.deletionTimestamp || ns.status?.phase === "Terminating") return;
      if (ctx.reader.get(SERVICE_ACCOUNTS, key.name, DEFAULT_SERVICE_ACCOUNT)) return;
      try {
        await ctx.client.create(SERVICE_ACCOUNTS, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace: key.name } });
      } catch (err) {
        const code = (err as { code?: number })?.code;
        // 409: it exists already (our cache lags); 403: the namespace started terminating.
        if (code !== 409 && code !== 403) throw err;
      }
    },
  };
}
