// Child process for durability.test.ts: creates keys /durability/00000… one by one in the
// store at argv[2] and prints "<key> <revision>" after each create is acknowledged, until
// killed (or argv[3] keys are written).

import { SqliteStore } from "../sqlite.js";

const path = process.argv[2];
const count = Number(process.argv[3] ?? 1000);
const store = new SqliteStore(path);
for (let i = 0; i < count; i++) {
  const key = `/durability/${String(i).padStart(5, "0")}`;
  const rev = await store.create(key, JSON.stringify({ i }));
  // Pipes are written synchronously on Linux, so a printed line was acknowledged first.
  process.stdout.write(`${key} ${rev}\n`);
}
await store.close();
