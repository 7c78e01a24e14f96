// `tug up` and `tug agent --hollow N`: a node side next to (or away from) the control
// plane. In `tug up` the node talks to the server over HTTPS with the admin kubeconfig,
// exactly as a remote agent would: no in-process back door (ARCHITECTURE.md, Runnables).
// Hollow nodes (src/agent/hollow) simulate kubelets for fast tests and scale runs; the
// real agent (src/agent/agent.ts) runs containers through containerd, and `tug up`
// then deploys a small demo app (demo/hello.yaml) and prints how to reach it.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import type { KObject } from "../apimachinery/types.js";
import type { ServerOptions } from "./server.js";
import { loadKubeconfig } from "../client/kubeconfig.js";
import { createHttpClient } from "../client/http.js";
import { SharedInformerFactory } from "../client/sharedinformers.js";
import { consoleLogger, type Logger, type Runnable } from "../client/runnable.js";
import type { Client } from "../client/types.js";
import { hollowFleet } from "../agent/hollow/fleet.js";

export interface HollowAgentOptions {
  count: number;
  namePrefix?: string;
  capacity?: { cpu?: string; memory?: string; pods?: string };
  leaseRenewIntervalMs?: number;
  /** The pod range hollow nodes take their subnets from (the server's --cluster-cidr; default 10.42.0.0/16). */
  clusterCIDR?: string;
  log?: Logger;
}

/** A client for a node: HTTPS with the given kubeconfig. */
export function nodeClient(kubeconfigPath: string): Client {
  return createHttpClient(loadKubeconfig(kubeconfigPath));
}

/** Hollow nodes as one Runnable with their own informers over the given client. */
export function hollowAgent(client: Client, opts: HollowAgentOptions): Runnable {
  const informers = new SharedInformerFactory(client, {});
  const fleet = hollowFleet({
    client,
    informers,
    count: opts.count,
    namePrefix: opts.namePrefix,
    capacity: opts.capacity,
    leaseRenewIntervalMs: opts.leaseRenewIntervalMs,
    clusterCIDR: opts.clusterCIDR,
    log: opts.log ?? consoleLogger("hollow"),
    onRegistered: (ms) => (opts.log ?? consoleLogger("hollow")).info(`${opts.count} hollow nodes registered in ${Math.round(ms)} ms`),
  });
  return {
    name: "hollow-agent",
    needsLeader: false,
    async start(signal) {
      informers.start(signal);
      await fleet.start(signal);
      await informers.stopped();
    },
  };
}

// ---- `tug up` with the real node agent ------------------------------------------

/** Where demo/hello.yaml is, from src/cli or dist/src/cli. */
export function demoManifestPath(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, "demo", "hello.yaml");
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return undefined;
}

function gvrOf(obj: KObject): string {
  const plural = `${String(obj.kind).toLowerCase()}${String(obj.kind).endsWith("s") ? "es" : "s"}`;
  return `${obj.apiVersion}/${plural}`;
}

