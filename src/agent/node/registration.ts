// The kubelet's node side as one Runnable: self-registration, node heartbeats and the
// pod CIDR hand-off (https://kubernetes.io/docs/concepts/architecture/nodes/#self-registration-of-nodes
// and #node-heartbeats). It creates the Node (or refreshes it after a restart), renews
// the node's Lease in kube-node-lease every 10 s, recomputes status every 10 s and posts
// it when something changed or at least once a minute (nodeStatusUpdateFrequency and
// nodeStatusReportFrequency), and waits for spec.podCIDR (set by the node IPAM controller,
// or asked for with --pod-cidr) before calling `onPodCIDR`, which writes the CNI config:
// until then the runtime reports NetworkReady=false and the node stays NotReady.

import type { KObject } from "../../apimachinery/types.js";
import { nowRFC3339 } from "../../apimachinery/types.js";
import { isStatusError } from "../../apimachinery/errors.js";
import type { Client } from "../../client/types.js";
import { silentLogger, type Logger, type Runnable } from "../../client/runnable.js";
import type { ContainerRuntime } from "../runtime/types.js";
import { LEASES, NODE_LEASE_NAMESPACE, NODES, microTime } from "../hollow/node.js";
import { hostCapacity, hostNodeInfo, pressureSignals, type ResourceList } from "./hostinfo.js";
import { nodeObject, nodeStatus, statusChanged, type NodeIdentity, type NodeStatusInput } from "./status.js";

export interface NodeRegistrationOptions {
  client: Client;
  runtime: ContainerRuntime;
  identity: NodeIdentity;
  /** The agent's data dir: its filesystem is ephemeral-storage. */
  dataDir: string;
  kubeletVersion: string;
  maxPods?: number;
  kubeReserved?: ResourceList;
  systemReserved?: ResourceList;
  /** The kubelet HTTPS port to advertise (0 = none); read at every status computation. */
  kubeletPort?: () => number;
  /** Called once with the node's pod CIDR (writes the CNI conflist). */
  onPodCIDR(cidr: string): Promise<void>;
  statusUpdateIntervalMs?: number;
  statusReportIntervalMs?: number;
  leaseRenewIntervalMs?: number;
  leaseDurationSeconds?: number;
  log?: Logger;
}

const errMsg = (e: unknown): string => String((e as Error)?.message ?? e);
const code = (e: unknown): number | undefined => (isStatusError(e) ? e.code : (e as { code?: number })?.code);

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

export class NodeRegistration implements Runnable {
  readonly name: string;
  readonly needsLeader = false;
  private uid: string | undefined;
  private cidr: string | undefined;
  private lastPost = -Infinity;
  private registeredP: Promise<void>;
  private markRegistered!: () => void;
  private cidrP: Promise<string>;
  private resolveCIDR!: (c: string) => void;
  private readonly log: Logger;

  constructor(private readonly o: NodeRegistrationOptions) {
    this.name = `node-${o.identity.name}`;
    this.log = o.log ?? silentLogger;
    this.registeredP = new Promise((r) => (this.markRegistered = r));
    this.cidrP = new Promise((r) => (this.resolveCIDR = r));
  }

  /** Resolves once the Node exists in the API. */
  ready(): Promise<void> {
    return this.registeredP;
  }

  /** Resolves with the node's pod CIDR once known and the CNI config is written. */
  podCIDR(): Promise<string> {
    return this.cidrP;
  }

