// Container logs as the kubelet serves them to `kubectl logs`
// (https://kubernetes.io/docs/concepts/cluster-administration/logging/ and the PodLogOptions
// of https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#get-read-log-of-the-specified-pod):
// the runtime writes CRI-format records (runtime/cri/logformat.ts) to
// <pod log dir>/<container>/<restartCount>.log; this reads them back applying
// sinceSeconds/sinceTime, tailLines, timestamps and limitBytes, and with follow keeps
// reading as the file grows until the container stops or the client goes away.

import { open } from "node:fs/promises";
import type { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { BadRequest } from "../../apimachinery/errors.js";
import { parseCriLogLine, type CriLogLine } from "../runtime/cri/logformat.js";

export interface LogOptions {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  limitBytes?: number;
  /** Milliseconds since the epoch; records older than this are skipped. */
  sinceMs?: number;
}

function bool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === "" || v === "false" || v === "0") return v === "" ? true : false;
  if (v === "true" || v === "1") return true;
  throw new BadRequest(`${name}: invalid value ${JSON.stringify(v)}: must be a boolean`);
}

function int(q: URLSearchParams, name: string, min: number): number | undefined {
  const v = q.get(name);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new BadRequest(`${name}: Invalid value: ${JSON.stringify(v)}: must be an integer >= ${min}`);
  return n;
}

/** PodLogOptions from query parameters (the API server forwards kubectl's unchanged). */
export function parseLogOptions(q: URLSearchParams, now = Date.now()): LogOptions {
  const o: LogOptions = { follow: bool(q, "follow"), previous: bool(q, "previous"), timestamps: bool(q, "timestamps") };
  const tail = int(q, "tailLines", 0);
  if (tail !== undefined) o.tailLines = tail;
  const limit = int(q, "limitBytes", 1);
  if (limit !== undefined) o.limitBytes = limit;
  const sinceSeconds = int(q, "sinceSeconds", 1);
  const sinceTime = q.get("sinceTime");
  if (sinceSeconds !== undefined && sinceTime) throw new BadRequest("at most one of sinceTime or sinceSeconds may be specified");
  if (sinceSeconds !== undefined) o.sinceMs = now - sinceSeconds * 1000;
  if (sinceTime) {
    const t = Date.parse(sinceTime);
    if (Number.isNaN(t)) throw new BadRequest(`sinceTime: Invalid value: ${JSON.stringify(sinceTime)}: must be an RFC 3339 time`);
    o.sinceMs = t;
  }
  return o;
}

/** Keeps the records of the last `n` lines (a line is records up to one that is not partial). */
export function tailRecords(records: CriLogLine[], n: number): CriLogLine[] {
  const lines: CriLogLine[][] = [];
  let cur: CriLogLine[] = [];
  for (const r of records) {
    cur.push(r);
    if (!r.partial) {
      lines.push(cur);
      cur = [];
    }
  }
  // A trailing partial line (still being written) counts as a line.
  if (cur.length) lines.push(cur);
  return n === 0 ? [] : lines.slice(-n).flat();
}

function render(r: CriLogLine, timestamps: boolean): string {
  return `${timestamps ? r.time + " " : ""}${r.message}${r.partial ? "" : "\n"}`;
}

export interface FollowSource {
  /** Whether the container may still write (following stops once it returns false and the file is drained). */
  running(): Promise<boolean>;
}

/**
 * Writes the container's log to `out` (without ending it). Returns when done: at EOF
 * without follow; with follow, once the container stopped, the limit was hit or `signal`
 * aborted.
 */
export async function writeContainerLog(path: string, opts: LogOptions, out: Writable, source: FollowSource, signal: AbortSignal): Promise<void> {
  const fh = await open(path, "r");
  let budget = opts.limitBytes ?? Infinity;
  const emit = async (s: string): Promise<boolean> => {
    if (budget <= 0 || signal.aborted) return false;
    let b = Buffer.from(s);
    if (b.length > budget) b = b.subarray(0, budget);
    budget -= b.length;
    if (!out.write(b)) await new Promise<void>((r) => {
      const done = () => {
        out.off("drain", done);
        signal.removeEventListener("abort", done);
        r();
      };
      out.once("drain", done);
      signal.addEventListener("abort", done, { once: true });
    });
    return budget > 0;
  };
  try {
    let offset = 0;
    let rest = "";
    const readNew = async (): Promise<CriLogLine[]> => {
      const { size } = await fh.stat();
      if (size < offset) {
        offset = 0; // truncated or rotated in place: start over
        rest = "";
      }
      if (size === offset) return [];
      const buf = Buffer.alloc(size - offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      offset += bytesRead;
      const text = rest + buf.subarray(0, bytesRead).toString("utf8");
      const nl = text.lastIndexOf("\n");
      rest = text.slice(nl + 1);
      const out: CriLogLine[] = [];
      for (const line of text.slice(0, nl + 1).split("\n")) {
        if (!line) continue;
        const r = parseCriLogLine(line);
        if (r && (opts.sinceMs === undefined || r.timestampMs >= opts.sinceMs)) out.push(r);
      }
      return out;
    };

    let records = await readNew();
    if (opts.tailLines !== undefined) records = tailRecords(records, opts.tailLines);
    for (const r of records) if (!(await emit(render(r, opts.timestamps)))) return;
    if (!opts.follow) return;

    let lastCheck = Date.now();
    while (!signal.aborted) {
      const more = await readNew();
      for (const r of more) if (!(await emit(render(r, opts.timestamps)))) return;
      if (more.length) continue;
      if (Date.now() - lastCheck >= 1000) {
        lastCheck = Date.now();
        if (!(await source.running().catch(() => false))) {
          for (const r of await readNew()) if (!(await emit(render(r, opts.timestamps)))) return;
          return;
        }
      }
      await sleep(200, undefined, { signal }).catch(() => {});
    }
  } finally {
    await fh.close();
  }
}
