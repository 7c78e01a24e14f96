// The kubelet's pod loop (https://kubernetes.io/docs/reference/command-line-tools-reference/kubelet/):
// watch the pods bound to this node (field selector spec.nodeName=<node>, as the real
// kubelet's API source does), hand each pod UID to its own worker (podworker.ts), poll
// container states every second (a stand-in for the PLEG, the pod lifecycle event
// generator), and tear down sandboxes whose pod no longer exists in the API ("orphaned"
// pods, cleaned up by the kubelet's housekeeping).

import type { KObject } from "../../apimachinery/types.js";
import type { Client } from "../../client/types.js";
import type { SharedInformerFactory } from "../../client/sharedinformers.js";
import { Informer } from "../../client/informer.js";
import { silentLogger, type Logger, type Runnable } from "../../client/runnable.js";
import type { ContainerRuntime } from "../runtime/types.js";
import { cpus, totalmem } from "node:os";
import { ClientEventRecorder, type EventRecorder } from "../../client/events.js";
import { POD_UID_LABEL, PodWorker, removePodCgroup, removePodFiles, type PodVolumes, type PodWorkerDeps } from "./podworker.js";
import { RestartBackoff } from "./backoff.js";
import { DEFAULT_CLUSTER_DNS, DEFAULT_CLUSTER_DOMAIN, readHostResolvConf } from "./sandboxconfig.js";
import { VolumeManager } from "./volumes/index.js";

export interface KubeletOptions {
  client: Client;
  informers: SharedInformerFactory;
  runtime: ContainerRuntime;
  nodeName: string;
  podCIDR: string;
  log?: Logger;
  /** Where pod log directories live (DATA/pods/…); default /var/lib/tugboat/agent. */
  dataDir?: string;
  /** Node address reported as status.hostIP; default the Node's InternalIP, else 127.0.0.1. */
  hostIP?: string;
  /** State poll period (default 1 s) and orphan sweep period (default 10 s). */
  pollIntervalMs?: number;
  housekeepingIntervalMs?: number;
  /** kubelet --cluster-dns (default ["10.43.0.10"]) and --cluster-domain (default "cluster.local"). */
  clusterDNS?: string[];
  clusterDomain?: string;
  /** kubelet --resolv-conf: the resolv.conf for dnsPolicy Default (default /etc/resolv.conf). */
  resolvConf?: string;
  /** CrashLoopBackOff delays: first delay (default 10 s) and cap (default 5 min). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Node allocatable for resourceFieldRef defaults and oom_score_adj; default the host's CPUs and memory. */
  allocatable?: { cpuMillis: number; memoryBytes: number };
  /** Volume manager; default one VolumeManager (volumes/) over dataDir. null: pods without volume support. */
  volumes?: PodVolumes | null;
  /** Event recorder; default a ClientEventRecorder (component "kubelet"). null: no events. */
  events?: EventRecorder | null;
}

export interface KubeletRunnable extends Runnable {
  /** Number of pods with a live worker (for tests and metrics). */
  workerCount(): number;
}

async function nodeInternalIP(client: Client, nodeName: string): Promise<string | undefined> {
  try {
    const node = await client.get("v1/nodes", undefined, nodeName);
    const addrs: any[] = node.status?.addresses ?? [];
    return addrs.find((a) => a?.type === "InternalIP")?.address;
  } catch {
    return undefined;
  }
}

