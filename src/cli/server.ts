// `tug server`: the control plane in one process, composed like k3s's server
// (https://docs.k3s.io/architecture): store → registry → HTTPS API server, then the
// leader-elected controllers, all as Runnables under one Supervisor.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { hostname, networkInterfaces } from "node:os";
import { randomBytes } from "node:crypto";
import { openStore } from "../store/open.js";
import { Compactor } from "../store/compactor.js";
import type { Store } from "../store/types.js";
import { builtinCatalogue } from "../api/catalogue.js";
import { Registry } from "../apiserver/registry.js";
import { bootstrapCluster } from "../apiserver/bootstrap.js";
import { ApiServer, defaultHosts } from "../apiserver/server.js";
import { ensurePKI, type PKI } from "../apiserver/pki.js";
import { ServiceAccountTokenIssuer, setServiceAccountTokenIssuer } from "../apiserver/tokenrequest.js";
import { TokenTable } from "../apiserver/authn.js";
import { serverURL } from "../client/kubeconfig.js";
import { createInProcessClient } from "../client/inprocess.js";
import { SharedInformerFactory } from "../client/sharedinformers.js";
import { Supervisor, consoleLogger, type Logger, type Runnable } from "../client/runnable.js";
import { controllerRunnables } from "../controllers/registry.js";
import { serviceLBRunnable } from "../network/servicelb.js";
import type { Client } from "../client/types.js";
import { schedulerRunnable } from "../scheduler/scheduler.js";
import { ClientEventRecorder } from "../client/events.js";
import { CompositeMetricsSource, metricsDiscoveryGroup, metricsHandler } from "../apiserver/metrics.js";
import { kubeletClientCert, podProxy } from "../apiserver/podproxy.js";
import { agentMetricsSource } from "../agent/stats/metricssource.js";
import { apiServerServiceIP, defaultServiceRanges, dnsServiceIP, type ServiceRanges } from "../apiserver/serviceallocation.js";
import { publishClusterConfig } from "../apiserver/clusterconfig.js";
import { DEFAULT_CLUSTER_CIDR, type ClusterOptions } from "./clusterflags.js";
import { controllerRunnable } from "../client/controller.js";
import { clusterDNSRunnable } from "../network/dns/server.js";
import { ensureKubeDNSService } from "../network/dns/kubedns.js";
import { IngressController } from "../network/ingress/controller.js";
import { ingressStatusController } from "../network/ingress/status.js";
import { persistedDefaultCertificate } from "../network/ingress/tls.js";

/** Cluster ranges and node-lifecycle timings (cli/clusterflags.ts; each defaults as its flag does). */
export interface ServerOptions extends Partial<ClusterOptions> {
  dataDir: string;
  host: string;
  port: number;
  /** Store URL; default sqlite in the data dir. */
  storeURL?: string;
  /** Run leader election for controllers (default true). */
  leaderElect?: boolean;
  /** kube-controller-manager style list: "*", "-name", "name". */
  controllers?: string[];
  /** --horizontal-pod-autoscaler-sync-period in ms (default 15 s). */
  hpaSyncPeriodMs?: number;
  /** Run the scheduler (default true). */
  scheduler?: boolean;
  log?: Logger;
  /** Where pods and nodes reach this server: `kubernetes`/`kube-dns` endpoints, Ingress status (default: first non-internal IPv4). */
  advertiseAddress?: string;
  /** Cluster DNS zone (default cluster.local). */
  clusterDomain?: string;
  /** Cluster DNS server address and port, UDP and TCP (default 0.0.0.0:10053). */
  clusterDNSBind?: string;
  clusterDNSPort?: number;
  /** Ingress listeners (default 0.0.0.0, ports 80 and 443; 0 = any free port). */
  ingressBind?: string;
  ingressHttpPort?: number;
  ingressHttpsPort?: number;
  /** Built-in components not to run: "ingress", "dns". */
  disable?: string[];
}

