// The real node agent — Tugboat's kubelet process, composed like k3s's agent
// (https://docs.k3s.io/architecture#how-agent-node-registration-works): host packages,
// a containerd owned by the agent (or an existing one via --containerd-socket), the
// locally built sandbox and busybox images, the `unreachable` routes for the cluster
// ranges, node registration + heartbeats (node/registration.ts), the CNI config for the
// node's podCIDR, and the kubelet's pod loop (kubelet/kubelet.ts). Parts built beside
// it — the kubelet's HTTPS server (src/agent/server), the service proxy and node routes
// (src/network), the local-path provisioner (src/agent/storage) — are loaded when their
// files exist, so the agent runs with whatever has landed.
//
// Stopping the agent stops what it started (kubelet, heartbeats, containerd, routes) but
// not the pods: like a kubelet or k3s restart, containers keep running in their shims and
// the next agent run re-adopts them from CRI state. `tug down` (node/teardown.ts) is the
// counterpart of k3s-killall.sh and removes everything.

import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Client } from "../client/types.js";
import type { SharedInformerFactory } from "../client/sharedinformers.js";
import { SharedInformerFactory as InformerFactory } from "../client/sharedinformers.js";
import { consoleLogger, type Logger, type Runnable } from "../client/runnable.js";
import { ContainerdProcess, qualifyImage } from "./containerd.js";
import { DEFAULT_BRIDGE, NETWORK_STATE_FILE, installUnreachableRoutes, removeUnreachableRoutes, writeNodeConflist } from "./cni.js";
import { readClusterNetwork, type ClusterNetwork } from "../apiserver/clusterconfig.js";
import { BUSYBOX_IMAGE, PAUSE_IMAGE, buildNodeImages } from "./images/build.js";
import { importImage } from "./images/import.js";
import { CriRuntime } from "./runtime/cri/runtime.js";
import type { ContainerRuntime } from "./runtime/types.js";
import { kubeletRunnable, type KubeletOptions } from "./kubelet/kubelet.js";
import { ensureNodeDependencies } from "./node/deps.js";
import { defaultNodeIP, defaultNodeName, goArch, type ResourceList } from "./node/hostinfo.js";
import { NodeRegistration } from "./node/registration.js";
import { ROLE_CONTROL_PLANE, ROLE_MASTER } from "./node/status.js";

export const DEFAULT_KUBELET_VERSION = "v1.32.0-tugboat";

export interface RealAgentOptions {
  /** The API client (HTTPS, like any remote agent). */
  client: Client;
  /** The agent's own directory (DATA/agent): containerd, CNI, pod logs, images. */
  dataDir: string;
  nodeName?: string;
  nodeIP?: string;
  /** Use this containerd instead of starting one. */
  containerdSocket?: string;
  /** Ask for this podCIDR (kubelet --pod-cidr) instead of waiting for the node IPAM controller. */
  podCIDR?: string;
  /** CNI bridge name (default tug0). */
  bridge?: string;
  /**
   * Cluster ranges covered by `unreachable` routes; [] to leave routes alone. Default:
   * the pod and service ranges the server publishes (kube-system/tugboat-config).
   */
  clusterCIDRs?: string[];
  /** Overrides of what the server publishes in kube-system/tugboat-config (apiserver/clusterconfig.ts). */
  clusterCIDR?: string;
  serviceCIDR?: string;
  clusterDNS?: string;
  clusterDomain?: string;
  /** Node labels; `controlPlane` adds the control-plane and master role labels. */
  labels?: Record<string, string>;
  controlPlane?: boolean;
  maxPods?: number;
  kubeReserved?: ResourceList;
  systemReserved?: ResourceList;
  kubeletVersion?: string;
  /** Install missing Debian packages when root (default true). */
  installDependencies?: boolean;
  statusUpdateIntervalMs?: number;
  statusReportIntervalMs?: number;
  leaseRenewIntervalMs?: number;
  log?: Logger;
  /** PEM of the cluster CA: the kubelet API accepts client certificates it signed. */
  caPEM?: string;
  /** The kubelet API port (default 10250; 0 = any free port). */
  kubeletPort?: number;
  /** Called when the node is Ready to run pods (kubelet synced). */
  onReady?(info: AgentInfo): void;
}

export interface AgentInfo {
  nodeName: string;
  nodeIP: string;
  podCIDR: string;
  containerdAddress: string;
  /** Optional parts that were found and started (e.g. "agent-server", "service-proxy"). */
  parts: string[];
  kubeletPort: number;
}

const here = dirname(fileURLToPath(import.meta.url));

