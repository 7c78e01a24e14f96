// The scheduling queue, after kube-scheduler's PriorityQueue
// (https://kubernetes.io/docs/concepts/scheduling-eviction/scheduling-framework/#scheduling-cycle-binding-cycle
// and https://github.com/kubernetes/enhancements/tree/master/keps/sig-scheduling/1741-pod-queueing-hints).
// Three parts: activeQ (a heap: higher spec.priority first, then older pods), backoffQ
// (pods waiting out 1 s doubling to 10 s after a failed attempt) and unschedulable pods
// (parked until the cluster changes: a node added/updated, a pod deleted or finished,
// or after five minutes at most). A pod is in at most one part; while an attempt runs
// it is "in flight" and updates to it are remembered, not queued twice.

import type { Clock, Timer } from "../client/clock.js";
import type { PodInfo } from "./snapshot.js";

export const INITIAL_BACKOFF_MS = 1_000;
export const MAX_BACKOFF_MS = 10_000;
/** Unschedulable pods are retried at least this often even without cluster events. */
export const MAX_UNSCHEDULABLE_MS = 5 * 60_000;

export interface QueuedPod {
  info: PodInfo;
  /** Failed attempts so far (drives backoff). */
  attempts: number;
  /** When the pod was first queued (for latency metrics). */
  initialAt: number;
  /** When the last attempt failed. */
  failedAt: number;
}

type Where = "active" | "backoff" | "unschedulable" | "inflight";

interface Entry {
  qp: QueuedPod;
  where: Where;
  /** A cluster change or pod update happened while in flight: a failure goes to backoff, not unschedulable. */
  movedWhileInflight?: boolean;
  /** Position in the active heap. */
  heapIndex: number;
  seq: number;
}

export function backoffDuration(attempts: number): number {
  if (attempts <= 0) return 0;
  return Math.min(INITIAL_BACKOFF_MS * 2 ** (attempts - 1), MAX_BACKOFF_MS);
}

export class SchedulingQueue {
  private readonly entries = new Map<string, Entry>();
  private readonly heap: Entry[] = [];
  private seq = 0;
  private waiter?: () => void;
  private backoffTimer?: Timer;
  private backoffTimerAt = Infinity;
  private closed = false;

  constructor(private readonly clock: Clock) {}

  /** Orders the heap: higher priority first, then older, then arrival. */
  private less(a: Entry, b: Entry): boolean {
    const pa = a.qp.info.priority;
    const pb = b.qp.info.priority;
    if (pa !== pb) return pa > pb;
    const ca = a.qp.info.creationMs;
    const cb = b.qp.info.creationMs;
    if (ca !== cb) return ca < cb;
    return a.seq < b.seq;
  }

  /**
   * A new or changed pending pod. `significant` = false for changes that cannot make it
   * schedulable (its own status, e.g. our PodScheduled condition): the entry is refreshed only.
   */
  addOrUpdate(info: PodInfo, significant = true): void {
    const e = this.entries.get(info.key);
    if (!e) {
      const now = this.clock.now();
      this.pushActive({ qp: { info, attempts: 0, initialAt: now, failedAt: 0 }, where: "active", heapIndex: -1, seq: this.seq++ });
      return;
    }
    e.qp.info = info;
    if (e.where === "active") this.fix(e);
    else if (!significant) return;
    else if (e.where === "inflight") e.movedWhileInflight = true;
    else if (e.where === "unschedulable") {
      // The pod itself changed (labels, tolerations…): worth another try after its backoff.
      this.moveOut(e);
    }
  }

  delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    if (e.where === "active") this.heapRemove(e);
    this.entries.delete(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Takes the next pod now, or undefined; it stays "in flight" until done/requeued. */
  tryPop(): QueuedPod | undefined {
    // Normally the timer moves parked pods; this catches a clock that moved without firing it.
    if (this.backoffTimer && this.clock.now() >= this.backoffTimerAt) this.flushBackoff();
    const e = this.heapPop();
    if (!e) return undefined;
    e.where = "inflight";
    e.movedWhileInflight = false;
    return e.qp;
  }

  /** Waits for the next pod; undefined when the signal aborts. */
  async pop(signal: AbortSignal): Promise<QueuedPod | undefined> {
    for (;;) {
      if (signal.aborted || this.closed) return undefined;
      const qp = this.tryPop();
      if (qp) return qp;
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        signal.addEventListener("abort", onAbort, { once: true });
        this.waiter = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  /** The attempt succeeded (or the pod is gone): forget it. */
  done(key: string): void {
    const e = this.entries.get(key);
    if (e && e.where === "inflight") this.entries.delete(key);
  }

  /**
   * The attempt failed. Unschedulable pods are parked until the cluster changes, unless
   * something changed while they were in flight; errors (binding failed…) back off.
   */
  requeue(qp: QueuedPod, unschedulable: boolean): void {
    const e = this.entries.get(qp.info.key);
    if (!e || e.where !== "inflight") return;
    qp.attempts++;
    qp.failedAt = this.clock.now();
    if (unschedulable && !e.movedWhileInflight) {
      e.where = "unschedulable";
      this.armBackoffTimer(qp.failedAt + MAX_UNSCHEDULABLE_MS);
    } else this.moveOut(e);
  }

  /** A cluster event that may make parked pods schedulable: move them to backoff/active. */
  moveAllToActiveOrBackoff(): void {
    for (const e of this.entries.values()) {
      if (e.where === "unschedulable") this.moveOut(e);
      else if (e.where === "inflight") e.movedWhileInflight = true;
    }
  }

  /** Counts per part, for metrics and tests. */
  stats(): Record<Where, number> {
    const s = { active: 0, backoff: 0, unschedulable: 0, inflight: 0 };
    for (const e of this.entries.values()) s[e.where]++;
    return s;
  }

  close(): void {
    this.closed = true;
    this.backoffTimer?.stop();
    this.waiter?.();
  }

  private moveOut(e: Entry): void {
    const until = e.qp.failedAt + backoffDuration(e.qp.attempts);
    if (until > this.clock.now()) {
      e.where = "backoff";
      this.armBackoffTimer(until);
    } else this.pushActive(e);
  }

  private pushActive(e: Entry): void {
    e.where = "active";
    this.entries.set(e.qp.info.key, e);
    e.heapIndex = this.heap.length;
    this.heap.push(e);
    this.up(e.heapIndex);
    this.waiter?.();
  }

  /** Moves expired backoff pods (and long-parked unschedulable ones) to active. */
  private flushBackoff(): void {
    const now = this.clock.now();
    let next = Infinity;
    for (const e of this.entries.values()) {
      if (e.where === "backoff") {
        const until = e.qp.failedAt + backoffDuration(e.qp.attempts);
        if (until <= now) this.pushActive(e);
        else next = Math.min(next, until);
      } else if (e.where === "unschedulable") {
        const until = e.qp.failedAt + MAX_UNSCHEDULABLE_MS;
        if (until <= now) this.pushActive(e);
        else next = Math.min(next, until);
      }
    }
    this.backoffTimer?.stop();
    this.backoffTimer = undefined;
    this.backoffTimerAt = Infinity;
    if (next < Infinity) this.armBackoffTimer(next);
  }

  private armBackoffTimer(at: number): void {
    if (this.closed || at >= this.backoffTimerAt) return;
    this.backoffTimer?.stop();
    this.backoffTimerAt = at;
    this.backoffTimer = this.clock.setTimer(() => {
      this.backoffTimer = undefined;
      this.backoffTimerAt = Infinity;
      this.flushBackoff();
      if (this.heap.length) this.waiter?.();
    }, at - this.clock.now());
  }

  // ---------------------------------------------------------------- binary heap

  private heapPop(): Entry | undefined {
    const top = this.heap[0];
    if (!top) return undefined;
    this.heapRemove(top);
    return top;
  }

  private heapRemove(e: Entry): void {
    const i = e.heapIndex;
    const last = this.heap.pop()!;
    if (last !== e) {
      this.heap[i] = last;
      last.heapIndex = i;
      this.fix(last);
    }
    e.heapIndex = -1;
  }

  private fix(e: Entry): void {
    if (!this.up(e.heapIndex)) this.down(e.heapIndex);
  }

  private swap(i: number, j: number): void {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    this.heap[i] = b;
    this.heap[j] = a;
    a.heapIndex = j;
    b.heapIndex = i;
  }

  private up(i: number): boolean {
    let moved = false;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(this.heap[i]!, this.heap[p]!)) break;
      this.swap(i, p);
      i = p;
      moved = true;
    }
    return moved;
  }

  private down(i: number): void {
    const n = this.heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(this.heap[l]!, this.heap[m]!)) m = l;
      if (r < n && this.less(this.heap[r]!, this.heap[m]!)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
