// A real API (registry over a SQLite store in a temp dir, bootstrapped namespaces) for
// tests of controllers and clients, without HTTP. Not a mock: the same code path as
// `tug server` minus the socket.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "../client/types.js";
import { createInProcessClient } from "../client/inprocess.js";
import { builtinCatalogue } from "../api/catalogue.js";
import { openStore } from "../store/open.js";
import { Registry } from "./registry.js";
import { bootstrapCluster } from "./bootstrap.js";

export interface TestApi {
  client: Client;
  registry: Registry;
  dir: string;
  close(): Promise<void>;
}

export async function startTestApi(): Promise<TestApi> {
  const dir = mkdtempSync(join(tmpdir(), "tug-test-"));
  const store = await openStore(join(dir, "state.db"));
  const registry = new Registry(store, builtinCatalogue());
  await bootstrapCluster(registry);
  return {
    client: createInProcessClient(registry),
    registry,
    dir,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
