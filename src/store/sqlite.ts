// The default store backend: etcd's revisioned key–value model
// (https://etcd.io/docs/v3.5/learning/data_model/) on one SQLite file, in the shape of
// kine's SQL log (https://github.com/k3s-io/kine, pkg/drivers/generic). Every
// create/update/delete appends one row to `log`; the row id is the cluster-wide revision
// (the object's resourceVersion). `current` points at the latest row of each live key
// so reads of the present never scan history. UNIQUE (name, prev_revision) means two
// writers that read the same version can never both append after it, even from two
// processes. Watchers share one in-process notifier (watch-hub in this file). Writes
// are group-committed (groupcommit.ts): all writes issued in one event-loop turn share
// one transaction and so one fsync, and each is acknowledged only after that commit.
// See README.md in this folder for the diagram and vocabulary.

import Database from "better-sqlite3";
import { GroupCommit, type WriteOp } from "./groupcommit.js";
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

export interface SqliteStoreOptions {
  /** How often (ms) to look for writes made by other processes while anyone watches. */
  pollIntervalMs?: number;
  /** How long (ms) a writer waits for another process holding the write lock. */
  busyTimeoutMs?: number;
  /**
   * Default true: fsync the WAL on every commit (synchronous=FULL), so an acknowledged write
   * survives power loss as well as kill -9. false (synchronous=NORMAL) still survives a
   * killed process but may lose the last commits on power loss: for benchmarks and test setup.
   */
  durable?: boolean;
  /**
   * Default true: writes issued in one event-loop turn share one transaction and fsync
   * (groupcommit.ts). false commits each write on its own, as before group commit: kept so
   * the store benchmark can show both in one run.
   */
  groupCommit?: boolean;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS log (
  id              INTEGER PRIMARY KEY AUTOINCREMENT, -- the revision; AUTOINCREMENT never reuses one
  name            TEXT    NOT NULL,
  created         INTEGER NOT NULL,                  -- 1: this row (re)creates the key
  deleted         INTEGER NOT NULL,                  -- 1: tombstone; value holds the last value
  create_revision INTEGER NOT NULL,
  prev_revision   INTEGER NOT NULL,                  -- id of the key's previous row, 0 if none
  value           TEXT    NOT NULL
);
-- The compare-and-swap guard, and (with the implicit rowid) the per-key history index.
CREATE UNIQUE INDEX IF NOT EXISTS log_name_prev ON log (name, prev_revision);
CREATE TABLE IF NOT EXISTS current (
  name TEXT PRIMARY KEY,
  id   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('schema', 1), ('compacted', 0), ('swept', 0);
`;

// Upper bound of a prefix range: 0xF5 never starts a UTF-8 sequence, so every valid
// string that starts with the prefix sorts below prefix||F5 in SQLite's byte order.
const UPPER = `(@prefix || CAST(x'F5' AS TEXT))`;
const EVENT_COLS = `l.id, l.name, l.created, l.deleted, l.create_revision, l.prev_revision, l.value, p.value AS prev_value`;
const EVENT_JOIN = `LEFT JOIN log p ON p.id = l.prev_revision AND l.created = 0 AND l.deleted = 0`;
const SWEEP_CHUNK = 5000;
const PUMP_BATCH = 5000;

interface KvRow {
  id: number;
  name: string;
  create_revision: number;
  value: string;
}

interface EventRow extends KvRow {
  created: number;
  deleted: number;
  prev_revision: number;
  prev_value: string | null;
}

function kvOf(r: KvRow): KeyValue {
  return { key: r.name, value: r.value, createRevision: r.create_revision, modRevision: r.id };
}

function eventOf(r: EventRow): StoreEvent {
  const kv = kvOf(r);
  if (r.deleted) {
    // A tombstone keeps the last value, so prevKv needs no join.
    return { type: "delete", kv, prevKv: { ...kv, modRevision: r.prev_revision } };
  }
  if (r.created || r.prev_value === null) return { type: "put", kv };
  return {
    type: "put",
    kv,
    prevKv: { key: r.name, value: r.prev_value, createRevision: r.create_revision, modRevision: r.prev_revision },
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

/** Byte-order (UTF-8) comparison, which is how SQLite orders keys. */
function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

interface WatchEntry {
  prefix: string;
  /** Only events above this revision are delivered. */
  after: number;
  queue: StoreEvent[];
  flushing: boolean;
  /** False until watch() has returned, so the caller holds the handle before any delivery. */
  ready: boolean;
  stopped: boolean;
  cb: WatchCallbacks;
}

export class SqliteStore implements Store {
  readonly path: string;
  private db: Database.Database;
  private closed = false;
  private readonly pollIntervalMs: number;
  private stmts;

  // Watch hub: every watcher shares one cursor (`delivered`) over the log. Local commits
  // are dispatched right after they commit; a single poll picks up other processes' rows.
  private delivered = 0;
  private readonly byPrefix = new Map<string, Set<WatchEntry>>();
  private watcherCount = 0;
  private poller: NodeJS.Timeout | undefined;

  private readonly writes: GroupCommit<StoreEvent>;

  constructor(path: string, opts: SqliteStoreOptions = {}) {
    this.path = path;
    this.pollIntervalMs = opts.pollIntervalMs ?? 150;
    this.db = new Database(path, { timeout: opts.busyTimeoutMs ?? 10_000 });
    this.db.pragma("journal_mode = WAL");
    this.db.pragma(opts.durable === false ? "synchronous = NORMAL" : "synchronous = FULL");
    this.db.transaction(() => this.db.exec(SCHEMA)).immediate();
    const db = this.db;
    this.stmts = {
      seq: db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'log'`).pluck(),
      meta: db.prepare(`SELECT value FROM meta WHERE name = ?`).pluck(),
      setMeta: db.prepare(`UPDATE meta SET value = max(value, @value) WHERE name = @name`),
      getLive: db.prepare(
        `SELECT l.id, l.name, l.create_revision, l.value FROM current c JOIN log l ON l.id = c.id WHERE c.name = ?`,
      ),
      lastRowId: db.prepare(`SELECT max(rowid) FROM log WHERE name = ?`).pluck(),
      insert: db.prepare(
        `INSERT INTO log (id, name, created, deleted, create_revision, prev_revision, value)
         VALUES (@id, @name, @created, @deleted, @create_revision, @prev_revision, @value)`,
      ),
      setCurrent: db.prepare(
        `INSERT INTO current (name, id) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET id = excluded.id`,
      ),
      dropCurrent: db.prepare(`DELETE FROM current WHERE name = ?`),
      listLatestGe: db.prepare(
        `SELECT l.id, l.name, l.create_revision, l.value FROM current c JOIN log l ON l.id = c.id
         WHERE c.name >= @lo AND c.name < ${UPPER} ORDER BY c.name LIMIT @limit`,
      ),
      listLatestGt: db.prepare(
        `SELECT l.id, l.name, l.create_revision, l.value FROM current c JOIN log l ON l.id = c.id
         WHERE c.name > @lo AND c.name < ${UPPER} ORDER BY c.name LIMIT @limit`,
      ),
      listAtGe: db.prepare(
        `SELECT l.id, l.name, l.create_revision, l.value FROM log l
         WHERE l.name >= @lo AND l.name < ${UPPER} AND l.deleted = 0
           AND l.id = (SELECT max(x.id) FROM log x WHERE x.name = l.name AND x.id <= @rev)
         ORDER BY l.name LIMIT @limit`,
      ),
      listAtGt: db.prepare(
        `SELECT l.id, l.name, l.create_revision, l.value FROM log l
         WHERE l.name > @lo AND l.name < ${UPPER} AND l.deleted = 0
           AND l.id = (SELECT max(x.id) FROM log x WHERE x.name = l.name AND x.id <= @rev)
         ORDER BY l.name LIMIT @limit`,
      ),
      count: db.prepare(`SELECT count(*) FROM current WHERE name >= @prefix AND name < ${UPPER}`).pluck(),
      eventsAll: db.prepare(
        `SELECT ${EVENT_COLS} FROM log l ${EVENT_JOIN} WHERE l.id > @after AND l.id <= @upto ORDER BY l.id LIMIT @limit`,
      ),
      eventsPrefix: db.prepare(
        `SELECT ${EVENT_COLS} FROM log l ${EVENT_JOIN}
         WHERE l.id > @after AND l.id <= @upto AND l.name >= @prefix AND l.name < ${UPPER} ORDER BY l.id`,
      ),
      // Compaction sweep of ids (lo, hi]: a row at or below the target supersedes its previous
      // row, and tombstones at or below the target are no longer needed by any read.
      sweepPrev: db.prepare(
        `DELETE FROM log WHERE id IN (SELECT prev_revision FROM log WHERE id > @lo AND id <= @hi AND prev_revision > 0)`,
      ),
      sweepTombstones: db.prepare(`DELETE FROM log WHERE id > @lo AND id <= @hi AND deleted = 1`),
    };
    this.delivered = this.seq();
    this.writes = new GroupCommit<StoreEvent>(db, opts.groupCommit ?? true, (e) => this.committed(e), () => this.closed);
  }

  // ---- reads -------------------------------------------------------------------------

  private seq(): number {
    return (this.stmts.seq.get() as number | undefined) ?? 0;
  }

  private metaValue(name: string): number {
    return this.stmts.meta.get(name) as number;
  }

  private open(): void {
    if (this.closed) throw new StoreError("store is closed");
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.open();
    checkKey(key);
    const row = this.stmts.getLive.get(key) as KvRow | undefined;
    return row && kvOf(row);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.open();
    if (typeof prefix !== "string") throw new StoreError("prefix: must be a string");
    const limit = opts.limit ?? 0;
    checkRevision("limit", limit);
    const wanted = opts.revision ?? 0;
    checkRevision("revision", wanted);
    if (opts.startAfter !== undefined && typeof opts.startAfter !== "string") {
      throw new StoreError("startAfter: must be a string");
    }
    // Continue from whichever is later: the prefix itself (inclusive) or startAfter (exclusive).
    const after = opts.startAfter !== undefined && byteCompare(opts.startAfter, prefix) >= 0;
    const lo = after ? opts.startAfter! : prefix;
    const params = { lo, prefix, limit: limit > 0 ? limit + 1 : -1 };

    // One read transaction: the revision reported and the rows come from the same snapshot.
    return this.db.transaction((): ListResult => {
      const current = this.seq();
      let rows: KvRow[];
      let revision = current;
      if (wanted === 0 || wanted === current) {
        rows = (after ? this.stmts.listLatestGt : this.stmts.listLatestGe).all(params) as KvRow[];
      } else {
        if (wanted > current) throw new StoreError(`revision: ${wanted} is in the future (current ${current})`);
        const compacted = this.metaValue("compacted");
        if (wanted < compacted) throw new CompactedError(wanted, compacted);
        revision = wanted;
        rows = (after ? this.stmts.listAtGt : this.stmts.listAtGe).all({ ...params, rev: wanted }) as KvRow[];
      }
      const more = limit > 0 && rows.length > limit;
      if (more) rows.length = limit;
      return { kvs: rows.map(kvOf), revision, more };
    })();
  }

  async count(prefix: string): Promise<number> {
    this.open();
    if (typeof prefix !== "string") throw new StoreError("prefix: must be a string");
    return this.stmts.count.get({ prefix }) as number;
  }

  async currentRevision(): Promise<number> {
    this.open();
    return this.seq();
  }

  async compactedRevision(): Promise<number> {
    this.open();
    return this.metaValue("compacted");
  }

  // ---- writes ------------------------------------------------------------------------

  /** Appends one row (and moves `current`) inside the caller's write transaction. */
  private append(row: Omit<EventRow, "id" | "prev_value">): number {
    const id = this.seq() + 1;
    try {
      this.stmts.insert.run({ id, ...row, create_revision: row.created ? id : row.create_revision });
    } catch (err) {
      // Unreachable while writes hold the write lock; kept as the last line of defence.
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") {
        throw new StoreError(`concurrent write to ${row.name} lost the race; retry`);
      }
      throw err;
    }
    if (row.deleted) this.stmts.dropCurrent.run(row.name);
    else this.stmts.setCurrent.run(row.name, id);
    return id;
  }

  async create(key: string, value: string): Promise<number> {
    this.open();
    checkKey(key);
    checkValue(value);
    return this.enqueue(() => {
      if (this.stmts.getLive.get(key)) throw new KeyExistsError(key);
      // After a delete the chain continues from the tombstone (if not compacted yet).
      const prev = (this.stmts.lastRowId.get(key) as number | null) ?? 0;
      const id = this.append({ name: key, created: 1, deleted: 0, create_revision: 0, prev_revision: prev, value });
      return { event: { type: "put", kv: { key, value, createRevision: id, modRevision: id } }, result: id };
    });
  }

  async update(key: string, value: string, expectedRevision: number): Promise<number> {
    this.open();
    checkKey(key);
    checkValue(value);
    checkRevision("expectedRevision", expectedRevision);
    return this.enqueue(() => {
      const row = this.stmts.getLive.get(key) as KvRow | undefined;
      if (!row) throw new KeyNotFoundError(key);
      if (row.id !== expectedRevision) throw new RevisionMismatchError(key, kvOf(row));
      const id = this.append({
        name: key,
        created: 0,
        deleted: 0,
        create_revision: row.create_revision,
        prev_revision: row.id,
        value,
      });
      const prevKv = kvOf(row);
      return { event: { type: "put", kv: { key, value, createRevision: prevKv.createRevision, modRevision: id }, prevKv }, result: id };
    });
  }

  async delete(key: string, expectedRevision?: number): Promise<{ revision: number; prevKv: KeyValue }> {
    this.open();
    checkKey(key);
    if (expectedRevision !== undefined) checkRevision("expectedRevision", expectedRevision);
    return this.enqueue(() => {
      const row = this.stmts.getLive.get(key) as KvRow | undefined;
      if (!row) throw new KeyNotFoundError(key);
      if (expectedRevision !== undefined && row.id !== expectedRevision) {
        throw new RevisionMismatchError(key, kvOf(row));
      }
      const id = this.append({
        name: key,
        created: 0,
        deleted: 1,
        create_revision: row.create_revision,
        prev_revision: row.id,
        value: row.value,
      });
      const prevKv = kvOf(row);
      return { event: { type: "delete", kv: { ...prevKv, modRevision: id }, prevKv }, result: { revision: id, prevKv } };
    });
  }

  /** Queues a write for the next group commit (groupcommit.ts). */
  private enqueue<T>(op: WriteOp<StoreEvent, T>): Promise<T> {
    return this.writes.enqueue(op);
  }

  /** Write transactions committed and writes acknowledged (writes / commits = mean group size). */
  get commitStats(): { commits: number; writes: number } {
    return this.writes.stats;
  }

  /**
   * Compaction: reads below `revision` become impossible, so rows superseded at or below it
   * and tombstones at or below it are dropped. The bound is published first (readers then
   * refuse old revisions), and the sweep runs in short transactions so writers are not
   * held up; `swept` records progress so an interrupted sweep resumes next time.
   */
  async compact(revision: number): Promise<void> {
    this.open();
    checkRevision("revision", revision);
    this.pump(); // deliver what we have before history can vanish under the watchers
    const from = this.db
      .transaction(() => {
        const current = this.seq();
        if (revision > current) throw new StoreError(`revision: ${revision} is in the future (current ${current})`);
        this.stmts.setMeta.run({ name: "compacted", value: revision });
        return this.metaValue("swept");
      })
      .immediate();
    for (let lo = from; lo < revision; lo += SWEEP_CHUNK) {
      if (this.closed) return; // closed between chunks: the next compaction resumes from `swept`
      const hi = Math.min(lo + SWEEP_CHUNK, revision);
      this.db
        .transaction(() => {
          this.stmts.sweepPrev.run({ lo, hi });
          this.stmts.sweepTombstones.run({ lo, hi });
          this.stmts.setMeta.run({ name: "swept", value: hi });
        })
        .immediate();
      if (lo + SWEEP_CHUNK < revision) await new Promise<void>((r) => setImmediate(r)); // let others in
    }
  }

  // ---- watch -------------------------------------------------------------------------

  async watch(prefix: string, afterRevision: number, cb: WatchCallbacks): Promise<Watcher> {
    this.open();
    if (typeof prefix !== "string") throw new StoreError("prefix: must be a string");
    checkRevision("afterRevision", afterRevision);
    if (!cb || typeof cb.onEvents !== "function") throw new StoreError("cb.onEvents: must be a function");
    // The first watcher starts the shared cursor at the present; nobody needed older rows.
    if (this.watcherCount === 0) this.delivered = this.seq();
    // Everything below is synchronous, so no dispatch can slip between the replay read and
    // the registration: replay covers (after, delivered], live dispatch covers the rest.
    const replay = this.db.transaction(() => {
      const compacted = this.metaValue("compacted");
      if (afterRevision < compacted) throw new CompactedError(afterRevision, compacted);
      if (afterRevision >= this.delivered) return [];
      return this.stmts.eventsPrefix.all({ after: afterRevision, upto: this.delivered, prefix }) as EventRow[];
    })();
    const entry: WatchEntry = {
      prefix,
      after: afterRevision,
      queue: replay.map(eventOf),
      flushing: false,
      ready: false,
      stopped: false,
      cb,
    };
    let set = this.byPrefix.get(prefix);
    if (!set) this.byPrefix.set(prefix, (set = new Set()));
    set.add(entry);
    this.watcherCount++;
    this.ensurePoller();
    // A macrotask runs after the caller's `await watch()` continuation; from then on,
    // deliveries are microtasks.
    setImmediate(() => {
      entry.ready = true;
      this.schedule(entry);
    });
    return { stop: () => this.unwatch(entry) };
  }

  private unwatch(entry: WatchEntry): void {
    if (entry.stopped) return;
    entry.stopped = true;
    entry.queue = [];
    const set = this.byPrefix.get(entry.prefix);
    if (set?.delete(entry)) {
      this.watcherCount--;
      if (set.size === 0) this.byPrefix.delete(entry.prefix);
    }
    if (this.watcherCount === 0) this.stopPoller();
  }

  private schedule(entry: WatchEntry): void {
    if (entry.flushing || !entry.ready) return;
    entry.flushing = true;
    // A microtask, not a timer: delivery right after the write's own code finishes.
    queueMicrotask(() => {
      entry.flushing = false;
      if (entry.stopped || entry.queue.length === 0) return;
      const batch = entry.queue;
      entry.queue = [];
      try {
        entry.cb.onEvents(batch);
      } catch (err) {
        // A consumer that throws cannot have seen its events; end its watch loudly.
        this.fail(entry, err instanceof Error ? err : new StoreError(String(err)));
      }
    });
  }

  private fail(entry: WatchEntry, err: Error): void {
    if (entry.stopped) return;
    this.unwatch(entry);
    try {
      entry.cb.onError?.(err);
    } catch {
      // onError is the last word; nothing more to tell anyone.
    }
  }

  private dispatch(events: StoreEvent[]): void {
    for (const [prefix, set] of this.byPrefix) {
      const matching = events.filter((e) => e.kv.key.startsWith(prefix));
      if (matching.length === 0) continue;
      for (const entry of set) {
        const mine = entry.after > 0 ? matching.filter((e) => e.kv.modRevision > entry.after) : matching;
        if (mine.length === 0) continue;
        for (const e of mine) entry.queue.push(e);
        this.schedule(entry);
      }
    }
  }

  /** Called right after a local commit with the event it produced. */
  private committed(event: StoreEvent): void {
    const rev = event.kv.modRevision;
    if (this.watcherCount === 0) {
      this.delivered = Math.max(this.delivered, rev);
    } else if (rev === this.delivered + 1) {
      this.delivered = rev; // no one else wrote in between: no need to read it back
      this.dispatch([event]);
    } else {
      this.pump();
    }
  }

  /** Reads rows past the shared cursor (written by anyone) and dispatches them. */
  private pump(): void {
    if (this.closed || this.watcherCount === 0) return;
    for (;;) {
      const { rows, compacted, upto } = this.db.transaction(() => {
        const upto = this.seq();
        if (upto <= this.delivered) return { rows: [] as EventRow[], compacted: 0, upto };
        const rows = this.stmts.eventsAll.all({ after: this.delivered, upto, limit: PUMP_BATCH }) as EventRow[];
        return { rows, compacted: this.metaValue("compacted"), upto };
      })();
      if (upto <= this.delivered) return;
      if (compacted > this.delivered) {
        // Another process compacted history we had not delivered yet: events may be lost.
        const err = new CompactedError(this.delivered, compacted);
        this.delivered = upto;
        for (const set of [...this.byPrefix.values()]) for (const e of [...set]) this.fail(e, err);
        return;
      }
      const last = rows.length === PUMP_BATCH ? rows[rows.length - 1].id : upto;
      this.delivered = last;
      this.dispatch(rows.map(eventOf));
      if (last === upto) return;
    }
  }

  private ensurePoller(): void {
    if (this.poller || this.pollIntervalMs <= 0) return;
    this.poller = setInterval(() => {
      try {
        if (this.seq() > this.delivered) this.pump();
      } catch (err) {
        const e = err instanceof Error ? err : new StoreError(String(err));
        for (const set of [...this.byPrefix.values()]) for (const w of [...set]) this.fail(w, e);
      }
    }, this.pollIntervalMs);
    // The poll alone must not keep a process alive.
    this.poller.unref();
  }

  private stopPoller(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.writes.flush(); // writes already issued are committed (and acknowledged) before closing
    this.closed = true;
    const err = new StoreError("store closed");
    for (const set of [...this.byPrefix.values()]) for (const w of [...set]) this.fail(w, err);
    this.stopPoller();
    this.db.close();
  }
}

export function openSqliteStore(path: string, opts?: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(path, opts);
}
