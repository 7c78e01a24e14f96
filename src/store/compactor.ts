// Periodic store compaction, the job kube-apiserver does for etcd every five minutes
// (https://kubernetes.io/docs/tasks/administer-cluster/configure-upgrade-etcd/#etcd-history-compaction,
// https://etcd.io/docs/v3.5/op-guide/maintenance/#history-compaction-v3-api-key-value-database).
// History is what lets a watch resume from an old resourceVersion; keeping a window of it
// (by time AND by count) lets briefly disconnected clients catch up without a relist,
// while the log stays bounded. A runnable: `start(signal)` until aborted.

import type { Store } from "./types.js";

/** The slice of time the compactor needs (src/client/clock.ts's Clock fits). */
export interface CompactorClock {
  now(): number;
  /** Resolves after ms; rejects when the signal aborts first. */
  after(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface CompactorOptions {
  /** Keep at least this much wall-clock history (ms). Default 5 minutes. */
  keepMs?: number;
  /** Keep at least this many revisions. Default 1000. */
  keepRevisions?: number;
  /** How often to sample the revision and compact (ms). Default 1 minute. */
  intervalMs?: number;
  clock?: CompactorClock;
  /** Failed passes are reported here and retried next interval. Default: console.error. */
  onError?(err: unknown): void;
}

const realClock: CompactorClock = {
  now: () => Date.now(),
  after: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(t);
        reject(signal!.reason);
      };
      const t = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

interface Sample {
  at: number;
  revision: number;
}

export class Compactor {
  readonly name = "store-compactor";
  /** Compaction is idempotent (a lower or equal target is a no-op), so every server may run it. */
  readonly needsLeader = false;
  private readonly keepMs: number;
  private readonly keepRevisions: number;
  private readonly intervalMs: number;
  private readonly clock: CompactorClock;
  private readonly onError: (err: unknown) => void;
  /** (time, current revision) observations, oldest first: they map "5 minutes ago" to a revision. */
  private samples: Sample[] = [];

  constructor(
    private readonly store: Pick<Store, "currentRevision" | "compactedRevision" | "compact">,
    opts: CompactorOptions = {},
  ) {
    this.keepMs = opts.keepMs ?? 5 * 60_000;
    this.keepRevisions = opts.keepRevisions ?? 1000;
    this.intervalMs = opts.intervalMs ?? 60_000;
    this.clock = opts.clock ?? realClock;
    this.onError = opts.onError ?? ((err) => console.error("store compaction failed:", err));
    for (const [field, v] of [
      ["keepMs", this.keepMs],
      ["keepRevisions", this.keepRevisions],
      ["intervalMs", this.intervalMs],
    ] as const) {
      if (!Number.isFinite(v) || v < 0 || (field === "intervalMs" && v === 0)) {
        throw new RangeError(`${field}: must be a ${field === "intervalMs" ? "positive" : "non-negative"} number`);
      }
    }
  }

  /**
   * One pass: records the current revision, then compacts to the newest revision that is
   * both older than the time window and at least keepRevisions behind. Returns the
   * revision compacted to, or undefined when nothing was old enough.
   */
  async runOnce(): Promise<number | undefined> {
    const now = this.clock.now();
    const current = await this.store.currentRevision();
    this.samples.push({ at: now, revision: current });
    // The newest sample taken at or before the window's start: everything written after
    // it is inside the window and must stay.
    const cutoff = now - this.keepMs;
    let i = -1;
    while (i + 1 < this.samples.length && this.samples[i + 1].at <= cutoff) i++;
    if (i < 0) return undefined;
    this.samples = this.samples.slice(i); // older samples can never matter again
    const target = Math.min(this.samples[0].revision, current - this.keepRevisions);
    if (target <= 0 || target <= (await this.store.compactedRevision())) return undefined;
    await this.store.compact(target);
    return target;
  }

  async start(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.runOnce();
      } catch (err) {
        if (signal.aborted) return;
        this.onError(err);
      }
      try {
        await this.clock.after(this.intervalMs, signal);
      } catch {
        return; // aborted
      }
    }
  }
}
