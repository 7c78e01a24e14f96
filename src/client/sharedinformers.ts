// Shared informers, after client-go's SharedInformerFactory
// (https://pkg.go.dev/k8s.io/client-go/informers#SharedInformerFactory): every
// controller in a process that needs a resource gets the same Informer, so each gvr is
// listed and watched once and cached once, whatever the number of readers.

import type { Client } from "./types.js";
import { Informer, indexPodsByNodeName, type IndexFunc } from "./informer.js";
import { realClock, type Clock } from "./clock.js";

export interface SharedInformerFactoryOptions {
  /** Default resync period for informers; 0 = none. */
  resyncPeriodMs?: number;
  clock?: Clock;
  /** Restrict every informer to one namespace. */
  namespace?: string;
  onError?: (gvr: string, err: unknown) => void;
}

/** Indexes every process wants on a given resource. */
const wellKnownIndexers: Record<string, Record<string, IndexFunc>> = {
  "v1/pods": { nodeName: indexPodsByNodeName },
};

export class SharedInformerFactory {
  private informers = new Map<string, Informer>();
  private running?: AbortSignal;
  private runs: Promise<void>[] = [];
  private readonly clock: Clock;

  constructor(
    readonly client: Client,
    private readonly opts: SharedInformerFactoryOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
  }

  /** The informer for gvr (created on first request; started at once if the factory runs). */
  informerFor(gvr: string, indexers?: Record<string, IndexFunc>): Informer {
    let inf = this.informers.get(gvr);
    if (!inf) {
      inf = new Informer(this.client, gvr, {
        namespace: this.opts.namespace,
        resyncPeriodMs: this.opts.resyncPeriodMs,
        clock: this.clock,
        indexers: wellKnownIndexers[gvr],
        onError: (err) => this.opts.onError?.(gvr, err),
      });
      this.informers.set(gvr, inf);
      if (this.running && !this.running.aborted) this.runOne(inf, this.running);
    }
    if (indexers) inf.addIndexers(indexers);
    return inf;
  }

  has(gvr: string): boolean {
    return this.informers.has(gvr);
  }

  gvrs(): string[] {
    return [...this.informers.keys()];
  }

  /** Starts every informer (and any requested later) until the signal aborts. Idempotent. */
  start(signal: AbortSignal): void {
    if (this.running && !this.running.aborted) return;
    this.running = signal;
    for (const inf of this.informers.values()) if (!inf.isStarted()) this.runOne(inf, signal);
  }

  /** Resolves true when the listed informers (default all) have synced; false on abort. */
  async waitForSync(signal: AbortSignal, gvrs: string[] = this.gvrs()): Promise<boolean> {
    const results = await Promise.all(gvrs.map((g) => this.informerFor(g).waitForSync(signal)));
    return results.every(Boolean);
  }

  /** Resolves when every started informer has stopped (after the start signal aborts). */
  async stopped(): Promise<void> {
    await Promise.all(this.runs);
  }

  private runOne(inf: Informer, signal: AbortSignal): void {
    this.runs.push(
      inf.start(signal).catch((err) => {
        this.opts.onError?.(inf.gvr, err);
      }),
    );
  }
}