export function kubeletRunnable(opts: KubeletOptions): KubeletRunnable {
  const log = opts.log ?? silentLogger;
  const workers = new Map<string, PodWorker>();
  const teardowns = new Set<Promise<void>>();
  let synced!: () => void;
  const readyP = new Promise<void>((r) => (synced = r));
  return {
    name: `kubelet-${opts.nodeName}`,
    needsLeader: false,
    ready: () => readyP,
    workerCount: () => workers.size,
    async start(signal) {
      const hostIP = opts.hostIP ?? (await nodeInternalIP(opts.client, opts.nodeName)) ?? "127.0.0.1";
      const dataDir = opts.dataDir ?? "/var/lib/tugboat/agent";
      const events = opts.events === null ? undefined : (opts.events ?? new ClientEventRecorder(opts.client, { component: "kubelet", host: opts.nodeName }));
      const deps: PodWorkerDeps = {
        client: opts.client,
        runtime: opts.runtime,
        hostIP,
        dataDir,
        log,
        dns: {
          clusterDNS: opts.clusterDNS ?? DEFAULT_CLUSTER_DNS,
          clusterDomain: opts.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
          host: readHostResolvConf(opts.resolvConf ?? "/etc/resolv.conf"),
        },
        backoff: new RestartBackoff({ baseMs: opts.backoffBaseMs, maxMs: opts.backoffMaxMs }),
        pullBackoff: new RestartBackoff({ baseMs: opts.backoffBaseMs, maxMs: opts.backoffMaxMs }),
        allocatable: opts.allocatable ?? { cpuMillis: cpus().length * 1000, memoryBytes: totalmem() },
        volumes: opts.volumes === null ? undefined : (opts.volumes ?? new VolumeManager({ client: opts.client, dataDir, nodeName: opts.nodeName, log })),
        events,
      };
      // Our own informer: the shared factory keys informers by resource only, without selectors.
      const pods = new Informer(opts.client, "v1/pods", {
        fieldSelector: `spec.nodeName=${opts.nodeName}`,
        onError: (err) => log.error("pod watch failed", { error: String((err as Error)?.message ?? err) }),
      });
      const upsert = (pod: KObject) => {
        const uid = pod.metadata.uid;
        if (!uid || signal.aborted) return;
        let w = workers.get(uid);
        if (!w) {
          w = new PodWorker(pod, deps);
          workers.set(uid, w);
        }
        w.update(pod);
        void w.kick().then(() => {
          if (w!.done && workers.get(uid) === w) workers.delete(uid);
        });
      };
      pods.addEventHandler({
        onAdd: (o) => upsert(o),
        onUpdate: (_o, n) => upsert(n),
        onDelete: (o) => {
          const uid = o.metadata.uid;
          const w = uid ? workers.get(uid) : undefined;
          if (!w || !uid) return;
          workers.delete(uid);
          const t = w.teardown().catch((err) => log.error("pod teardown failed", { pod: o.metadata.name, error: String((err as Error)?.message ?? err) }));
          teardowns.add(t);
          void t.finally(() => teardowns.delete(t));
        },
      });
      const informerDone = pods.start(signal).catch((err) => log.error("pod informer stopped", { error: String(err) }));
      if (!(await pods.waitForSync(signal))) return void (await informerDone);
      synced();

      // Sandboxes labelled with a pod UID that has no worker belong to pods deleted while we were away.
      const housekeeping = async () => {
        try {
          for (const s of await opts.runtime.listPodSandboxes()) {
            const uid = s.labels[POD_UID_LABEL];
            if (!uid || workers.has(uid)) continue;
            log.info("removing orphaned sandbox", { id: s.id, pod: `${s.metadata.namespace}/${s.metadata.name}` });
            await opts.runtime.stopPodSandbox(s.id);
            await opts.runtime.removePodSandbox(s.id);
            await deps.volumes?.tearDown(uid);
            await removePodFiles(dataDir, { metadata: { name: s.metadata.name, namespace: s.metadata.namespace, uid } });
            await removePodCgroup(uid);
          }
          // Volume directories of pods that went away without a sandbox (e.g. stuck in FailedMount).
          const onDisk = (deps.volumes as { podUIDsOnDisk?: () => Promise<string[]> } | undefined)?.podUIDsOnDisk;
          if (onDisk) {
            for (const uid of await onDisk.call(deps.volumes)) if (!workers.has(uid)) await deps.volumes!.tearDown(uid);
          }
        } catch (err) {
          log.error("housekeeping failed", { error: String((err as Error)?.message ?? err) });
        }
      };
      await housekeeping();

      const poll = setInterval(() => {
        for (const [uid, w] of workers) {
          void w.kick().then(() => {
            if (w.done && workers.get(uid) === w) workers.delete(uid);
          });
        }
      }, opts.pollIntervalMs ?? 1000);
      const hk = setInterval(() => void housekeeping(), opts.housekeepingIntervalMs ?? 10_000);
      await new Promise<void>((res) => (signal.aborted ? res() : signal.addEventListener("abort", () => res(), { once: true })));
      clearInterval(poll);
      clearInterval(hk);
      // Probers and back-off timers stop with the kubelet; the containers do not.
      for (const w of workers.values()) w.stop();
      // Pods already being torn down are finished first, so nothing is left half-removed.
      await Promise.allSettled([...teardowns]);
      await informerDone;
      // Containers keep running when the agent stops (as with a real kubelet restart).
    },
  };
}
