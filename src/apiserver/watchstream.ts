// The per-watcher end of a watch response
// (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes):
// frames (shared bytes, watchencoding.ts) queued during one turn are written as one chunk,
// so a store batch costs one write per watcher instead of one per event. Backpressure is
// per watcher, as in kube-apiserver's watch cache, where a watcher whose buffer is full
// is closed ("forcing watcher close due to unresponsiveness") instead of holding up the
// others or buffering without bound: a response whose unsent bytes pass the limit is
// ended, so the client re-watches from the last resourceVersion it saw (or re-lists).
// The end is graceful (the client still gets what was queued); if the client does not
// take it within a grace period the connection is dropped, freeing the buffer.

import type { ServerResponse } from "node:http";

/** Default bound on a watcher's unsent bytes beyond its initial replay. */
export const DEFAULT_WATCH_BUFFER_LIMIT = 8 * 1024 * 1024;
/** How long an overflowed watcher may take to receive its queued bytes before it is cut. */
const OVERFLOW_GRACE_MS = 5_000;

/**
 * The chunk of one turn's frames. Watchers that get the same events in the same form in
 * one turn (every watcher of a store batch, unless selectors differ) hold the very same
 * frame Buffers in the same order, so the last join is reused instead of copied again.
 */
let lastParts: Buffer[] = [];
let lastChunk: Buffer | undefined;

function joined(parts: Buffer[]): Buffer {
  if (parts.length === 1) return parts[0]!;
  if (lastChunk && parts.length === lastParts.length && parts.every((p, i) => p === lastParts[i])) return lastChunk;
  lastParts = parts;
  lastChunk = Buffer.concat(parts);
  return lastChunk;
}

export class WatchStream {
  private pending: Buffer[] = [];
  private scheduled = false;
  private ended = false;
  /** Unsent bytes allowed: the limit plus whatever the initial replay wrote. */
  private allowance: number;
  /** True once the watch gave up on a slow reader. */
  overflowed = false;

  constructor(
    private readonly res: ServerResponse,
    limitBytes: number,
    private readonly onEnd: () => void,
  ) {
    this.allowance = limitBytes;
  }

  /**
   * Queues a frame for this turn's write. Bytes of the initial state (a list replayed as
   * ADDED events) raise the allowance: they are bounded by the list, like a list response.
   */
  push(frame: Buffer, replay = false): void {
    if (this.ended) return;
    if (replay) this.allowance += frame.length;
    this.pending.push(frame);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /**
   * Writes what is queued now as one chunk, unless what earlier turns wrote is still
   * unsent beyond the allowance: then the watcher is not keeping up, and it is ended
   * without the new events (the client resumes after the last one it received). The
   * backlog is judged before the write, as one large event may exceed the limit alone.
   */
  flush(): void {
    this.scheduled = false;
    if (this.ended) return;
    if (this.res.writableLength > this.allowance) {
      this.overflowed = true;
      this.pending = [];
      this.end();
      return;
    }
    this.writePending();
  }

  private writePending(): void {
    if (this.pending.length === 0) return;
    const chunk = joined(this.pending);
    this.pending = [];
    if (!this.res.destroyed) this.res.write(chunk);
  }

  /** Ends the response after what is queued; an overflowed one is cut if it cannot drain. */
  end(): void {
    if (this.ended) return;
    this.writePending();
    this.ended = true;
    this.onEnd();
    const res = this.res;
    if (res.destroyed || res.writableEnded) return;
    res.end();
    if (this.overflowed && res.writableLength > 0) {
      const cut = setTimeout(() => res.destroy(), OVERFLOW_GRACE_MS);
      cut.unref();
      res.once("close", () => clearTimeout(cut));
    }
  }
}