/** Creates each object of the manifest; objects that exist already are left as they are. */
export async function applyManifest(client: Client, file: string): Promise<KObject[]> {
  const objs = parseAllDocuments(readFileSync(file, "utf8"))
    .map((d) => d.toJS() as KObject)
    .filter((o) => o && o.kind);
  for (const obj of objs) {
    try {
      await client.create(gvrOf(obj), obj);
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
  return objs;
}

/** Waits for the demo Deployment to be available; returns its pods' IPs (or undefined on timeout). */
export async function waitForDemo(client: Client, signal: AbortSignal, timeoutMs = 180_000): Promise<{ podIPs: string[]; clusterIP?: string } | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (!signal.aborted && Date.now() < deadline) {
    try {
      const d = await client.get("apps/v1/deployments", "demo", "hello");
      const want = d.spec?.replicas ?? 1;
      if ((d.status?.availableReplicas ?? 0) >= want && (d.status?.updatedReplicas ?? 0) >= want) {
        const pods = await client.list("v1/pods", { namespace: "demo", labelSelector: "app=hello" });
        const podIPs = pods.items
          .filter((p) => !p.metadata.deletionTimestamp && (p.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"))
          .map((p) => p.status?.podIP as string)
          .filter(Boolean);
        const svc = await client.get("v1/services", "demo", "hello").catch(() => undefined);
        if (podIPs.length >= want) return { podIPs, clusterIP: svc?.spec?.clusterIP };
      }
    } catch {
      // not there yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return undefined;
}

export interface UpRealOptions {
  server: ServerOptions;
  /** Parsed node flags (cli/agent.ts nodeFlags) plus no-demo. */
  values: Record<string, string | boolean | undefined>;
}

/** `tug up` without --hollow-nodes: server + one real node agent (+ the demo app). */
export async function runUpReal(o: UpRealOptions, signal: AbortSignal): Promise<number> {
  const { startServer } = await import("./server.js");
  const { agentOptionsFrom } = await import("./agent.js");
  const { realAgent } = await import("../agent/agent.js");
  const agentOpts = await agentOptionsFrom(o.values);
  const log = consoleLogger("up");
  // Host checks before anything listens: a node that cannot run is an error, not a half cluster.
  if (process.platform !== "linux" || process.getuid?.() !== 0) {
    console.error("tug up: running containers needs root on Linux (sudo npx tug up), or simulate nodes with --hollow-nodes N");
    return 1;
  }
  const { ensureNodeDependencies } = await import("../agent/node/deps.js");
  try {
    await ensureNodeDependencies({ install: agentOpts.installDependencies, log: (l) => console.error(`tug up: ${l}`) });
  } catch (err) {
    console.error(`tug up: ${(err as Error).message}`);
    return 1;
  }
  let kubeconfigPath = "";
  let url = "";
  let client: Client | undefined;
  let onNodeReady!: (i: import("../agent/agent.js").AgentInfo) => void;
  const nodeReady = new Promise<import("../agent/agent.js").AgentInfo>((r) => (onNodeReady = r));
  const server = await startServer(o.server, signal, (base) => {
    kubeconfigPath = base.kubeconfigPath;
    url = base.url;
    client = nodeClient(base.kubeconfigPath);
    const caPEM = loadKubeconfig(base.kubeconfigPath).ca;
    return [realAgent({ ...agentOpts, client, caPEM, dataDir: join(o.server.dataDir, "agent"), controlPlane: true, onReady: onNodeReady })];
  });
  const stopped = server.done;
  let failed: unknown;
  const ended = stopped.then(
    () => undefined,
    (err) => {
      failed = err;
      return undefined;
    },
  );
  const info = await Promise.race([nodeReady, ended]);
  if (info && client) {
    console.error(`tug up: server ${url}, node ${info.nodeName} (${info.nodeIP}, pods ${info.podCIDR}) ready`);
    console.error(`  export KUBECONFIG=${kubeconfigPath}`);
    console.error(`  kubectl get nodes -o wide; kubectl get pods -A`);
    const manifest = o.values["no-demo"] === true ? undefined : demoManifestPath();
    if (manifest) {
      try {
        await applyManifest(client, manifest);
        log.info("demo app deployed; waiting for it to be ready", { manifest });
        const waiting = new AbortController();
        signal.addEventListener("abort", () => waiting.abort(), { once: true });
        void ended.then(() => waiting.abort());
        const demo = await waitForDemo(client, waiting.signal);
        if (demo) {
          console.error(`tug up: demo app "hello" (namespace demo, ${demo.podIPs.length} pods) is ready. Reach it:`);
          for (const ip of demo.podIPs) console.error(`  curl http://${ip}:8080/            # pod IP, routed from this host`);
          if (info.parts.some((p) => p.includes("proxy")) && demo.clusterIP) console.error(`  curl http://${demo.clusterIP}/            # the Service's ClusterIP`);
          const ingressPort = o.server.ingressHttpPort ?? 80;
          if (!o.server.disable?.includes("ingress") && ingressPort > 0) console.error(`  curl http://hello.localhost${ingressPort === 80 ? "" : `:${ingressPort}`}/      # the Ingress (*.localhost is this machine)`);
          if (info.kubeletPort) console.error(`  kubectl --kubeconfig ${kubeconfigPath} -n demo port-forward svc/hello 8080:80 &  curl http://127.0.0.1:8080/`);
          console.error(`  kubectl --kubeconfig ${kubeconfigPath} -n demo get deploy,pods,svc -o wide`);
        } else if (!waiting.signal.aborted) {
          console.error(`tug up: the demo app is not ready yet; see kubectl --kubeconfig ${kubeconfigPath} -n demo describe pods`);
        }
      } catch (err) {
        log.error("demo app failed", { error: String((err as Error)?.message ?? err) });
      }
    }
  }
  await ended;
  if (failed !== undefined) {
    console.error(`tug up: ${String((failed as Error)?.message ?? failed)}`);
    return 1;
  }
  console.error(`tug up stopped; pods keep running and come back under the next tug up (tug down --data-dir ${o.server.dataDir} stops them)`);
  return 0;
}
