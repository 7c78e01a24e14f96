// What every benchmark reports, in the spirit of kube-scheduler's scheduler_perf and the
// Kubernetes scalability SLOs (https://github.com/kubernetes/community/blob/master/sig-scalability/slos/slos.md):
// each figure is measured more than once; a row carries the median over the runs (and the
// p99 where the figure is a latency distribution), the unit, and the target or anchor it
// is judged against. run.ts prints the rows as a table and writes them as JSON.

import { cpus, totalmem, loadavg, hostname } from "node:os";
import { readFileSync } from "node:fs";

export interface Row {
  /** What was measured, e.g. "pods/s (5,000 nodes)". */
  metric: string;
  /** Median over runs (or over samples for a latency distribution). */
  median: number;
  /** 99th percentile of the samples, when the figure is a distribution. */
  p99?: number;
  unit: string;
  /** Our target, e.g. "≥ 1000". */
  target?: string;
  /** Published reference, e.g. "kube-scheduler CI floor 270". */
  anchor?: string;
  /** The per-run values the median was taken over. */
  runs?: number[];
  /** Met the target? undefined when there is none. */
  ok?: boolean;
}

export interface BenchResult {
  rows: Row[];
  /** Set when the benchmark could not run here; rows is then empty. */
  skipped?: string;
  notes?: string[];
  /** Sizes and settings the run used. */
  params?: Record<string, unknown>;
}

export interface BenchContext {
  /** CI-size run. */
  quick: boolean;
  /** How many times each measurement repeats. */
  runs: number;
  log(msg: string): void;
}

export interface Benchmark {
  name: string;
  summary: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}

/** Quantile q (0..1) by nearest rank over a copy of the samples. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i]!;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A row for a distribution of latency samples (ms): median and p99 over all runs' samples. */
export function latencyRow(metric: string, samples: readonly number[], extra: Partial<Row> = {}): Row {
  return { metric, median: quantile(samples, 0.5), p99: quantile(samples, 0.99), unit: "ms", ...extra };
}

/** A row for a per-run figure (throughput, a duration): the median over runs. */
export function runsRow(metric: string, runs: readonly number[], unit: string, extra: Partial<Row> = {}): Row {
  return { metric, median: median(runs), runs: [...runs], unit, ...extra };
}

/** Checks a row against a target written as "≥ N" or "≤ N" (on p99 when the row has one and `onP99`). */
export function judge(row: Row, target: string, onP99 = false): Row {
  const m = /^([≥≤])\s*([\d.,]+)/.exec(target);
  if (!m) return { ...row, target };
  const v = onP99 && row.p99 !== undefined ? row.p99 : row.median;
  const bound = Number(m[2]!.replace(/,/g, ""));
  return { ...row, target: `${target}${onP99 ? " (p99)" : ""}`, ok: m[1] === "≥" ? v >= bound : v <= bound };
}

export interface Environment {
  date: string;
  host: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  loadavg: number[];
}

export function environment(): Environment {
  const c = cpus();
  return {
    date: new Date().toISOString(),
    host: hostname(),
    cpuModel: c[0]?.model ?? "unknown",
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** Resident set size of a process (MiB) from /proc, or NaN if it is gone. */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : NaN;
  } catch {
    return NaN;
  }
}

/** CPU time (user + system, ms) a process has used so far, from /proc (clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

function fmt(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return "";
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString("en-US");
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** The table run.ts prints: one line per row. */
export function table(name: string, result: BenchResult): string {
  if (result.skipped) return `${name}: skipped: ${result.skipped}\n`;
  const head = ["metric", "median", "p99", "unit", "target", "ok", "anchor"];
  const lines = result.rows.map((r) => [r.metric, fmt(r.median), fmt(r.p99), r.unit, r.target ?? "", r.ok === undefined ? "" : r.ok ? "yes" : "NO", r.anchor ?? ""]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  const out = [`== ${name}`, line(head), line(widths.map((w) => "-".repeat(w))), ...lines.map(line)];
  for (const n of result.notes ?? []) out.push(`   note: ${n}`);
  return out.join("\n") + "\n";
}

/** The same rows as a Markdown table (for BENCHMARKS.md). */
export function markdown(name: string, result: BenchResult): string {
  if (result.skipped) return `**${name}**: skipped: ${result.skipped}\n`;
  const out = [`**${name}**`, "", "| metric | median | p99 | unit | target | met | anchor |", "|---|--:|--:|---|---|---|---|"];
  for (const r of result.rows) out.push(`| ${r.metric} | ${fmt(r.median)} | ${fmt(r.p99)} | ${r.unit} | ${r.target ?? ""} | ${r.ok === undefined ? "" : r.ok ? "yes" : "**no**"} | ${r.anchor ?? ""} |`);
  for (const n of result.notes ?? []) out.push("", `_${n}_`);
  return out.join("\n") + "\n";
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