/** Imports a sibling module of the tree if its file exists (source or compiled). */
export async function importIfPresent(relFromAgentDir: string): Promise<any | undefined> {
  const base = join(here, relFromAgentDir);
  const stem = base.replace(/\.js$/, "");
  if (!existsSync(`${stem}.js`) && !existsSync(`${stem}.ts`)) return undefined;
  return import(`${stem}.js`);
}

/** Makes sure the pause and busybox images are in containerd's k8s.io namespace. */
export async function ensureNodeImages(runtime: ContainerRuntime, address: string, dir: string, log: Logger): Promise<void> {
  const missing: string[] = [];
  for (const img of [PAUSE_IMAGE, BUSYBOX_IMAGE]) if (!(await runtime.imageStatus(qualifyImage(img)))) missing.push(img);
  if (missing.length === 0) return;
  const t0 = performance.now();
  const built = await buildNodeImages(dir);
  for (const img of [built.pause, built.busybox]) if (missing.includes(img.name)) await importImage(img.file, { address });
  log.info("images built and imported", { images: missing, ms: Math.round(performance.now() - t0) });
}

/**
 * The node agent as one Runnable. It has no `ready()` for the supervisor on purpose: in
 * `tug up` the node waits for its podCIDR from a leader-only controller that the
 * supervisor starts only after every ordinary runnable is ready. `whenReady()` (or
 * `onReady`) tells when pods can run.
 */
