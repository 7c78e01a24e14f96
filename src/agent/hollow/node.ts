// A hollow node: a kubelet that registers a Node, keeps its heartbeat and drives the
// pods bound to it without running any container, after kubemark's hollow node and
// kwok (https://kwok.sigs.k8s.io/). It does what the control plane can see of a
// kubelet: self-registration with capacity, conditions, addresses and nodeInfo
// (https://kubernetes.io/docs/concepts/architecture/nodes/#self-registration-of-nodes),
// a Lease in kube-node-lease renewed every 10 s and a periodic status post
// (https://kubernetes.io/docs/concepts/architecture/nodes/#node-heartbeats), and pod
// status through the stages of stages.ts (runtime.ts). Its InternalIP comes from
// 198.18.0.0/15 (RFC 2544 benchmarking range): written into objects, never contacted.

import type { KObject } from "../../apimachinery/types.js";
import type { Client } from "../../client/types.js";
import { realClock, type Clock } from "../../client/clock.js";
import type { SharedInformerFactory } from "../../client/sharedinformers.js";
import { silentLogger, type Logger, type Runnable } from "../../client/runnable.js";
import { HollowPodDriver, hollowMetrics, intToIp, parseCIDR, rfc3339, type HollowNodeView } from "./runtime.js";
import { localPathProvisioner } from "../storage/localpath.js";
import { defaultStages, HEARTBEAT_ANNOTATION, type Stage, type StageOptions } from "./stages.js";

export const NODES = "v1/nodes";
export const LEASES = "coordination.k8s.io/v1/leases";
export const NODE_LEASE_NAMESPACE = "kube-node-lease";

/** Names of the hollow nodes registered by this process (the metrics source reports each). */
export const hollowNodeNames = new Set<string>();

export interface HollowCapacity {
  cpu?: string;
  memory?: string;
  pods?: string | number;
}

/** Settings every hollow node of a process shares (fleet.ts passes one to all). */
export interface HollowNodeSettings {
  capacity?: HollowCapacity;
  labels?: Record<string, string>;
  /** Lease renewal period (default 10 s) and duration (default 40 s). */
  leaseRenewIntervalMs?: number;
  leaseDurationSeconds?: number;
  /**
   * Status is checked against the cached Node at every lease renewal and posted when it
   * differs (e.g. marked Unknown) or at least this often (default 60 s).
   */
  statusReportIntervalMs?: number;
  /**
   * "self" (default): the node takes subnet `index` of clusterCIDR/nodeCIDRMaskSize;
   * "controller": the node waits for the node lifecycle controller to set spec.podCIDR.
   */
  podCIDRFrom?: "self" | "controller";
  clusterCIDR?: string;
  nodeCIDRMaskSize?: number;
}

export interface HollowNodeOptions extends HollowNodeSettings {
  client: Client;
  informers: SharedInformerFactory;
  name: string;
  /** Position in its fleet: picks the InternalIP and the self-chosen podCIDR. */
  index?: number;
  clock?: Clock;
  log?: Logger;
  /** Pod lifecycle (default: defaultStages(stageOptions)). */
  stages?: Stage[];
  stageOptions?: StageOptions;
}

const MEMORY_PRESSURE = ["MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"] as const;
const DISK_PRESSURE = ["DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"] as const;
const PID_PRESSURE = ["PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"] as const;
const READY = ["Ready", "KubeletReady", "kubelet is posting ready status"] as const;

/** Lease times are MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "000Z");
}

/** Subnet `index` of size /mask inside clusterCIDR; undefined when it does not fit. */
export function subnetAt(clusterCIDR: string, mask: number, index: number): string | undefined {
  const c = parseCIDR(clusterCIDR);
  if (!c || mask < c.bits || mask > 32) return undefined;
  const size = 2 ** (32 - mask);
  if ((index + 1) * size > c.size) return undefined;
  return `${intToIp(c.base + index * size)}/${mask}`;
}

function code(err: unknown): number | undefined {
  return (err as { code?: number })?.code;
}

