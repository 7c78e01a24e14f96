// `tug server`: the control plane in one process, composed like k3s's server
// (https://docs.k3s.io/architecture): store → registry → HTTPS API server, then the
// leader-elected controllers, all as Runnables under one Supervisor.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { openStore } from "../store/open.js";
import { Compactor } from "../store/compactor.js";
import type { Store } from "../store/types.js";
import { builtinCatalogue } from "../api/catalogue.js";
import { Registry } from "../apiserver/registry.js";
import { bootstrapCluster } from "../apiserver/bootstrap.js";
import { ApiServer, defaultHosts } from "../apiserver/server.js";
import { ensurePKI, type PKI } from "../apiserver/pki.js";
import { TokenTable } from "../apiserver/authn.js";
import { serverURL } from "../client/kubeconfig.js";
import { createInProcessClient } from "../client/inprocess.js";
import { SharedInformerFactory } from "../client/sharedinformers.js";
import { Supervisor, consoleLogger, type Logger, type Runnable } from "../client/runnable.js";
import { controllerRunnables } from "../controllers/registry.js";
import type { Client } from "../client/types.js";
import { schedulerRunnable } from "../scheduler/scheduler.js";
import { ClientEventRecorder } from "../client/events.js";
import { CompositeMetricsSource, metricsDiscoveryGroup, metricsHandler } from "../apiserver/metrics.js";

export interface ServerOptions {
  dataDir: string;
  host: string;
  port: number;
  /** Store URL; default sqlite in the data dir. */
  storeURL?: string;
  /** Run leader election for controllers (default true). */
  leaderElect?: boolean;
  /** kube-controller-manager style list: "*", "-name", "name". */
  controllers?: string[];
  /** Run the scheduler (default true). */
  scheduler?: boolean;
  log?: Logger;
}

export interface RunningServer {
  api: ApiServer;
  registry: Registry;
  store: Store;
  pki: PKI;
  client: Client;
  informers: SharedInformerFactory;
  metrics: CompositeMetricsSource;
  supervisor: Supervisor;
  kubeconfigPath: string;
  url: string;
  /** Resolves when everything has stopped. */
  done: Promise<void>;
  /** Extra runnables (e.g. an in-process agent) can be added before start. */
}

export async function startServer(opts: ServerOptions, signal: AbortSignal, extra: (s: Omit<RunningServer, "done" | "supervisor">) => Runnable[] = () => []): Promise<RunningServer> {
  const log = opts.log ?? consoleLogger("server");
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore(opts.storeURL ?? join(opts.dataDir, "state.db"));
  const registry = new Registry(store, builtinCatalogue());
  const url = serverURL(opts.host === "0.0.0.0" || opts.host === "::" ? "127.0.0.1" : opts.host, opts.port);
  const [pki] = await Promise.all([ensurePKI(opts.dataDir, { hosts: defaultHosts(opts.host), server: url }), bootstrapCluster(registry, { apiServer: { host: opts.host === "0.0.0.0" || opts.host === "::" ? "127.0.0.1" : opts.host, port: opts.port } })]);
  const tokens = new TokenTable([[pki.token, { name: "system:bootstrap:tugboat", groups: ["system:bootstrappers", "system:nodes"] }]]);
  // Resource usage for `kubectl top` and the HPA; node agents add their sources.
  const metrics = new CompositeMetricsSource();
  const api = new ApiServer({
    registry,
    pki,
    host: opts.host,
    port: opts.port,
    tokens,
    extraHandlers: [metricsHandler(metrics, registry)],
    extraDiscovery: [metricsDiscoveryGroup()],
  });
  await api.listen();
  const client = createInProcessClient(registry);
  const informers = new SharedInformerFactory(client, { resyncPeriodMs: 0 });
  const identity = `${hostname()}_${randomBytes(4).toString("hex")}`;
  const supervisor = new Supervisor({
    log,
    election: opts.leaderElect === false ? undefined : { client, name: "tug-controller-manager", namespace: "kube-system", identity, releaseOnCancel: true },
  });
  const base = { api, registry, store, pki, client, informers, metrics, kubeconfigPath: join(opts.dataDir, "kubeconfig.yaml"), url };
  supervisor.add(
    new Compactor(store, {}),
    ...controllerRunnables({ client, informers, log }, registry.catalogue.defs, opts.controllers, metrics),
    ...(opts.scheduler === false ? [] : [schedulerRunnable({ client, informers, log, recorder: new ClientEventRecorder(client, { component: "default-scheduler" }) })]),
    ...extra(base),
  );
  // Informers live as long as the process, not as long as one leadership term.
  informers.start(signal);
  const done = (async () => {
    try {
      await supervisor.start(signal);
      await informers.stopped();
    } finally {
      await api.close();
      await store.close();
    }
  })();
  return { ...base, supervisor, done };
}