export function realAgent(o: RealAgentOptions): Runnable & { info(): AgentInfo | undefined; whenReady(): Promise<void> } {
  const log = o.log ?? consoleLogger("agent");
  const nodeName = o.nodeName ?? defaultNodeName();
  const nodeIP = o.nodeIP ?? defaultNodeIP();
  const bridge = o.bridge ?? DEFAULT_BRIDGE;
  let clusterCIDRs: string[] = o.clusterCIDRs ?? [];
  let info: AgentInfo | undefined;
  let readyResolve!: () => void;
  const readyP = new Promise<void>((r) => (readyResolve = r));

  return {
    name: "agent",
    needsLeader: false,
    whenReady: () => readyP,
    info: () => info,
    async start(signal) {
      if (process.platform !== "linux" || process.getuid?.() !== 0) {
        throw new Error("the node agent runs containers and needs root on Linux (for a cluster without containers: tug up --hollow-nodes N)");
      }
      await mkdir(o.dataDir, { recursive: true, mode: 0o700 });
      await ensureNodeDependencies({ install: o.installDependencies !== false, log: (l) => log.info(l) });

      // Every part runs under `parts`; aborting it stops them, containerd last.
      const parts = new AbortController();
      const stopParts = () => parts.abort();
      signal.addEventListener("abort", stopParts, { once: true });
      const running: Promise<void>[] = [];
      let failure: unknown;
      const run = (what: string, p: Promise<void>) => {
        running.push(
          p.catch((err) => {
            if (parts.signal.aborted) return;
            log.error(`${what} failed`, { error: String((err as Error)?.message ?? err) });
            failure ??= err;
            parts.abort();
          }),
        );
      };

      let containerd: ContainerdProcess | undefined;
      let containerdDone: Promise<void> | undefined;
      const containerdStop = new AbortController();
      let address = o.containerdSocket;
      if (!address) {
        containerd = new ContainerdProcess({ dataDir: o.dataDir });
        address = containerd.address;
        containerdDone = containerd.start(containerdStop.signal).catch((err) => {
          if (!containerdStop.signal.aborted) {
            failure ??= err;
            parts.abort();
          }
        });
      }
      const runtime = new CriRuntime(address, { timeoutMs: 30_000 });
      let routesInstalled = false;
      try {
        // The cluster's ranges and DNS address, from the server (flags override).
        const net = await clusterNetworkFor(o, parts.signal, log);
        if (!net) throw failure ?? new Error("stopped");
        clusterCIDRs = o.clusterCIDRs ?? [net.clusterCIDR, net.serviceCIDR];
        routesInstalled = clusterCIDRs.length > 0;
        // `tug down` removes the unreachable routes this node used, whatever the ranges were.
        await writeFile(join(o.dataDir, NETWORK_STATE_FILE), JSON.stringify({ unreachableRoutes: clusterCIDRs, ...net }, null, 2) + "\n");
        if (containerd) {
          const r = await Promise.race([containerd.ready, new Promise<never>((_, rej) => parts.signal.addEventListener("abort", () => rej(new Error("stopped")), { once: true }))]);
          log.info(r.adopted ? "adopted running containerd" : "containerd started", { address, version: r.runtimeVersion, ms: Math.round(r.startMs) });
        }
        await ensureNodeImages(runtime, address, join(o.dataDir, "images"), log);
        if (routesInstalled) await installUnreachableRoutes(clusterCIDRs);

        const cniConfDir = containerd?.paths.cniConfDir ?? join(o.dataDir, "cni", "net.d");
        // The node API (src/agent/server, when present) comes first so the Node is registered with its port (daemonEndpoints).
        const started: string[] = [];
        let kubeletPort = 0;
        const nodeAPI = await agentServerPart({ runtime, nodeName, nodeIP, log }, o);
        if (nodeAPI) {
          run(nodeAPI.name, nodeAPI.start(parts.signal));
          started.push(nodeAPI.name);
          await Promise.race([nodeAPI.ready!(), new Promise<void>((res) => parts.signal.addEventListener("abort", () => res(), { once: true }))]);
          kubeletPort = nodeAPI.port!();
        }
        const registration = new NodeRegistration({
          client: o.client,
          runtime,
          identity: {
            name: nodeName,
            internalIP: nodeIP,
            hostname: nodeName,
            arch: goArch(),
            podCIDR: o.podCIDR,
            labels: { ...(o.controlPlane ? { [ROLE_CONTROL_PLANE]: "true", [ROLE_MASTER]: "true" } : {}), ...(o.labels ?? {}) },
          },
          dataDir: o.dataDir,
          kubeletVersion: o.kubeletVersion ?? DEFAULT_KUBELET_VERSION,
          maxPods: o.maxPods,
          kubeReserved: o.kubeReserved,
          systemReserved: o.systemReserved,
          kubeletPort: () => kubeletPort,
          onPodCIDR: async (cidr) => {
            await writeNodeConflist({ confDir: cniConfDir, podCIDR: cidr, bridge });
          },
          statusUpdateIntervalMs: o.statusUpdateIntervalMs,
          statusReportIntervalMs: o.statusReportIntervalMs,
          leaseRenewIntervalMs: o.leaseRenewIntervalMs,
          log,
        });
        run("node registration", registration.start(parts.signal));
        const podCIDR = await Promise.race([registration.podCIDR(), new Promise<undefined>((res) => parts.signal.addEventListener("abort", () => res(undefined), { once: true }))]);
        if (!podCIDR) throw failure ?? new Error("stopped");

        const informers: SharedInformerFactory = new InformerFactory(o.client, {});
        informers.start(parts.signal);
        const ctx = { client: o.client, informers, runtime, nodeName, nodeIP, podCIDR, dataDir: o.dataDir, log, clusterCIDRs, bridge, clusterCIDR: net.clusterCIDR, serviceCIDR: net.serviceCIDR };
        for (const p of await optionalParts(ctx, o)) {
          run(p.name, p.start(parts.signal));
          started.push(p.name);
        }
        const kopts: KubeletOptions = {
          client: o.client,
          informers,
          runtime,
          nodeName,
          podCIDR,
          dataDir: o.dataDir,
          hostIP: nodeIP,
          log,
          // resolv.conf of dnsPolicy ClusterFirst pods.
          clusterDNS: [net.clusterDNS],
          clusterDomain: net.clusterDomain,
        };
        const kubelet = kubeletRunnable(kopts);
        run("kubelet", kubelet.start(parts.signal));
        await Promise.race([kubelet.ready?.(), new Promise<void>((res) => parts.signal.addEventListener("abort", () => res(), { once: true }))]);
        if (!parts.signal.aborted) {
          info = { nodeName, nodeIP, podCIDR, containerdAddress: address, parts: started, kubeletPort };
          log.info("node ready to run pods", { ...info });
          o.onReady?.(info);
          readyResolve();
        }
        await new Promise<void>((res) => (parts.signal.aborted ? res() : parts.signal.addEventListener("abort", () => res(), { once: true })));
      } catch (err) {
        if (!parts.signal.aborted) failure ??= err;
        parts.abort();
      } finally {
        signal.removeEventListener("abort", stopParts);
        parts.abort();
        await Promise.all(running);
        runtime.close();
        containerdStop.abort();
        await containerdDone;
        if (routesInstalled) await removeUnreachableRoutes(clusterCIDRs).catch(() => {});
      }
      if (failure !== undefined && !signal.aborted) throw failure;
    },
  };
}

/**
 * The cluster network this node works in: what the server publishes, with the agent's
 * own settings on top; undefined when stopped before the server answered.
 */
