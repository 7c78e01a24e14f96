// Leader election on a coordination.k8s.io/v1 Lease, after client-go's
// tools/leaderelection (https://pkg.go.dev/k8s.io/client-go/tools/leaderelection and
// https://kubernetes.io/docs/concepts/architecture/leases/). A candidate takes the
// lease when it is free or its holder has not renewed it for leaseDurationSeconds
// (measured on our own clock from when we last saw the record change, so clock skew
// between servers does not matter), renews every retryPeriod, and gives up leading
// when it cannot renew within renewDeadline. Optimistic concurrency (resourceVersion)
// makes two candidates taking the lease at once impossible.

import type { KObject } from "../apimachinery/types.js";
import type { Client } from "./types.js";
import { realClock, type Clock } from "./clock.js";

export interface LeaderElectionConfig {
  client: Client;
  /** Lease name, e.g. "tug-controller-manager". */
  name: string;
  namespace?: string;
  /** This candidate's holderIdentity (hostname + random suffix, as upstream). */
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  /** Clear the holder when the run is cancelled, so another candidate takes over at once. */
  releaseOnCancel?: boolean;
  clock?: Clock;
  onStartedLeading(signal: AbortSignal): void;
  onStoppedLeading(): void;
  onNewLeader?(identity: string): void;
}

const LEASES = "coordination.k8s.io/v1/leases";

/** metav1.MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/(\.\d{3})Z$/, "$1000Z");
}

export class LeaderElector {
  private readonly clock: Clock;
  private readonly ns: string;
  private readonly duration: number;
  private readonly renewDeadline: number;
  private readonly retry: number;
  private observed?: KObject;
  /** Local time at which the observed record last changed. */
  private observedAt = 0;
  private leader = false;
  private lastReported = "";

  constructor(private readonly cfg: LeaderElectionConfig) {
    this.clock = cfg.clock ?? realClock;
    this.ns = cfg.namespace ?? "kube-system";
    this.duration = (cfg.leaseDurationSeconds ?? 15) * 1000;
    this.renewDeadline = (cfg.renewDeadlineSeconds ?? 10) * 1000;
    this.retry = (cfg.retryPeriodSeconds ?? 2) * 1000;
    if (this.duration <= this.renewDeadline) throw new Error("leaseDuration must be greater than renewDeadline");
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** The holder last observed ("" when none). */
  getLeader(): string {
    return this.observed?.spec?.holderIdentity ?? "";
  }

  /**
   * Acquires the lease (retrying every retryPeriod), calls onStartedLeading, renews
   * until it fails or the signal aborts, then calls onStoppedLeading and returns.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (!(await this.acquire(signal))) return;
    const term = new AbortController();
    this.leader = true;
    try {
      this.cfg.onStartedLeading(term.signal);
      await this.renewLoop(signal);
    } finally {
      this.leader = false;
      term.abort();
      if (signal.aborted && (this.cfg.releaseOnCancel ?? true)) await this.release().catch(() => {});
      this.cfg.onStoppedLeading();
    }
  }

  private async acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew()) return true;
      await this.sleep(this.retry, signal);
    }
    return false;
  }

  private async renewLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.sleep(this.retry, signal);
      if (signal.aborted) return;
      // Keep trying until renewDeadline has passed since the last successful renewal.
      const deadline = this.clock.now() + this.renewDeadline;
      let renewed = false;
      while (!signal.aborted && this.clock.now() < deadline) {
        if (await this.tryAcquireOrRenew()) {
          renewed = true;
          break;
        }
        await this.sleep(this.retry, signal);
      }
      if (!renewed) return;
    }
  }

  /** One attempt: true when we hold the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    let current: KObject | undefined;
    try {
      current = await this.cfg.client.get(LEASES, this.ns, this.cfg.name);
    } catch (err) {
      if ((err as { code?: number }).code !== 404) return false;
    }
    const spec = {
      holderIdentity: this.cfg.identity,
      leaseDurationSeconds: Math.round(this.duration / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    if (!current) {
      try {
        const created = await this.cfg.client.create(LEASES, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: this.cfg.name, namespace: this.ns },
          spec,
        });
        this.observe(created, now);
        return true;
      } catch {
        return false;
      }
    }
    this.observe(current, now);
    const holder: string = current.spec?.holderIdentity ?? "";
    const heldByUs = holder === this.cfg.identity;
    const leaseMs = (current.spec?.leaseDurationSeconds ?? this.duration / 1000) * 1000;
    if (holder && !heldByUs && this.observedAt + leaseMs > now) return false;
    const next: KObject = { ...current, spec: { ...current.spec, ...spec } };
    if (heldByUs) {
      next.spec.acquireTime = current.spec?.acquireTime ?? spec.acquireTime;
      next.spec.leaseTransitions = current.spec?.leaseTransitions ?? 0;
    } else {
      next.spec.leaseTransitions = (current.spec?.leaseTransitions ?? 0) + 1;
    }
    try {
      const updated = await this.cfg.client.update(LEASES, next);
      this.observe(updated, now);
      return true;
    } catch {
      return false;
    }
  }

  /** Gives the lease up (holderIdentity cleared) if we hold it. */
  async release(): Promise<void> {
    const cur = this.observed;
    if (!cur || cur.spec?.holderIdentity !== this.cfg.identity) return;
    const now = this.clock.now();
    const released: KObject = {
      ...cur,
      spec: { ...cur.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime(now), acquireTime: microTime(now) },
    };
    this.observe(await this.cfg.client.update(LEASES, released), now);
  }

  private observe(lease: KObject, now: number): void {
    const prev = this.observed;
    if (!prev || prev.metadata.resourceVersion !== lease.metadata.resourceVersion) {
      this.observed = lease;
      this.observedAt = now;
    }
    const holder = lease.spec?.holderIdentity ?? "";
    if (holder && holder !== this.lastReported) {
      this.lastReported = holder;
      this.cfg.onNewLeader?.(holder);
    }
  }

  private async sleep(ms: number, signal: AbortSignal): Promise<void> {
    await this.clock.after(ms, signal).catch(() => {});
  }
}
