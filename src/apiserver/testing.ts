// A real API (registry over a SQLite store in a temp dir, bootstrapped namespaces) for
// tests of controllers and clients, without HTTP. Not a mock: the same code path as
// `tug server` minus the socket.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "../client/types.js";
import { createInProcessClient } from "../client/inprocess.js";
import { builtinCatalogue } from "../api/catalogue.js";
import { openStore } from "../store/open.js";
import { Registry } from "./registry.js";
import { bootstrapCluster } from "./bootstrap.js";
import { ServiceAccountTokenIssuer, setServiceAccountTokenIssuer } from "./tokenrequest.js";
import { selfSignedServingCert } from "./pki.js";
import { ROOT_CA_CONFIGMAP_NAME } from "../controllers/rootcacertpublisher.js";

export interface TestApi {
  client: Client;
  registry: Registry;
  dir: string;
  close(): Promise<void>;
}

/**
 * What the service-account controllers and the token issuer would have done by the time
 * a test's pods start, so pods get (and can mount) their kube-api-access volume: the
 * `default` ServiceAccount and `kube-root-ca.crt` in the default namespace, and a token
 * issuer with its key in the temp dir. Namespaces a test creates have neither.
 */
async function seedServiceAccounts(registry: Registry, dir: string): Promise<void> {
  setServiceAccountTokenIssuer(registry, ServiceAccountTokenIssuer.load(join(dir, "pki")));
  const client = createInProcessClient(registry);
  const ca = await selfSignedServingCert(["tugboat-test-ca"]);
  await client.create("v1/serviceaccounts", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: "default" } }).catch(() => {});
  await client.create("v1/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: ROOT_CA_CONFIGMAP_NAME, namespace: "default" }, data: { "ca.crt": ca.certPem } });
}

export interface TestApiOptions {
  /** Seed the default ServiceAccount, kube-root-ca.crt and a token issuer (for tests whose pods mount their token). */
  serviceAccounts?: boolean;
}

export async function startTestApi(opts: TestApiOptions = {}): Promise<TestApi> {
  const dir = mkdtempSync(join(tmpdir(), "tug-test-"));
  const store = await openStore(join(dir, "state.db"));
  const registry = new Registry(store, builtinCatalogue());
  await bootstrapCluster(registry);
  if (opts.serviceAccounts) await seedServiceAccounts(registry, dir);
  return {
    client: createInProcessClient(registry),
    registry,
    dir,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