export class HollowNode implements HollowNodeView {
  readonly name: string;
  readonly hostIP: string;
  readonly index: number;
  private cidr?: string;
  private uid?: string;
  private heartbeating = true;
  /** The heartbeat was stopped by the Node's HEARTBEAT_ANNOTATION (not by stopHeartbeat()). */
  private stoppedByAnnotation = false;
  private registered = false;
  private lastStatusPost = -Infinity;
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(private readonly o: HollowNodeOptions) {
    this.name = o.name;
    this.index = o.index ?? 0;
    this.clock = o.clock ?? realClock;
    this.log = o.log ?? silentLogger;
    // 198.18.0.0/15: never routed anywhere, room for 131k nodes.
    this.hostIP = intToIp(((198 << 24) >>> 0) + (18 << 16) + this.index + 1);
    if ((o.podCIDRFrom ?? "self") === "self") this.cidr = subnetAt(o.clusterCIDR ?? "10.42.0.0/16", o.nodeCIDRMaskSize ?? 24, this.index);
  }

  podCIDR(): string | undefined {
    return this.cidr;
  }

  isRegistered(): boolean {
    return this.registered;
  }

  /** Test hook: the node stops renewing its Lease and posting status, as if it died. */
  stopHeartbeat(): void {
    this.heartbeating = false;
  }

  /** Undoes stopHeartbeat: the next tick renews the Lease and posts Ready=True. */
  resumeHeartbeat(): void {
    this.heartbeating = true;
    this.lastStatusPost = -Infinity;
  }

  isHeartbeating(): boolean {
    return this.heartbeating;
  }

  /** Follows HEARTBEAT_ANNOTATION on the cached Node: "stopped" stops, removal resumes. */
  followHeartbeatAnnotation(cached: KObject | undefined): void {
    const stop = cached?.metadata?.annotations?.[HEARTBEAT_ANNOTATION] === "stopped";
    if (stop && this.heartbeating) {
      this.stoppedByAnnotation = true;
      this.stopHeartbeat();
      this.log.info("hollow node heartbeat stopped by annotation", { node: this.name });
    } else if (!stop && this.stoppedByAnnotation) {
      this.stoppedByAnnotation = false;
      this.resumeHeartbeat();
      this.log.info("hollow node heartbeat resumed", { node: this.name });
    }
  }

  private conditions(now: string, previous: any[] = []): unknown[] {
    return [MEMORY_PRESSURE, DISK_PRESSURE, PID_PRESSURE, READY].map(([type, reason, message]) => {
      const status = type === "Ready" ? "True" : "False";
      const old = previous.find((c) => c?.type === type);
      const since = old && old.status === status ? old.lastTransitionTime ?? now : now;
      return { type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: since };
    });
  }

  /** The Node object the kubelet registers. */
  nodeObject(): KObject {
    const now = rfc3339(this.clock.now());
    const cap = this.o.capacity ?? {};
    const capacity = { cpu: cap.cpu ?? "4", memory: cap.memory ?? "16Gi", pods: String(cap.pods ?? 110), "ephemeral-storage": "100Gi" };
    return {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: this.name,
        labels: {
          "kubernetes.io/hostname": this.name,
          "kubernetes.io/os": "linux",
          "kubernetes.io/arch": "amd64",
          "node.kubernetes.io/instance-type": "hollow",
          ...(this.o.labels ?? {}),
        },
        annotations: { "node.alpha.kubernetes.io/ttl": "0" },
      },
      spec: this.cidr ? { podCIDR: this.cidr, podCIDRs: [this.cidr] } : {},
      status: {
        capacity,
        allocatable: { ...capacity },
        conditions: this.conditions(now),
        addresses: [
          { type: "InternalIP", address: this.hostIP },
          { type: "Hostname", address: this.name },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
        nodeInfo: {
          machineID: `hollow-${this.index}`,
          systemUUID: `hollow-${this.index}`,
          bootID: `hollow-${this.index}`,
          kernelVersion: "hollow",
          osImage: "Tugboat hollow node",
          containerRuntimeVersion: "hollow://1",
          kubeletVersion: "v1.32.0-tug",
          kubeProxyVersion: "v1.32.0-tug",
          operatingSystem: "linux",
          architecture: "amd64",
        },
      },
    };
  }

