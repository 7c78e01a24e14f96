// Runnables and their supervisor, after controller-runtime's manager
// (https://pkg.go.dev/sigs.k8s.io/controller-runtime/pkg/manager) and k3s's server
// start-up: every long-lived part (API server, controllers, scheduler, agent, DNS, …)
// is `start(signal)`. The supervisor starts them in order, runs leader-only ones only
// while this process holds the Lease (https://kubernetes.io/docs/concepts/architecture/leases/),
// and stops everything when its signal aborts or any runnable fails.

import { LeaderElector, type LeaderElectionConfig } from "./leaderelection.js";

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  debug?(msg: string, fields?: Record<string, unknown>): void;
}

/** Errors and info to stderr; debug only with TUG_DEBUG set. */
export function consoleLogger(prefix = ""): Logger {
  const line = (level: string, msg: string, fields?: Record<string, unknown>) =>
    `${level} ${prefix ? prefix + ": " : ""}${msg}${fields ? " " + JSON.stringify(fields) : ""}`;
  return {
    info: (m, f) => console.error(line("I", m, f)),
    error: (m, f) => console.error(line("E", m, f)),
    debug: (m, f) => {
      if (process.env.TUG_DEBUG) console.error(line("D", m, f));
    },
  };
}

export const silentLogger: Logger = { info() {}, error() {} };

export interface Runnable {
  name: string;
  needsLeader: boolean;
  /** Runs until the signal aborts; rejecting means the part failed. */
  start(signal: AbortSignal): Promise<void>;
  /** Optional: resolves when the part is ready for the next one to start (e.g. API listening). */
  ready?(): Promise<void>;
}

export interface SupervisorOptions {
  /** Without election config leader-only runnables start at once (single server). */
  election?: Omit<LeaderElectionConfig, "onStartedLeading" | "onStoppedLeading" | "onNewLeader">;
  log?: Logger;
}

export class Supervisor {
  private runnables: Runnable[] = [];
  private readonly log: Logger;
  private leading = false;

  constructor(private readonly opts: SupervisorOptions = {}) {
    this.log = opts.log ?? silentLogger;
  }

  add(...rs: Runnable[]): this {
    this.runnables.push(...rs);
    return this;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Starts all runnables and resolves once the signal aborts and every runnable has
   * returned. Rejects with the first failure (after stopping the others).
   */
  async start(signal: AbortSignal): Promise<void> {
    const all = new AbortController();
    const onAbort = () => all.abort(signal.reason);
    if (signal.aborted) return;
    signal.addEventListener("abort", onAbort, { once: true });
    let failure: unknown;
    const running: Promise<void>[] = [];
    const run = (r: Runnable, s: AbortSignal): Promise<void> => {
      this.log.debug?.("starting", { runnable: r.name });
      const p = Promise.resolve()
        .then(() => r.start(s))
        .then(
          () => {
            if (!s.aborted) this.log.info("runnable returned before stop", { runnable: r.name });
          },
          (err) => {
            if (s.aborted) return;
            this.log.error("runnable failed", { runnable: r.name, error: String((err as Error)?.message ?? err) });
            failure ??= err;
            all.abort(err);
          },
        );
      running.push(p);
      return p;
    };

    try {
      for (const r of this.runnables.filter((x) => !x.needsLeader)) {
        if (all.signal.aborted) break;
        run(r, all.signal);
        if (r.ready) await Promise.race([r.ready(), new Promise<void>((res) => all.signal.addEventListener("abort", () => res(), { once: true }))]);
      }
      const leaderOnly = this.runnables.filter((x) => x.needsLeader);
      if (!all.signal.aborted) {
        if (!this.opts.election) {
          this.leading = true;
          for (const r of leaderOnly) run(r, all.signal);
        } else if (leaderOnly.length > 0) {
          running.push(this.runElection(leaderOnly, all.signal, run));
        }
      }
      await new Promise<void>((res) => (all.signal.aborted ? res() : all.signal.addEventListener("abort", () => res(), { once: true })));
      // Runnables added to `running` while we waited are awaited too.
      for (let i = 0; i < running.length; i++) await running[i];
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.leading = false;
    }
    if (failure !== undefined) throw failure;
  }

  /** Campaigns for the lease until stopped; each term runs the leader-only runnables. */
  private async runElection(leaderOnly: Runnable[], signal: AbortSignal, run: (r: Runnable, s: AbortSignal) => Promise<void>): Promise<void> {
    while (!signal.aborted) {
      const term = new AbortController();
      const stopTerm = () => term.abort();
      signal.addEventListener("abort", stopTerm, { once: true });
      let termRuns: Promise<void>[] = [];
      const elector = new LeaderElector({
        ...this.opts.election!,
        onStartedLeading: () => {
          this.leading = true;
          this.log.info("became leader", { identity: this.opts.election!.identity });
          termRuns = leaderOnly.map((r) => run(r, term.signal));
        },
        onStoppedLeading: () => {
          this.leading = false;
          term.abort();
        },
      });
      await elector.run(signal);
      term.abort();
      await Promise.all(termRuns);
      signal.removeEventListener("abort", stopTerm);
      if (!signal.aborted) this.log.info("lost leadership; campaigning again", { identity: this.opts.election!.identity });
    }
  }
}
