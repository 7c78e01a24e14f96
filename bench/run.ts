// `npm run bench [-- NAME… | --quick | --runs N | --list]`: runs the benchmarks of issue 6
// (see BENCHMARKS.md), prints the environment and a table per benchmark, and writes each
// result to bench/results/<name>-<timestamp>.json. Benchmarks report; they never fail the
// build (exit status 0 unless the runner itself breaks), so `--quick` can run in CI.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { environment, markdown, table, type BenchResult, type Benchmark } from "./report.js";
import { repoRoot } from "./tugprocess.js";
import { schedulerBenchmark } from "./scheduler.js";
import { apiLatencyBenchmark } from "./apilatency.js";
import { watchFanoutBenchmark } from "./watchfanout.js";
import { storeBenchmark } from "./store.js";
import { convergenceBenchmark } from "./convergence.js";
import { realPodsBenchmark } from "./realpods.js";
import { footprintBenchmark } from "./footprint.js";
import { nodeLossBenchmark } from "./nodeloss.js";
import { swarmBenchmark } from "./swarm.js";

export const benchmarks: Benchmark[] = [
  schedulerBenchmark,
  apiLatencyBenchmark,
  watchFanoutBenchmark,
  storeBenchmark,
  convergenceBenchmark,
  realPodsBenchmark,
  footprintBenchmark,
  nodeLossBenchmark,
  swarmBenchmark,
];

function usage(): string {
  return [
    "usage: npm run bench -- [NAME…] [--quick] [--runs N] [--markdown] [--list]",
    "  NAME     run only these (default: all)",
    "  --quick  CI-size runs (small clusters, short durations)",
    "  --runs N repeat each measurement N times (default 3, quick 2)",
    "  --markdown  also print each table as Markdown (for BENCHMARKS.md)",
    "",
    ...benchmarks.map((b) => `  ${b.name.padEnd(12)} ${b.summary}`),
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const names: string[] = [];
  let quick = false;
  let md = false;
  let runs: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") quick = true;
    else if (a === "--markdown") md = true;
    else if (a === "--runs") runs = Number(argv[++i]);
    else if (a === "--list" || a === "--help" || a === "-h") {
      console.log(usage());
      return 0;
    } else if (a.startsWith("-")) {
      console.error(`unknown flag ${a}\n${usage()}`);
      return 2;
    } else names.push(a);
  }
  if (runs !== undefined && (!Number.isInteger(runs) || runs < 1)) {
    console.error("--runs must be a positive integer");
    return 2;
  }
  const unknown = names.filter((n) => !benchmarks.some((b) => b.name === n));
  if (unknown.length) {
    console.error(`unknown benchmark(s): ${unknown.join(", ")}\n${usage()}`);
    return 2;
  }
  const selected = names.length ? benchmarks.filter((b) => names.includes(b.name)) : benchmarks;
  const env = environment();
  console.log(`# environment: ${env.cpuModel}, ${env.cores} cores, ${env.memoryGiB} GiB, Node ${env.node}, ${env.platform}, load ${env.loadavg.join(" ")}, ${env.date}`);
  console.log(`# mode: ${quick ? "quick" : "full"}, runs ${runs ?? (quick ? 2 : 3)}\n`);
  const dir = join(repoRoot, "bench", "results");
  mkdirSync(dir, { recursive: true });
  for (const b of selected) {
    const t0 = performance.now();
    let result: BenchResult;
    try {
      result = await b.run({ quick, runs: runs ?? (quick ? 2 : 3), log: (m) => console.log(`   [${b.name}] ${m}`) });
    } catch (err) {
      result = { rows: [], skipped: `failed: ${(err as Error)?.stack ?? String(err)}` };
    }
    const seconds = Math.round((performance.now() - t0) / 100) / 10;
    console.log(table(b.name, result) + `   (${seconds} s)\n`);
    if (md) console.log(markdown(b.name, result));
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const file = join(dir, `${b.name}-${stamp}.json`);
    writeFileSync(file, JSON.stringify({ benchmark: b.name, summary: b.summary, quick, environment: { ...environment(), startLoadavg: env.loadavg }, seconds, ...result }, null, 2) + "\n");
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err?.stack ?? String(err));
    process.exit(1);
  },
);