  /** Creates the Node (or refreshes its status when it exists already, as after a restart). */
  async register(): Promise<void> {
    const obj = this.nodeObject();
    let node: KObject;
    try {
      node = await this.o.client.create(NODES, obj);
      // Registration carries status; should the server drop it on create (status
      // subresource semantics), post it through status/.
      if (!node.status?.capacity) node = await this.o.client.patch(NODES, undefined, this.name, "merge", { status: obj.status }, { subresource: "status" });
    } catch (err) {
      if (code(err) !== 409) throw err;
      const existing = await this.o.client.get(NODES, undefined, this.name);
      if (existing.spec?.podCIDR) this.cidr = existing.spec.podCIDR;
      node = await this.o.client.patch(NODES, undefined, this.name, "merge", { status: { ...obj.status, conditions: this.conditions(obj.status.conditions[0].lastHeartbeatTime, existing.status?.conditions) } }, { subresource: "status" });
    }
    this.uid = node.metadata.uid;
    if (node.spec?.podCIDR) this.cidr = node.spec.podCIDR;
    this.lastStatusPost = this.clock.now();
    this.registered = true;
    hollowNodeNames.add(this.name);
    await this.renewLease();
  }

  /** Creates or renews the node's Lease (a merge patch: no read, no conflict). */
  async renewLease(): Promise<void> {
    if (!this.registered || !this.heartbeating) return;
    const renewTime = microTime(this.clock.now());
    try {
      await this.o.client.patch(LEASES, NODE_LEASE_NAMESPACE, this.name, "merge", { spec: { renewTime, holderIdentity: this.name } });
    } catch (err) {
      if (code(err) !== 404) throw err;
      await this.o.client.create(LEASES, {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: {
          name: this.name,
          namespace: NODE_LEASE_NAMESPACE,
          // Owned by the Node so the garbage collector removes it with the node.
          ownerReferences: this.uid ? [{ apiVersion: "v1", kind: "Node", name: this.name, uid: this.uid }] : undefined,
        },
        spec: { holderIdentity: this.name, leaseDurationSeconds: this.o.leaseDurationSeconds ?? 40, renewTime },
      });
    }
  }

  /**
   * Posts status when the cached Node disagrees with what the kubelet would report
   * (Ready not True, e.g. after the node controller marked it Unknown) or every
   * statusReportInterval. `cached` is the Node from the shared node informer, if any.
   * Returns true when a podCIDR newly became known (the caller resyncs pods).
   */
  async syncStatus(cached: KObject | undefined): Promise<boolean> {
    if (!this.registered || !this.heartbeating) return false;
    let learnedCIDR = false;
    if (!this.cidr && cached?.spec?.podCIDR) {
      this.cidr = cached.spec.podCIDR;
      learnedCIDR = true;
    }
    const now = this.clock.now();
    const ready = (cached?.status?.conditions as any[] | undefined)?.find((c) => c?.type === "Ready");
    const stale = cached !== undefined && ready?.status !== "True";
    if (!stale && now - this.lastStatusPost < (this.o.statusReportIntervalMs ?? 60_000)) return learnedCIDR;
    const patch = { status: { conditions: this.conditions(rfc3339(now), cached?.status?.conditions) } };
    await this.o.client.patch(NODES, undefined, this.name, "merge", patch, { subresource: "status" });
    this.lastStatusPost = now;
    return learnedCIDR;
  }

  /** Runs this node alone (its own pod driver and timers); fleets use hollowFleet instead. */
  runnable(): Runnable {
    return hollowNodesRunnable(`hollow-node/${this.name}`, [this], this.o);
  }
}

/** Settings for running a set of nodes with shared machinery. */
export interface HollowRunSettings extends HollowNodeSettings {
  client: Client;
  informers: SharedInformerFactory;
  clock?: Clock;
  log?: Logger;
  stages?: Stage[];
  stageOptions?: StageOptions;
  /** Concurrent API writes while registering and heartbeating (default 64). */
  writeConcurrency?: number;
  /** Called once every node has registered. */
  onRegistered?(ms: number): void;
  /**
   * Provision local-path volumes for claims the scheduler placed on these nodes (API
   * objects only, no directories; default true), so claims bind as on real nodes.
   */
  provisionVolumes?: boolean;
}

