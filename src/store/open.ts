// Picks the store backend from a URL, as k3s/kine pick theirs from `--datastore-endpoint`
// (https://docs.k3s.io/datastore): `sqlite:///abs/path.db` or a plain file path opens the
// SQLite log; `etcd://host:port[,host:port…]` talks to an etcd v3 cluster (etcd.ts). Adding
// a backend is one entry in `backends`.

import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SqliteStore } from "./sqlite.js";
import { StoreError, UnsupportedError, type Store } from "./types.js";

type Opener = (raw: string) => Promise<Store>;

function parseURL(raw: string): URL {
  try {
    return new URL(raw);
  } catch {
    throw new StoreError(`store URL: cannot parse "${raw}"`);
  }
}

const backends: Record<string, Opener> = {
  "sqlite:": async (raw) => {
    const url = parseURL(raw);
    // sqlite:///abs/path.db → /abs/path.db (the file: URL rules decode %20 and friends).
    if (url.host !== "") throw new StoreError(`store URL: sqlite URLs take an absolute path (sqlite:///path), got host "${url.host}"`);
    return openSqlitePath(fileURLToPath(new URL(`file://${url.pathname}`)));
  },
  // A comma-separated host list is not a URL host, so etcd URLs are parsed by hand.
  "etcd:": async (raw) => {
    // Loaded on demand: the etcd client and gRPC take about a second to import, which
    // every SQLite server would otherwise pay at startup.
    const { EtcdStore, parseEtcdURL } = await import("./etcd.js");
    const endpoints = parseEtcdURL(raw);
    const store = new EtcdStore({ endpoints, callTimeoutMs: 10_000 });
    try {
      await store.currentRevision(); // fail at startup, not on the first request
    } catch (err) {
      await store.close();
      throw new StoreError(`store URL: cannot reach etcd at ${endpoints.join(",")}: ${(err as Error).message}`);
    }
    return store;
  },
};

async function openSqlitePath(path: string): Promise<Store> {
  const abs = resolve(path);
  mkdirSync(dirname(abs), { recursive: true });
  return new SqliteStore(abs);
}

/** Opens the store named by url: `sqlite:///abs/path.db`, a plain path, or `etcd://host:port`. */
export async function openStore(url: string): Promise<Store> {
  if (typeof url !== "string" || url.trim() === "") throw new StoreError("store URL: must be a non-empty string");
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
  if (!scheme) return openSqlitePath(url); // a plain file path
  const opener = backends[`${scheme.toLowerCase()}:`];
  if (!opener) {
    throw new UnsupportedError(`store URL: unknown scheme "${scheme}" (want sqlite:///path, a file path or etcd://host:port)`);
  }
  return opener(url);
}