/** The host's first non-internal IPv4 address, else 127.0.0.1: the default advertise address. */
export function defaultAdvertiseAddress(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
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
  const serviceRanges: ServiceRanges = {
    serviceCIDR: opts.serviceCIDR ?? defaultServiceRanges.serviceCIDR,
    nodePortMin: opts.nodePortMin ?? defaultServiceRanges.nodePortMin,
    nodePortMax: opts.nodePortMax ?? defaultServiceRanges.nodePortMax,
  };
  const clusterCIDR = opts.clusterCIDR ?? DEFAULT_CLUSTER_CIDR;
  const registry = new Registry(store, builtinCatalogue(), {
    serviceRanges,
    defaultNotReadyTolerationSeconds: opts.defaultNotReadyTolerationSeconds,
    defaultUnreachableTolerationSeconds: opts.defaultUnreachableTolerationSeconds,
  });
  const url = serverURL(opts.host === "0.0.0.0" || opts.host === "::" ? "127.0.0.1" : opts.host, opts.port);
  const advertise = opts.advertiseAddress || defaultAdvertiseAddress();
  const clusterDomain = opts.clusterDomain ?? "cluster.local";
  const dnsPort = opts.clusterDNSPort ?? 10053;
  const disabled = new Set(opts.disable ?? []);
  // Pods reach the API as kubernetes.default.svc (10.43.0.1 → advertise address): the serving cert names both.
  const apiNames = [advertise, apiServerServiceIP(serviceRanges), "kubernetes", "kubernetes.default", "kubernetes.default.svc", `kubernetes.default.svc.${clusterDomain}`];
  const certHosts = [...defaultHosts(opts.host), ...apiNames];
  const [firstPKI, addresses] = await Promise.all([
    ensurePKI(opts.dataDir, { hosts: certHosts, server: url }),
    bootstrapCluster(registry, { apiServer: { host: advertise, port: opts.port } }).then(async () => {
      if (!disabled.has("dns")) {
        const err = await ensureKubeDNSService(registry, { clusterIP: dnsServiceIP(serviceRanges), address: advertise, port: dnsPort });
        if (err) log.error("cluster DNS: cannot create the kube-dns Service", { error: err.message });
      }
      // The addresses the two Services really have: after a --service-cidr change they keep the old ones.
      const ipOf = (ns: string, name: string) =>
        registry.get(registry.def("v1/services"), ns, name).then(
          (svc) => (typeof svc.spec?.clusterIP === "string" && svc.spec.clusterIP !== "None" ? (svc.spec.clusterIP as string) : undefined),
          () => undefined,
        );
      const apiIP = await ipOf("default", "kubernetes");
      const dnsIP = (await ipOf("kube-system", "kube-dns")) ?? dnsServiceIP(serviceRanges);
      // Agents read the ranges and the DNS address from kube-system/tugboat-config.
      await publishClusterConfig(registry, {
        serviceCIDR: serviceRanges.serviceCIDR,
        clusterCIDR,
        clusterDNS: dnsIP,
        clusterDomain,
        serviceNodePortRange: `${serviceRanges.nodePortMin}-${serviceRanges.nodePortMax}`,
      });
      return { apiIP, dnsIP };
    }),
  ]);
  const pki = addresses.apiIP && !certHosts.includes(addresses.apiIP) ? await ensurePKI(opts.dataDir, { hosts: [...certHosts, addresses.apiIP], server: url }) : firstPKI;
  const tokens = new TokenTable([[pki.token, { name: "system:bootstrap:tugboat", groups: ["system:bootstrappers", "system:nodes"] }]]);
  // Signs and verifies service-account tokens (serviceaccounts/token, projected volumes).
  setServiceAccountTokenIssuer(registry, ServiceAccountTokenIssuer.load(pki.dir));
  // Resource usage for `kubectl top` and the HPA; node agents add their sources.
  const metrics = new CompositeMetricsSource();
  const kubeletClient = await kubeletClientCert(pki);
  const proxy = podProxy({ registry, clientCert: kubeletClient });
  const api = new ApiServer({
    registry,
    pki,
    host: opts.host,
    port: opts.port,
    tokens,
    extraHandlers: [metricsHandler(metrics, registry)],
    extraDiscovery: [metricsDiscoveryGroup()],
    // pods/log, exec, attach, portforward go to the node agent's HTTPS port.
    streaming: proxy.streaming,
    upgrade: proxy.upgrade,
  });
  await api.listen();
  const client = createInProcessClient(registry);
  // Real node agents' /stats/summary → metrics.k8s.io (hollow nodes have their own source).
  const agentMetrics = agentMetricsSource({ client, clientCert: kubeletClient, log });
  metrics.add(agentMetrics);
  const informers = new SharedInformerFactory(client, { resyncPeriodMs: 0 });
  // One identity per host and listen address: a server restarted after a crash takes its
  // own Lease back at once instead of waiting for it to expire, while two servers on one
  // host (different ports) still campaign against each other. Port 0 gets a random suffix.
  const identity = opts.port ? `${hostname()}_${opts.host}:${opts.port}` : `${hostname()}_${randomBytes(4).toString("hex")}`;
  const supervisor = new Supervisor({
    log,
    election: opts.leaderElect === false ? undefined : { client, name: "tug-controller-manager", namespace: "kube-system", identity, releaseOnCancel: true },
  });
  const base = { api, registry, store, pki, client, informers, metrics, kubeconfigPath: join(opts.dataDir, "kubeconfig.yaml"), url };
  supervisor.add(
    new Compactor(store, {}),
    agentMetrics,
    ...controllerRunnables({ client, informers, log }, registry.catalogue.defs, opts.controllers, metrics, { hpaSyncPeriodMs: opts.hpaSyncPeriodMs, nodeMonitorGracePeriodMs: opts.nodeMonitorGracePeriodMs, clusterCIDR }, pki.ca.certPem),
    // Built-in LoadBalancer (k3s ServiceLB style); "-servicelb" in --controllers turns it off.
    ...((opts.controllers ?? ["*"]).includes("-servicelb") ? [] : [serviceLBRunnable({ client, informers, log })]),
    // Cluster DNS and ingress serve on every server; only the Ingress status writer needs the lease.
    ...(disabled.has("dns") ? [] : [clusterDNSRunnable({ informers, domain: clusterDomain, host: opts.clusterDNSBind ?? "0.0.0.0", port: dnsPort, dnsServiceIP: addresses.dnsIP, reverseCIDRs: [clusterCIDR, serviceRanges.serviceCIDR], log })]),
    ...(disabled.has("ingress")
      ? []
      : [
          new IngressController({ informers, host: opts.ingressBind ?? "0.0.0.0", httpPort: opts.ingressHttpPort ?? 80, httpsPort: opts.ingressHttpsPort ?? 443, defaultCertificate: () => persistedDefaultCertificate(pki), log }),
          controllerRunnable(ingressStatusController({ address: advertise }), { client, informers, log }),
        ]),
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
