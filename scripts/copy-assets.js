#!/usr/bin/env node
// Copies non-TypeScript test fixtures (testdata/ folders: .pb, .yaml, .json, …) next to
// the compiled tests in dist/, so tests find them from either tree.
import { cpSync, existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function walk(dir) {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (!statSync(p).isDirectory()) continue;
    if (e === "testdata") {
      cpSync(p, join("dist", p), { recursive: true, filter: (f) => statSync(f).isDirectory() || !f.endsWith(".ts") });
    } else walk(p);
  }
}
for (const root of ["src", "test"]) if (existsSync(root)) walk(root);
