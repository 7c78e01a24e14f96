// The store: a revisioned key–value log with watch, the narrow interface every
// backend implements (shaped after kine's backend and etcd's KV/Watch APIs,
// https://etcd.io/docs/v3.5/learning/api/). Each create/update/delete gets the next
// cluster-wide revision; that revision is the object's resourceVersion.
// Backends: sqlite.ts (default, `sqlite://PATH`), etcd.ts (`etcd://host:port`).
// Anything a backend cannot do is refused with an error, never silently ignored.

export interface KeyValue {
  key: string;
  /** Serialized object (JSON text). */
  value: string;
  /** Revision at which the key was (last) created. */
  createRevision: number;
  /** Revision of the last write to the key. */
  modRevision: number;
}

export interface StoreEvent {
  type: "put" | "delete";
  /** For "put": the new value. For "delete": the last value, with modRevision = the delete's revision. */
  kv: KeyValue;
  /** The value before this event (absent on a create). */
  prevKv?: KeyValue;
}

export interface ListOptions {
  /** Only keys strictly greater than this key (pagination continue). */
  startAfter?: string;
  /** Max number of keys to return; 0/undefined = all. */
  limit?: number;
  /** Read as of this revision (must not be compacted); 0/undefined = latest. */
  revision?: number;
}

export interface ListResult {
  kvs: KeyValue[];
  /** The revision the list was read at. */
  revision: number;
  /** True when more keys under the prefix follow the last one returned. */
  more: boolean;
}

export interface Watcher {
  /** Stops delivery; idempotent. */
  stop(): void;
}

export interface WatchCallbacks {
  /** Events in revision order, batched per revision or more. Never called after stop(). */
  onEvents(events: StoreEvent[]): void;
  /** Fatal watch error (e.g. the backend closed); no further events follow. */
  onError?(err: Error): void;
}

export interface Store {
  /** Latest value of key, or undefined. */
  get(key: string): Promise<KeyValue | undefined>;
  /** Creates key; throws KeyExistsError if it exists. Returns the new revision. */
  create(key: string, value: string): Promise<number>;
  /**
   * Compare-and-swap: writes value only if the key's modRevision equals expectedRevision.
   * Throws KeyNotFoundError if absent, RevisionMismatchError (with the current kv) if changed.
   * Returns the new revision.
   */
  update(key: string, value: string, expectedRevision: number): Promise<number>;
  /**
   * Deletes key (only if modRevision equals expectedRevision when given).
   * Throws KeyNotFoundError / RevisionMismatchError. Returns the delete revision and the last value.
   */
  delete(key: string, expectedRevision?: number): Promise<{ revision: number; prevKv: KeyValue }>;
  /** Keys with the prefix in key order. Throws CompactedError for a compacted revision. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Number of live keys under prefix. */
  count(prefix: string): Promise<number>;
  /**
   * Delivers every event under prefix with revision > afterRevision, in order, then live events.
   * Throws CompactedError synchronously-or-rejected if afterRevision < compactedRevision().
   */
  watch(prefix: string, afterRevision: number, cb: WatchCallbacks): Promise<Watcher>;
  /** Latest revision written (0 on an empty store). */
  currentRevision(): Promise<number>;
  /** Oldest revision that can still be read/watched from (history at or below it is gone). */
  compactedRevision(): Promise<number>;
  /** Drops history at or below revision (never the latest value of a live key). */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class KeyExistsError extends StoreError {
  constructor(readonly key: string) {
    super(`key exists: ${key}`);
  }
}

export class KeyNotFoundError extends StoreError {
  constructor(readonly key: string) {
    super(`key not found: ${key}`);
  }
}

export class RevisionMismatchError extends StoreError {
  constructor(
    readonly key: string,
    readonly current: KeyValue,
  ) {
    super(`revision mismatch on ${key}: current ${current.modRevision}`);
  }
}

export class CompactedError extends StoreError {
  constructor(
    readonly requested: number,
    readonly compacted: number,
  ) {
    super(`revision ${requested} has been compacted (oldest available ${compacted})`);
  }
}

export class UnsupportedError extends StoreError {}
