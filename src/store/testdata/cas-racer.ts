// Child process for durability.test.ts: a compare-and-swap racer on the store at argv[2].
// Reads commands from stdin, one per line:
//   "cas <key> <expectedRevision> <value>" → prints "won <rev>" or "lost <currentRev>"
//   "incr <key> <n>"                        → n read-modify-write increments, retrying on conflict; prints "done"
//   "ready?"                                → prints "ready"

import { createInterface } from "node:readline";
import { SqliteStore } from "../sqlite.js";
import { RevisionMismatchError } from "../types.js";

const store = new SqliteStore(process.argv[2]);
const say = (line: string) => process.stdout.write(line + "\n");

for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, key, a, b] = line.trim().split(" ");
  if (cmd === "ready?") say("ready");
  else if (cmd === "cas") {
    try {
      say(`won ${await store.update(key, b, Number(a))}`);
    } catch (err) {
      if (!(err instanceof RevisionMismatchError)) throw err;
      say(`lost ${err.current.modRevision}`);
    }
  } else if (cmd === "incr") {
    for (let done = 0; done < Number(a); ) {
      const kv = (await store.get(key))!;
      try {
        await store.update(key, String(Number(kv.value) + 1), kv.modRevision);
        done++;
      } catch (err) {
        if (!(err instanceof RevisionMismatchError)) throw err;
      }
    }
    say("done");
  }
}
await store.close();