  /** What the node reports now. */
  async observe(): Promise<NodeStatusInput> {
    const rt = this.o.runtime;
    const [caps, pressure, runtime, version, images] = await Promise.all([
      hostCapacity({ dataDir: this.o.dataDir, maxPods: this.o.maxPods, kubeReserved: this.o.kubeReserved, systemReserved: this.o.systemReserved }),
      pressureSignals(this.o.dataDir),
      rt.status().catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))),
      rt.version().catch(() => undefined),
      rt.listImages().catch(() => []),
    ]);
    return {
      ...caps,
      pressure,
      runtime,
      nodeInfo: hostNodeInfo(version?.runtimeName ?? rt.name, version?.runtimeVersion ?? "unknown", this.o.kubeletVersion),
      kubeletPort: this.o.kubeletPort?.() ?? 0,
      // Largest first, like the kubelet; names sorted so the list is stable between rounds.
      images: images
        .filter((i) => i.repoTags.length > 0)
        .map((i) => ({ names: [...i.repoDigests, ...i.repoTags].sort(), sizeBytes: i.size }))
        .sort((a, b) => b.sizeBytes - a.sizeBytes || a.names[0]!.localeCompare(b.names[0]!))
        .slice(0, 50),
    };
  }

  /** Creates the Node, or (after an agent restart) refreshes the existing one's labels and status. */
  async register(): Promise<void> {
    const id = this.o.identity;
    const input = await this.observe();
    const now = nowRFC3339();
    let node: KObject;
    try {
      node = await this.o.client.create(NODES, nodeObject(id, input, now));
      if (!node.status?.nodeInfo) node = await this.postStatus(node, input, now);
    } catch (err) {
      if (code(err) !== 409) throw err;
      const existing = await this.o.client.get(NODES, undefined, id.name);
      const want = nodeObject(id, input, now).metadata.labels as Record<string, string>;
      const labels = existing.metadata.labels ?? {};
      if (Object.entries(want).some(([k, v]) => labels[k] !== v)) await this.o.client.patch(NODES, undefined, id.name, "merge", { metadata: { labels: want } });
      if (id.podCIDR && existing.spec?.podCIDR && existing.spec.podCIDR !== id.podCIDR) {
        this.log.error("node already has a different podCIDR; keeping it (spec.podCIDR cannot change)", { node: id.name, asked: id.podCIDR, has: existing.spec.podCIDR });
      } else if (id.podCIDR && !existing.spec?.podCIDR) {
        await this.o.client.patch(NODES, undefined, id.name, "merge", { spec: { podCIDR: id.podCIDR, podCIDRs: [id.podCIDR] } });
      }
      node = await this.postStatus(existing, input, now);
    }
    this.uid = node.metadata.uid;
    this.lastPost = Date.now();
    this.log.info("node registered", { node: id.name, uid: this.uid });
    await this.renewLease();
    this.markRegistered();
  }

  private async postStatus(current: KObject, input: NodeStatusInput, now: string): Promise<KObject> {
    const status = nodeStatus(this.o.identity, input, now, current.status);
    return this.o.client.patch(NODES, undefined, this.o.identity.name, "merge", { status }, { subresource: "status" });
  }

  /** Creates or renews the Lease (a merge patch: no read, no conflict). */
  async renewLease(): Promise<void> {
    const name = this.o.identity.name;
    const renewTime = microTime(Date.now());
    try {
      await this.o.client.patch(LEASES, NODE_LEASE_NAMESPACE, name, "merge", { spec: { renewTime, holderIdentity: name } });
    } catch (err) {
      if (code(err) !== 404) throw err;
      await this.o.client.create(LEASES, {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: {
          name,
          namespace: NODE_LEASE_NAMESPACE,
          // Owned by the Node: the garbage collector removes the Lease with the node.
          ownerReferences: this.uid ? [{ apiVersion: "v1", kind: "Node", name, uid: this.uid }] : undefined,
        },
        spec: { holderIdentity: name, leaseDurationSeconds: this.o.leaseDurationSeconds ?? 40, renewTime },
      });
    }
  }

  /**
   * One status round: re-reads the Node (the node controller may have marked it Unknown,
   * or someone deleted it), learns a new podCIDR, posts when changed or when the report
   * period passed. `force` posts regardless.
   */
  async syncStatus(force = false): Promise<void> {
    let current: KObject;
    try {
      current = await this.o.client.get(NODES, undefined, this.o.identity.name);
    } catch (err) {
      if (code(err) !== 404) throw err;
      this.log.info("node object is gone; registering again", { node: this.o.identity.name });
      return this.register();
    }
    if (current.metadata.uid !== this.uid) {
      this.uid = current.metadata.uid;
    }
    await this.learnCIDR(current);
    const input = await this.observe();
    const now = nowRFC3339();
    const desired = nodeStatus(this.o.identity, input, now, current.status);
    const due = Date.now() - this.lastPost >= (this.o.statusReportIntervalMs ?? 60_000);
    if (!force && !due && !statusChanged(current.status, desired)) return;
    await this.o.client.patch(NODES, undefined, this.o.identity.name, "merge", { status: desired }, { subresource: "status" });
    this.lastPost = Date.now();
  }

  private async learnCIDR(node: KObject): Promise<boolean> {
    const cidr: string | undefined = node.spec?.podCIDR;
    if (this.cidr || !cidr) return false;
    await this.o.onPodCIDR(cidr);
    this.cidr = cidr;
    this.log.info("pod CIDR assigned", { node: this.o.identity.name, podCIDR: cidr });
    this.resolveCIDR(cidr);
    return true;
  }

  async start(signal: AbortSignal): Promise<void> {
    // Register, retrying while the server is unreachable (it may still be starting).
    for (let delay = 250; !signal.aborted; delay = Math.min(delay * 2, 5_000)) {
      try {
        await this.register();
        break;
      } catch (err) {
        this.log.error("node registration failed; retrying", { error: errMsg(err), retryMs: delay });
        await abortableSleep(delay, signal);
      }
    }
    if (signal.aborted) return;

    // The pod CIDR gates pod networking, so wait for it briskly; then bring the Ready
    // condition up as soon as the runtime sees the CNI config.
    while (!signal.aborted && !this.cidr) {
      try {
        if (await this.learnCIDR(await this.o.client.get(NODES, undefined, this.o.identity.name))) break;
      } catch (err) {
        this.log.error("waiting for podCIDR", { error: errMsg(err) });
      }
      await abortableSleep(300, signal);
    }
    for (let i = 0; i < 100 && !signal.aborted; i++) {
      const st = await this.o.runtime.status().catch(() => []);
      if (st.find((c) => c.type === "NetworkReady")?.status) break;
      await abortableSleep(100, signal);
    }
    if (signal.aborted) return;
    await this.syncStatus(true).catch((err) => this.log.error("node status update failed", { error: errMsg(err) }));

    const leaseLoop = (async () => {
      while (!signal.aborted) {
        await abortableSleep(this.o.leaseRenewIntervalMs ?? 10_000, signal);
        if (signal.aborted) break;
        await this.renewLease().catch((err) => this.log.error("node lease renewal failed", { error: errMsg(err) }));
      }
    })();
    const statusLoop = (async () => {
      while (!signal.aborted) {
        await abortableSleep(this.o.statusUpdateIntervalMs ?? 10_000, signal);
        if (signal.aborted) break;
        await this.syncStatus().catch((err) => this.log.error("node status update failed", { error: errMsg(err) }));
      }
    })();
    await Promise.all([leaseLoop, statusLoop]);
  }
}
