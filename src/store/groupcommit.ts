// Group commit for the SQLite store (sqlite.ts): the technique databases use to amortize
// the log flush over many transactions (PostgreSQL's commit_delay/commit_siblings,
// https://www.postgresql.org/docs/current/wal-configuration.html; etcd batches its raft
// entries and backend commits the same way). Writes are queued and the queue is flushed
// once per event-loop turn (setImmediate runs after every I/O callback of the turn), so
// the writes of all requests that arrived together share one BEGIN IMMEDIATE … COMMIT
// and, under synchronous=FULL, one fsync. Each write still runs its own checks in issue
// order against the writes before it, under a savepoint, and its promise settles only
// after the COMMIT returned: an acknowledged write is exactly as durable as before.

import type Database from "better-sqlite3";
import { StoreError } from "./types.js";

/** One write: runs inside the group's transaction; returns what to announce and what to resolve with. */
export type WriteOp<E, T> = () => { event: E; result: T };

interface Pending<E> {
  op: WriteOp<E, unknown>;
  resolve(result: unknown): void;
  reject(err: unknown): void;
}

type Outcome<E> = { ok: true; event: E; result: unknown } | { ok: false; err: unknown };

export class GroupCommit<E> {
  /** Write transactions committed and writes acknowledged: writes / commits is the mean group size. */
  readonly stats = { commits: 0, writes: 0 };
  private pending: Pending<E>[] = [];
  private scheduled = false;
  private readonly group: { immediate(batch: Pending<E>[]): Outcome<E>[] };
  /** A group of one needs no savepoint: the transaction itself rolls back if the write throws. */
  private readonly single: { immediate(op: WriteOp<E, unknown>): { event: E; result: unknown } };

  /**
   * grouped=false commits every write on its own as it is issued (one fsync each).
   * committed(event) runs after the COMMIT, in issue order, before the write's promise settles.
   */
  constructor(
    db: Database.Database,
    private readonly grouped: boolean,
    private readonly committed: (event: E) => void,
    private readonly isClosed: () => boolean,
  ) {
    // Nested in the group's transaction, better-sqlite3 runs this as SAVEPOINT … RELEASE,
    // rolling back only this write when it throws.
    const savepoint = db.transaction((op: WriteOp<E, unknown>) => op());
    this.single = savepoint; // called outside a transaction, the same wrapper is BEGIN … COMMIT
    this.group = db.transaction((batch: Pending<E>[]): Outcome<E>[] =>
      batch.map((w): Outcome<E> => {
        try {
          return { ok: true, ...savepoint(w.op) };
        } catch (err) {
          return { ok: false, err };
        }
      }),
    );
  }

  enqueue<T>(op: WriteOp<E, T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ op, resolve: resolve as (r: unknown) => void, reject });
      if (!this.grouped) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits what is queued now (also called by close(), so issued writes are not lost). */
  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    if (this.isClosed()) {
      for (const w of batch) w.reject(new StoreError("store is closed"));
      return;
    }
    let outcomes: Outcome<E>[];
    try {
      if (batch.length === 1) {
        try {
          outcomes = [{ ok: true, ...this.single.immediate(batch[0]!.op) }];
        } catch (err) {
          outcomes = [{ ok: false, err }]; // rolled back: nothing was committed
        }
        if (outcomes[0]!.ok) this.stats.commits++;
      } else {
        outcomes = this.group.immediate(batch);
        this.stats.commits++;
      }
    } catch (err) {
      // The COMMIT (or BEGIN) itself failed: nothing of the group is durable.
      for (const w of batch) w.reject(err);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const o = outcomes[i]!;
      if (o.ok) {
        this.stats.writes++;
        this.committed(o.event);
        batch[i]!.resolve(o.result);
      } else {
        batch[i]!.reject(o.err);
      }
    }
  }
}
