// The etcd store backend: the Store interface over etcd v3's KV and Watch APIs
// (https://etcd.io/docs/v3.5/learning/api/), which is where the interface's shape comes
// from, so the mapping is nearly one to one, as in kube-apiserver's etcd3 storage
// (https://kubernetes.io/docs/concepts/overview/components/#etcd). A revision is etcd's
// cluster-wide `mod_revision`; create is a transaction guarded by `create_revision == 0`,
// update/delete by `mod_revision == expected` (plus `version > 0`, so a CAS on a missing
// key never creates it). All watchers share one gRPC watch stream, each with its own
// watch id. Chosen by `etcd://host:port[,host:port…]` in open.ts; passes contract.ts.

import { Etcd3, type IKeyValue, type IWatchResponse, type IRangeRequest, type IDuplexStream, type IWatchRequest } from "etcd3";
import {
  CompactedError,
  KeyExistsError,
  KeyNotFoundError,
  RevisionMismatchError,
  StoreError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type StoreEvent,
  type WatchCallbacks,
  type Watcher,
} from "./types.js";

export interface EtcdStoreOptions {
  /** Endpoints like "127.0.0.1:2379" or "http://127.0.0.1:2379". */
  endpoints: string[];
  /** Per-call timeout (ms) for unary requests. Default 30 s. */
  callTimeoutMs?: number;
}

const enc = (s: string): Buffer => Buffer.from(s, "utf8");
const num = (s: string | number | undefined): number => Number(s ?? 0);

/** The smallest key greater than every key with this prefix (etcd's `WithPrefix` range end). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // "\0" as range end means "to the end of the key space"
}

function kvOf(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString("utf8"),
    value: kv.value.toString("utf8"),
    createRevision: num(kv.create_revision),
    modRevision: num(kv.mod_revision),
  };
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== "string" || key.length === 0) throw new StoreError("key: must be a non-empty string");
}

function checkValue(value: unknown): asserts value is string {
  if (typeof value !== "string") throw new StoreError("value: must be a string (JSON text)");
}

function checkRevision(field: string, rev: unknown): asserts rev is number {
  if (typeof rev !== "number" || !Number.isSafeInteger(rev) || rev < 0) {
    throw new StoreError(`${field}: must be a non-negative integer, got ${String(rev)}`);
  }
}

// etcd reports both conditions as gRPC OUT_OF_RANGE and tells them apart only by text
// (mvcc.ErrCompacted / mvcc.ErrFutureRev); this is the one place we read a message.
const isCompacted = (err: unknown): boolean => /required revision has been compacted/.test(String((err as Error)?.message));
const isFuture = (err: unknown): boolean => /required revision is a future revision/.test(String((err as Error)?.message));

interface EtcdWatch {
  id: number;
  after: number;
  cb: WatchCallbacks;
  stopped: boolean;
  /** Settles watch(): resolved on etcd's "created", rejected if etcd refuses the watch. */
  created?: { resolve(): void; reject(err: Error): void };
}

export class EtcdStore implements Store {
  private readonly client: Etcd3;
  private readonly callTimeoutMs: number;
  private closed = false;
  /** A lower bound of the compacted revision, raised by our compactions and searches. */
  private knownCompacted = 0;

  private stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined;
  private opening: Promise<IDuplexStream<IWatchRequest, IWatchResponse>> | undefined;
  private readonly watches = new Map<number, EtcdWatch>();
  private nextWatchId = 1;

