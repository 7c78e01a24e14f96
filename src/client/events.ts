// Event recording, after client-go's tools/record EventRecorder and EventCorrelator
// (https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/).
// `event()` never blocks its caller: events go onto a bounded queue written by one
// background loop. A repeat of the same (object, type, reason, message, source) bumps
// `count` and `lastTimestamp` on the existing Event instead of creating a new one.

import type { KObject } from "../apimachinery/types.js";
import { nowRFC3339 } from "../apimachinery/types.js";
import type { Client } from "./types.js";
import { realClock, type Clock } from "./clock.js";

export type EventType = "Normal" | "Warning";

export interface EventRecorder {
  /** `fieldPath` names the part of the object, e.g. "spec.containers{web}" (kubectl's SUBOBJECT). */
  event(obj: KObject, type: EventType, reason: string, message: string, fieldPath?: string): void;
}

export interface EventRecorderOptions {
  /** source.component and reportingComponent, e.g. "replicaset-controller". */
  component: string;
  /** source.host and reportingInstance. */
  host?: string;
  clock?: Clock;
  /** Pending events beyond this are dropped (never blocks the caller). */
  maxQueue?: number;
  /** Remembered events for aggregation (LRU). */
  cacheSize?: number;
  onError?: (err: unknown) => void;
}

interface Pending {
  obj: KObject;
  type: EventType;
  reason: string;
  message: string;
  fieldPath?: string;
  at: number;
}

interface Seen {
  namespace: string;
  name: string;
  count: number;
  firstTimestamp: string;
}

/** Writes core/v1 Events through the client. */
export class ClientEventRecorder implements EventRecorder {
  private queue: Pending[] = [];
  private seen = new Map<string, Seen>();
  private draining?: Promise<void>;
  private seq = 0;
  private dropped = 0;
  private closed = false;
  private readonly clock: Clock;

  constructor(
    private readonly client: Client,
    private readonly opts: EventRecorderOptions,
  ) {
    this.clock = opts.clock ?? realClock;
  }

  event(obj: KObject, type: EventType, reason: string, message: string, fieldPath?: string): void {
    if (this.closed) return;
    if (this.queue.length >= (this.opts.maxQueue ?? 1000)) {
      this.dropped++;
      return;
    }
    // Snapshot the identity now: the caller may change the object afterwards.
    const meta = obj.metadata ?? {};
    const snapshot: KObject = {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      metadata: { name: meta.name, namespace: meta.namespace, uid: meta.uid, resourceVersion: meta.resourceVersion },
    };
    this.queue.push({ obj: snapshot, type, reason, message, ...(fieldPath ? { fieldPath } : {}), at: this.clock.now() });
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  /** Number of events dropped because the queue was full. */
  droppedCount(): number {
    return this.dropped;
  }

  /** Resolves when everything queued so far has been written (or has failed). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Stops accepting events and waits for the queue to drain. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private async drain(): Promise<void> {
    for (;;) {
      const p = this.queue.shift();
      if (!p) return;
      try {
        await this.write(p);
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
  }

  private async write(p: Pending): Promise<void> {
    const m = p.obj.metadata;
    // Cluster-scoped objects' events live in "default", as upstream records them.
    const namespace = m.namespace || "default";
    const source = { component: this.opts.component, ...(this.opts.host ? { host: this.opts.host } : {}) };
    const aggKey = JSON.stringify([p.obj.apiVersion, p.obj.kind, m.namespace, m.name, m.uid, p.fieldPath ?? "", p.type, p.reason, p.message, this.opts.component, this.opts.host]);
    const now = nowRFC3339(new Date(p.at));
    const prev = this.seen.get(aggKey);
    if (prev) {
      try {
        await this.client.patch("v1/events", prev.namespace, prev.name, "merge", {
          count: prev.count + 1,
          lastTimestamp: now,
        });
        prev.count++;
        this.touch(aggKey, prev);
        return;
      } catch (err) {
        // The event expired (TTL) or was deleted: start a new one.
        if ((err as { code?: number }).code !== 404) throw err;
        this.seen.delete(aggKey);
      }
    }
    const name = `${m.name}.${this.uniqueHex(p.at)}`;
    const ev: KObject = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace },
      involvedObject: {
        kind: p.obj.kind,
        namespace: m.namespace,
        name: m.name,
        uid: m.uid,
        apiVersion: p.obj.apiVersion,
        resourceVersion: m.resourceVersion,
        ...(p.fieldPath ? { fieldPath: p.fieldPath } : {}),
      },
      reason: p.reason,
      message: p.message,
      source,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type: p.type,
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.host ?? "",
    };
    await this.client.create("v1/events", ev);
    this.touch(aggKey, { namespace, name, count: 1, firstTimestamp: now });
  }

  /** Nanosecond timestamp in hex (upstream's `%x` of UnixNano), kept unique within this recorder. */
  private uniqueHex(ms: number): string {
    return (BigInt(ms) * 1_000_000n + BigInt(this.seq++ % 1_000_000)).toString(16);
  }

  private touch(key: string, s: Seen): void {
    this.seen.delete(key);
    this.seen.set(key, s);
    const max = this.opts.cacheSize ?? 4096;
    while (this.seen.size > max) this.seen.delete(this.seen.keys().next().value!);
  }
}

/** A recorder that keeps events in memory (for tests of components that only emit events). */
export class MemoryEventRecorder implements EventRecorder {
  readonly events: { obj: KObject; type: EventType; reason: string; message: string; fieldPath?: string }[] = [];
  event(obj: KObject, type: EventType, reason: string, message: string, fieldPath?: string): void {
    this.events.push({ obj, type, reason, message, ...(fieldPath ? { fieldPath } : {}) });
  }
}
