#!/usr/bin/env node
// Runs the compiled test files with node's test runner.
//   node scripts/run-tests.js          unit + e2e
//   node scripts/run-tests.js --unit   unit tests only (src/**/*.test.js)
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function find(dir, out = []) {
  let entries = [];
  try { entries = readdirSync(dir); } catch { return out; }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) find(p, out);
    else if (p.endsWith(".test.js")) out.push(p);
  }
  return out;
}

const unitOnly = process.argv.includes("--unit");
const files = [...find("dist/src"), ...(unitOnly ? [] : find("dist/test"))].sort();
if (files.length === 0) { console.error("no test files found"); process.exit(1); }
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=1", "--test-reporter=spec", ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