export async function clusterNetworkFor(o: Pick<RealAgentOptions, "client" | "clusterCIDR" | "serviceCIDR" | "clusterDNS" | "clusterDomain">, signal: AbortSignal, log?: Logger): Promise<ClusterNetwork | undefined> {
  const own = {
    ...(o.clusterCIDR ? { clusterCIDR: o.clusterCIDR } : {}),
    ...(o.serviceCIDR ? { serviceCIDR: o.serviceCIDR } : {}),
    ...(o.clusterDNS ? { clusterDNS: o.clusterDNS } : {}),
    ...(o.clusterDomain ? { clusterDomain: o.clusterDomain } : {}),
  };
  const published = await readClusterNetwork(o.client, { signal, log });
  return published && { ...published, ...own };
}

/** A part of the agent from another module: a Runnable, optionally with the port it serves. */
interface AgentPart extends Runnable {
  port?(): number;
}

interface PartContext {
  client: Client;
  informers: SharedInformerFactory;
  runtime: ContainerRuntime;
  nodeName: string;
  nodeIP: string;
  podCIDR: string;
  dataDir: string;
  log: Logger;
  clusterCIDRs: string[];
  bridge: string;
  /** The cluster's pod and service ranges (service proxy: masquerade, host access). */
  clusterCIDR: string;
  serviceCIDR: string;
}

/**
 * Parts other modules provide, when present: each is looked up by file and adapted here,
 * so the agent compiles and runs before (and after) they land. A part that fails to load
 * is logged and skipped: the node still runs pods.
 */
async function loadPart(rel: string, log: Logger): Promise<any | undefined> {
  try {
    return await importIfPresent(rel);
  } catch (err) {
    log.error("agent part failed to load; skipped", { module: rel, error: String((err as Error)?.message ?? err) });
    return undefined;
  }
}

/** The kubelet API (logs, exec, attach, port-forward, stats) on its own HTTPS port. */
async function agentServerPart(ctx: Pick<PartContext, "runtime" | "nodeName" | "nodeIP" | "log">, o: RealAgentOptions): Promise<AgentPart | undefined> {
  const server = await loadPart("server/server.js", ctx.log);
  if (!server?.agentServer || !o.caPEM) return undefined;
  const s = server.agentServer({
    runtime: ctx.runtime,
    nodeName: ctx.nodeName,
    ca: o.caPEM,
    hosts: [ctx.nodeIP, ctx.nodeName, "127.0.0.1", "localhost"],
    listen: { host: "0.0.0.0", port: o.kubeletPort ?? 10250 },
    log: ctx.log,
  });
  return { name: "agent-server", needsLeader: false, start: (sig) => s.start(sig), ready: () => s.ready(), port: () => s.port };
}

async function optionalParts(ctx: PartContext, _o: RealAgentOptions): Promise<AgentPart[]> {
  const out: AgentPart[] = [];
  const load = (rel: string) => loadPart(rel, ctx.log);
  // Routes to the other nodes' pod ranges.
  const routes = await load("../network/routes.js");
  if (routes?.nodeRoutesRunnable) {
    out.push(routes.nodeRoutesRunnable({ client: ctx.client, nodeName: ctx.nodeName, informers: ctx.informers, unreachableRoutes: ctx.clusterCIDRs.length ? ctx.clusterCIDRs : false, log: ctx.log }));
  }
  // Services: ClusterIP/NodePort DNAT in nftables. Its table is named after the bridge,
  // so two nodes on one host (tests) keep apart.
  const proxy = await load("../network/proxy/proxy.js");
  if (proxy?.serviceProxyRunnable) {
    out.push(
      proxy.serviceProxyRunnable({
        client: ctx.client,
        nodeName: ctx.nodeName,
        nodeIP: ctx.nodeIP,
        informers: ctx.informers,
        clusterCIDR: ctx.clusterCIDR,
        serviceCIDR: ctx.serviceCIDR,
        table: ctx.bridge === DEFAULT_BRIDGE ? "tugboat" : `tugboat-${ctx.bridge}`,
        log: ctx.log,
      }),
    );
  }
  // PersistentVolumeClaims of the local-path StorageClass: a directory per claim on this node.
  const localPath = await load("storage/localpath.js");
  const lp = localPath?.localPathProvisioner ?? localPath?.localPathProvisionerRunnable;
  if (typeof lp === "function") {
    out.push(lp({ client: ctx.client, nodeName: ctx.nodeName, dataDir: ctx.dataDir, log: ctx.log }));
  }
  return out;
}

export { DEFAULT_BRIDGE };