  constructor(opts: EtcdStoreOptions) {
    if (!Array.isArray(opts.endpoints) || opts.endpoints.length === 0) throw new StoreError("etcd endpoints: need at least one host:port");
    const hosts = opts.endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`));
    this.callTimeoutMs = opts.callTimeoutMs ?? 30_000;
    // grpc-js refuses replies over 4 MiB by default; an unpaginated list can be far larger.
    this.client = new Etcd3({ hosts, dialTimeout: 5_000, grpcOptions: { "grpc.max_receive_message_length": 1 << 30 } });
  }

  private open(): void {
    if (this.closed) throw new StoreError("store is closed");
  }

  private opts() {
    return { deadline: Date.now() + this.callTimeoutMs };
  }

  private async range(req: IRangeRequest) {
    try {
      return await this.client.kv.range(req, this.opts());
    } catch (err) {
      throw await this.translate(err, num(req.revision));
    }
  }

  /** Maps etcd's revision errors onto the store's; anything else passes through. */
  private async translate(err: unknown, revision: number): Promise<unknown> {
    if (isCompacted(err)) return new CompactedError(revision, await this.compactedRevision());
    if (isFuture(err)) return new StoreError(`revision: ${revision} is in the future (current ${await this.currentRevision()})`);
    return err;
  }

  // ---- reads -------------------------------------------------------------------------

  async get(key: string): Promise<KeyValue | undefined> {
    this.open();
    checkKey(key);
    const res = await this.range({ key: enc(key) });
    return res.kvs.length > 0 ? kvOf(res.kvs[0]) : undefined;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.open();
    if (typeof prefix !== "string") throw new StoreError("prefix: must be a string");
    const limit = opts.limit ?? 0;
    checkRevision("limit", limit);
    const wanted = opts.revision ?? 0;
    checkRevision("revision", wanted);
    if (opts.startAfter !== undefined && typeof opts.startAfter !== "string") throw new StoreError("startAfter: must be a string");
    const p = enc(prefix);
    // Continue after startAfter (its successor is startAfter + "\0") unless it lies before the prefix.
    const after = opts.startAfter !== undefined && Buffer.compare(enc(opts.startAfter), p) >= 0;
    const key = after ? Buffer.concat([enc(opts.startAfter!), Buffer.from([0])]) : p.length > 0 ? p : Buffer.from([0]);
    const res = await this.range({ key, range_end: prefixEnd(p), limit, revision: wanted });
    return { kvs: res.kvs.map(kvOf), revision: wanted || num(res.header.revision), more: limit > 0 && res.more };
  }

  async count(prefix: string): Promise<number> {
    this.open();
    if (typeof prefix !== "string") throw new StoreError("prefix: must be a string");
    const p = enc(prefix);
    const res = await this.range({ key: p.length > 0 ? p : Buffer.from([0]), range_end: prefixEnd(p), count_only: true });
    return num(res.count);
  }

  async currentRevision(): Promise<number> {
    this.open();
    // A one-key range is the cheapest linearizable read that carries the header revision.
    const res = await this.client.kv.range({ key: Buffer.from([0]), count_only: true }, this.opts());
    return num(res.header.revision);
  }

  /** Can revision still be read? (etcd keeps no "compacted" number we can ask for.) */
  private async readable(revision: number): Promise<boolean> {
    try {
      await this.client.kv.range({ key: Buffer.from([0]), count_only: true, revision }, this.opts());
      return true;
    } catch (err) {
      if (isCompacted(err)) return false;
      throw err;
    }
  }

  /**
   * The oldest readable revision (0 when nothing was ever compacted), found by a binary
   * search of range reads between the last known bound and the present: about log2(n)
   * loopback round trips, and only the compactor asks.
   */
  async compactedRevision(): Promise<number> {
    this.open();
    const current = await this.currentRevision();
    let lo = Math.max(this.knownCompacted, 1);
    if (await this.readable(lo)) return this.knownCompacted === 0 && lo === 1 ? 0 : this.knownCompacted;
    let hi = current; // the current revision is always readable
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await this.readable(mid)) hi = mid;
      else lo = mid;
    }
    this.knownCompacted = hi;
    return hi;
  }

  // ---- writes ------------------------------------------------------------------------

  async create(key: string, value: string): Promise<number> {
    this.open();
    checkKey(key);
    checkValue(value);
    const k = enc(key);
    const res = await this.client.kv.txn(
      {
        compare: [{ key: k, target: "Create", result: "Equal", create_revision: 0 }],
        success: [{ request_put: { key: k, value: enc(value) } }],
      },
      this.opts(),
    );
    if (!res.succeeded) throw new KeyExistsError(key);
    return num(res.header.revision);
  }

  /** The guards of update/delete: the key exists, and (when given) its modRevision matches. */
  private guards(k: Buffer, expectedRevision: number | undefined) {
    const compare = [{ key: k, target: "Version" as const, result: "Greater" as const, version: 0 }];
    if (expectedRevision !== undefined) compare.push({ key: k, target: "Mod" as const, result: "Equal" as const, mod_revision: expectedRevision } as never);
    return compare;
  }

  /** After a failed guard, the failure branch's range says which guard failed. */
  private refusal(key: string, res: { responses: { response_range?: { kvs: IKeyValue[] } }[] }): Error {
    const kvs = res.responses[0]?.response_range?.kvs ?? [];
    return kvs.length === 0 ? new KeyNotFoundError(key) : new RevisionMismatchError(key, kvOf(kvs[0]));
  }

  async update(key: string, value: string, expectedRevision: number): Promise<number> {
    this.open();
    checkKey(key);
    checkValue(value);
    checkRevision("expectedRevision", expectedRevision);
    const k = enc(key);
    const res = await this.client.kv.txn(
      {
        compare: this.guards(k, expectedRevision),
        success: [{ request_put: { key: k, value: enc(value) } }],
        failure: [{ request_range: { key: k } }],
      },
      this.opts(),
    );
    if (!res.succeeded) throw this.refusal(key, res);
    return num(res.header.revision);
  }

  async delete(key: string, expectedRevision?: number): Promise<{ revision: number; prevKv: KeyValue }> {
    this.open();
    checkKey(key);
    if (expectedRevision !== undefined) checkRevision("expectedRevision", expectedRevision);
    const k = enc(key);
    const res = await this.client.kv.txn(
      {
        compare: this.guards(k, expectedRevision),
        success: [{ request_delete_range: { key: k, prev_kv: true } }],
        failure: [{ request_range: { key: k } }],
      },
      this.opts(),
    );
    if (!res.succeeded) throw this.refusal(key, res);
    const prev = res.responses[0]?.response_delete_range?.prev_kvs?.[0];
    if (!prev) throw new StoreError(`etcd delete of ${key} returned no previous value`);
    return { revision: num(res.header.revision), prevKv: kvOf(prev) };
  }

  async compact(revision: number): Promise<void> {
    this.open();
    checkRevision("revision", revision);
    if (revision === 0) return;
    try {
      await this.client.kv.compact({ revision, physical: false }, this.opts());
    } catch (err) {
      if (isCompacted(err)) return; // already compacted at or past it: a no-op, as in sqlite.ts
      if (isFuture(err)) throw new StoreError(`revision: ${revision} is in the future (current ${await this.currentRevision()})`);
      throw err;
    }
    this.knownCompacted = Math.max(this.knownCompacted, revision);
  }

  // ---- watch -------------------------------------------------------------------------

  async watch(prefix: string, afterRevision: number, cb: WatchCallbacks): Promise<Watcher> {
    this.open();
    if (typeof prefix !== "string") throw new StoreError("prefix: must be a string");
    checkRevision("afterRevision", afterRevision);
    if (!cb || typeof cb.onEvents !== "function") throw new StoreError("cb.onEvents: must be a function");
    // etcd would accept the watch and cancel it a moment later; the interface wants a refusal.
    // Reading at afterRevision succeeds exactly when afterRevision >= the compacted revision.
    const probe = Math.max(afterRevision, 1);
    if (!(await this.readable(probe).catch((e) => (isFuture(e) ? true : Promise.reject(e))))) {
      throw new CompactedError(afterRevision, await this.compactedRevision());
    }
    const stream = await this.watchStream();
    const p = enc(prefix);
    const w: EtcdWatch = { id: this.nextWatchId++, after: afterRevision, cb, stopped: false };
    const created = new Promise<void>((resolve, reject) => (w.created = { resolve, reject }));
    this.watches.set(w.id, w);
    stream.write({
      create_request: {
        key: p.length > 0 ? p : Buffer.from([0]),
        range_end: prefixEnd(p),
        start_revision: afterRevision + 1,
        prev_kv: true,
        watch_id: w.id,
      },
    });
    await created;
    return { stop: () => this.unwatch(w) };
  }

  private unwatch(w: EtcdWatch): void {
    if (w.stopped) return;
    w.stopped = true;
    if (this.watches.delete(w.id) && this.stream && !this.closed) {
      this.stream.write({ cancel_request: { watch_id: w.id } });
    }
  }

  private fail(w: EtcdWatch, err: Error): void {
    if (w.stopped) return;
    this.unwatch(w);
    if (w.created) return w.created.reject(err);
    try {
      w.cb.onError?.(err);
    } catch {
      // onError is the last word; nothing more to tell anyone.
    }
  }

  /** The shared watch stream, opened on first use; if it breaks, every watch on it fails. */
  private async watchStream(): Promise<IDuplexStream<IWatchRequest, IWatchResponse>> {
    if (this.stream) return this.stream;
    this.opening ??= this.client.watchClient.watch().then((stream) => {
      const broken = (err: Error) => {
        if (this.stream !== stream) return;
        this.stream = undefined;
        const e = new StoreError(`etcd watch stream ended: ${err.message}`);
        for (const w of [...this.watches.values()]) this.fail(w, e);
        try {
          stream.cancel();
        } catch {
          // already gone
        }
      };
      stream.on("data", (res) => this.onResponse(res));
      stream.on("error", broken);
      stream.on("end", () => broken(new Error("closed by the server")));
      this.stream = stream;
      this.opening = undefined;
      return stream;
    }, (err) => {
      this.opening = undefined;
      throw err;
    });
    return this.opening;
  }

  private onResponse(res: IWatchResponse): void {
    const w = this.watches.get(num(res.watch_id));
    if (!w || w.stopped) return; // a late response for a stopped watch
    if (res.canceled) {
      const compacted = num(res.compact_revision);
      this.fail(w, compacted > 0 ? new CompactedError(w.after, compacted) : new StoreError(`etcd canceled the watch: ${res.cancel_reason || "no reason given"}`));
      return;
    }
    if (res.created) {
      const c = w.created;
      w.created = undefined;
      c?.resolve();
    }
    if (!res.events || res.events.length === 0) return;
    const events: StoreEvent[] = res.events.map((ev) => {
      const kv = kvOf(ev.kv);
      const prevKv = ev.prev_kv ? kvOf(ev.prev_kv) : undefined;
      if (ev.type === "Delete") {
        // etcd's delete event carries only the key and revision; the store's carries the last value.
        const last = prevKv ?? { key: kv.key, value: "", createRevision: 0, modRevision: 0 };
        return { type: "delete", kv: { ...last, modRevision: kv.modRevision }, prevKv: last };
      }
      return prevKv ? { type: "put", kv, prevKv } : { type: "put", kv };
    });
    try {
      w.cb.onEvents(events);
    } catch (err) {
      // A consumer that throws cannot have seen its events; end its watch loudly.
      this.fail(w, err instanceof Error ? err : new StoreError(String(err)));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new StoreError("store closed");
    for (const w of [...this.watches.values()]) this.fail(w, err);
    const stream = this.stream;
    this.stream = undefined;
    try {
      stream?.cancel();
    } catch {
      // already gone
    }
    this.client.close();
  }
}

/** Parses `etcd://h1:p1[,h2:p2…]` (a comma list is not a valid URL host, so it is split by hand). */
export function parseEtcdURL(raw: string): string[] {
  const m = /^etcd:\/\/([^/?#]*)\/?$/i.exec(raw.trim());
  if (!m || m[1] === "") throw new StoreError(`store URL: want etcd://host:port[,host:port…], got "${raw}"`);
  return m[1].split(",").map((hp) => {
    if (!/^(\[[0-9a-f:]+\]|[a-z0-9.-]+):\d{1,5}$/i.test(hp)) throw new StoreError(`store URL: etcd endpoint "${hp}" is not host:port`);
    return hp;
  });
}