/** Runs fn over items with at most `limit` in flight; failures are collected, not thrown. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (x: T) => Promise<void>): Promise<unknown[]> {
  const errors: unknown[] = [];
  let i = 0;
  const worker = async () => {
    while (i < items.length) {
      const x = items[i++]!;
      try {
        await fn(x);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return errors;
}

/**
 * One runnable for many nodes: one pod driver on the shared pod informer, one node
 * informer for status checks, and one ticker that walks the nodes in `buckets` slices
 * so lease renewals are spread evenly over the renewal period instead of bursting.
 */
export function hollowNodesRunnable(name: string, nodes: HollowNode[], s: HollowRunSettings): Runnable {
  const clock = s.clock ?? realClock;
  const log = s.log ?? silentLogger;
  const limit = s.writeConcurrency ?? 64;
  const byName = new Map(nodes.map((n) => [n.name, n]));
  let registered!: () => void;
  const readyP = new Promise<void>((r) => (registered = r));
  return {
    name,
    needsLeader: false,
    ready: () => readyP,
    async start(signal) {
      const pods = s.informers.informerFor("v1/pods");
      const nodeInf = s.informers.informerFor(NODES);
      const driver = new HollowPodDriver({
        client: s.client,
        pods,
        clock,
        stages: s.stages ?? defaultStages(s.stageOptions),
        backoffScale: s.stageOptions?.backoffScale,
        nodeFor: (n) => {
          const node = byName.get(n);
          return node?.isRegistered() ? node : undefined;
        },
        log,
      });
      s.informers.start(signal);
      const t0 = Date.now();
      const errors = await forEachLimited(nodes, limit, async (n) => {
        if (!signal.aborted) await n.register();
      });
      for (const e of errors.slice(0, 3)) log.error("hollow node registration failed", { error: String((e as Error)?.message ?? e) });
      s.onRegistered?.(Date.now() - t0);
      registered();
      if (signal.aborted) return;
      driver.start();
      for (const n of nodes) driver.resyncNode(n.name);
      const volumes =
        s.provisionVolumes === false
          ? undefined
          : localPathProvisioner({ client: s.client, nodeName: "hollow", dataDir: "/var/lib/tugboat-hollow", log, hollow: { servesNode: (n) => byName.has(n) } }).start(signal);

      const renewMs = s.leaseRenewIntervalMs ?? 10_000;
      const buckets = Math.max(1, Math.min(nodes.length, Math.floor(renewMs / 100)));
      const tickMs = renewMs / buckets;
      const slices: HollowNode[][] = Array.from({ length: buckets }, () => []);
      nodes.forEach((n, i) => slices[i % buckets]!.push(n));
      let bucket = 0;
      let timer: { stop(): boolean } | undefined;
      const tick = async () => {
        if (signal.aborted) return;
        const slice = slices[bucket]!;
        bucket = (bucket + 1) % buckets;
        // The next tick is armed only after this slice's writes finish: a slow API
        // stretches the renewal period instead of piling up writes.
        await forEachLimited(slice, limit, async (n) => {
          if (!n.isRegistered()) return;
          try {
            const cached = nodeInf.store.get(undefined, n.name);
            n.followHeartbeatAnnotation(cached);
            await n.renewLease();
            if (await n.syncStatus(cached)) driver.resyncNode(n.name);
          } catch (err) {
            log.error("hollow node heartbeat failed", { node: n.name, error: String((err as Error)?.message ?? err) });
          }
        });
        if (!signal.aborted) timer = clock.setTimer(() => void tick(), tickMs);
      };
      timer = clock.setTimer(() => void tick(), tickMs);
      await new Promise<void>((res) => (signal.aborted ? res() : signal.addEventListener("abort", () => res(), { once: true })));
      timer?.stop();
      driver.stop();
      await volumes;
      // Stopped nodes report nothing more through the metrics API.
      for (const n of nodes) hollowNodeNames.delete(n.name);
      for (const [key, u] of hollowMetrics) if (byName.has(u.node)) hollowMetrics.delete(key);
    },
  };
}
