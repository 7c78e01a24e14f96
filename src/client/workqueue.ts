// The controller workqueue, after client-go's util/workqueue
// (https://pkg.go.dev/k8s.io/client-go/util/workqueue): a de-duplicating FIFO of keys
// in which an item is never handed to two workers at once (re-adding an item while it is
// being processed marks it dirty and queues it again after `done`), plus delayed adds
// and the default controller rate limiter: per-item exponential backoff (5ms doubling to
// 1000s, reset by `forget`) combined with an overall token bucket (10 qps, burst 100).

import { realClock, type Clock, type Timer } from "./clock.js";

export interface RateLimiter {
  /** How long to wait before this item may be processed again. */
  when(item: string): number;
  /** Stops tracking the item (its backoff restarts from the base delay). */
  forget(item: string): void;
  numRequeues(item: string): number;
}

/** base·2^failures, capped (client-go's ItemExponentialFailureRateLimiter). */
export class ItemExponentialFailureRateLimiter implements RateLimiter {
  private failures = new Map<string, number>();
  constructor(
    readonly baseDelayMs = 5,
    readonly maxDelayMs = 1_000_000,
  ) {}
  when(item: string): number {
    const n = this.failures.get(item) ?? 0;
    this.failures.set(item, n + 1);
    // 2^n overflows to Infinity for large n, which the cap absorbs.
    return Math.min(this.baseDelayMs * Math.pow(2, n), this.maxDelayMs);
  }
  forget(item: string): void {
    this.failures.delete(item);
  }
  numRequeues(item: string): number {
    return this.failures.get(item) ?? 0;
  }
}

/** Overall token bucket: each call reserves a token and returns the wait until it is available. */
export class BucketRateLimiter implements RateLimiter {
  private tokens: number;
  private last: number;
  constructor(
    readonly qps = 10,
    readonly burst = 100,
    private clock: Clock = realClock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }
  when(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    // A negative balance is a reservation: wait until it has been paid back.
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }
  forget(): void {}
  numRequeues(): number {
    return 0;
  }
}

/** The largest delay of several limiters (client-go's MaxOfRateLimiter). */
export class MaxOfRateLimiter implements RateLimiter {
  private limiters: RateLimiter[];
  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }
  when(item: string): number {
    let d = 0;
    for (const l of this.limiters) d = Math.max(d, l.when(item));
    return d;
  }
  forget(item: string): void {
    for (const l of this.limiters) l.forget(item);
  }
  numRequeues(item: string): number {
    let n = 0;
    for (const l of this.limiters) n = Math.max(n, l.numRequeues(item));
    return n;
  }
}

/** client-go's DefaultControllerRateLimiter: max(5ms→1000s per item, 10 qps / 100 burst overall). */
export function defaultControllerRateLimiter(clock: Clock = realClock): RateLimiter {
  return new MaxOfRateLimiter(new ItemExponentialFailureRateLimiter(5, 1_000_000), new BucketRateLimiter(10, 100, clock));
}

export interface WorkQueueOptions {
  name?: string;
  clock?: Clock;
  rateLimiter?: RateLimiter;
}

export class WorkQueue {
  readonly name: string;
  private readonly clock: Clock;
  private readonly limiter: RateLimiter;
  private queue: string[] = [];
  /** Items that need processing (queued, or re-added while processing). */
  private dirty = new Set<string>();
  private processing = new Set<string>();
  /** Items waiting for a delayed add: only the earliest ready time is kept. */
  private waiting = new Map<string, { at: number; timer: Timer }>();
  private getters: Array<(item: string | undefined) => void> = [];
  private shuttingDown = false;
  private drainWaiters: Array<() => void> = [];

  constructor(opts: WorkQueueOptions = {}) {
    this.name = opts.name ?? "";
    this.clock = opts.clock ?? realClock;
    this.limiter = opts.rateLimiter ?? defaultControllerRateLimiter(this.clock);
  }

  add(item: string): void {
    if (this.shuttingDown || this.dirty.has(item)) return;
    this.dirty.add(item);
    if (this.processing.has(item)) return;
    const getter = this.getters.shift();
    if (getter) {
      this.dirty.delete(item);
      this.processing.add(item);
      getter(item);
    } else {
      this.queue.push(item);
    }
  }

  /** Adds the item after ms; a pending earlier add of the same item wins. */
  addAfter(item: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(item);
    const at = this.clock.now() + ms;
    const prev = this.waiting.get(item);
    if (prev && prev.at <= at) return;
    prev?.timer.stop();
    const timer = this.clock.setTimer(() => {
      this.waiting.delete(item);
      this.add(item);
    }, ms);
    this.waiting.set(item, { at, timer });
  }

  /** Adds the item after the rate limiter's delay (backoff after a failure). */
  addRateLimited(item: string): void {
    this.addAfter(item, this.limiter.when(item));
  }

  /** The item succeeded: reset its backoff. */
  forget(item: string): void {
    this.limiter.forget(item);
  }

  numRequeues(item: string): number {
    return this.limiter.numRequeues(item);
  }

  /**
   * Next item to process; the caller must call done(item) afterwards. Resolves
   * undefined once the queue is shut down (queued items are then dropped).
   */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const item = this.queue.shift();
    if (item !== undefined) {
      this.dirty.delete(item);
      this.processing.add(item);
      return Promise.resolve(item);
    }
    return new Promise((resolve) => this.getters.push(resolve));
  }

  done(item: string): void {
    this.processing.delete(item);
    if (this.dirty.has(item) && !this.shuttingDown) {
      this.dirty.delete(item);
      // Goes through add() so that a blocked worker picks it up at once.
      this.add(item);
    }
    if (this.processing.size === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  /** Number of items ready to be processed (not counting delayed or in-flight ones). */
  len(): number {
    return this.queue.length;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops handing out items and cancels delayed adds; blocked get() calls resolve undefined. */
  shutdown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const w of this.waiting.values()) w.timer.stop();
    this.waiting.clear();
    this.queue = [];
    this.dirty.clear();
    for (const g of this.getters.splice(0)) g(undefined);
  }

  /** Shuts down and resolves when every in-flight item is done. */
  async shutdownWithDrain(): Promise<void> {
    this.shutdown();
    if (this.processing.size === 0) return;
    await new Promise<void>((r) => this.drainWaiters.push(r));
  }
}
