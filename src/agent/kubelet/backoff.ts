// Container restart back-off: the delay behind the CrashLoopBackOff waiting reason
// (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-restarts):
// after a container exits, the kubelet restarts it with an exponential back-off delay
// (10 s, 20 s, 40 s, …) capped at five minutes, and resets the back-off once a container
// has run for 10 minutes without a problem. Like the kubelet's flowcontrol.Backoff the
// delay is measured from the moment the container finished, the first restart is
// immediate (it only arms the back-off), and each later restart doubles it.

/** Go's time.Duration.String for non-negative whole milliseconds: "10s", "2m40s", "5m0s", "200ms". */
export function formatGoDuration(ms: number): string {
  ms = Math.max(0, Math.round(ms));
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const sMs = ms % 60_000;
  const secs = sMs % 1000 === 0 ? String(sMs / 1000) : String(sMs / 1000).replace(/0+$/, "");
  if (h > 0) return `${h}h${m}m${secs}s`;
  if (m > 0) return `${m}m${secs}s`;
  return `${secs}s`;
}

export interface BackoffOptions {
  /** First delay; default 10 s. */
  baseMs?: number;
  /** Cap; default 5 min. */
  maxMs?: number;
  /** A container that ran at least this long starts over at the base delay; default 10 min (2 × max). */
  resetAfterMs?: number;
  now?: () => number;
}

interface Entry {
  delayMs: number;
  /** finishedAt of the exit that last moved the back-off. */
  lastUpdate: number;
}

/** Per-container restart delays, keyed by pod UID + container name. */
export class RestartBackoff {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly resetAfterMs: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();

  constructor(opts: BackoffOptions = {}) {
    this.baseMs = opts.baseMs ?? 10_000;
    this.maxMs = opts.maxMs ?? 300_000;
    this.resetAfterMs = opts.resetAfterMs ?? 2 * this.maxMs;
    this.now = opts.now ?? Date.now;
  }

  static key(podUID: string, container: string): string {
    return `${podUID}/${container}`;
  }

  /**
   * The exited container (finished at `finishedAt`, having started at `startedAt`) may
   * be restarted now: returns 0. Otherwise returns the remaining wait; `delayMs` tells
   * the delay the message reports.
   */
  remaining(key: string, finishedAt: number, startedAt = 0): { waitMs: number; delayMs: number } {
    const e = this.entries.get(key);
    if (!e) return { waitMs: 0, delayMs: 0 };
    // A long healthy run (or a long quiet period since the last crash) forgets the history.
    if ((startedAt > 0 && finishedAt - startedAt >= this.resetAfterMs) || finishedAt - e.lastUpdate >= this.resetAfterMs) {
      this.entries.delete(key);
      return { waitMs: 0, delayMs: 0 };
    }
    const waitMs = finishedAt + e.delayMs - this.now();
    return { waitMs: Math.max(0, waitMs), delayMs: e.delayMs };
  }

  /** Records a restart of the container that finished at `finishedAt`: arms or doubles the delay. */
  next(key: string, finishedAt: number): number {
    const e = this.entries.get(key);
    const delayMs = e ? Math.min(e.delayMs * 2, this.maxMs) : this.baseMs;
    this.entries.set(key, { delayMs, lastUpdate: finishedAt });
    return delayMs;
  }

  /** Forgets every entry of a pod (it was deleted). */
  forgetPod(podUID: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(`${podUID}/`)) this.entries.delete(k);
  }
}

/** The CrashLoopBackOff waiting message, word for word as the kubelet writes it. */
export function crashLoopMessage(delayMs: number, container: string, pod: { name?: string; namespace?: string; uid?: string }): string {
  return `back-off ${formatGoDuration(delayMs)} restarting failed container=${container} pod=${pod.name}_${pod.namespace}(${pod.uid})`;
}
