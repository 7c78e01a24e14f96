// Picks the store backend from a URL, as k3s/kine pick theirs from `--datastore-endpoint`
// (https://docs.k3s.io/datastore): `sqlite:///abs/path.db` or a plain file path opens the
// SQLite log; `etcd://host:port` is reserved for the etcd backend. Adding a backend is one
// entry in `backends`.

import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SqliteStore } from "./sqlite.js";
import { StoreError, UnsupportedError, type Store } from "./types.js";

type Opener = (url: URL, raw: string) => Promise<Store>;

const backends: Record<string, Opener> = {
  "sqlite:": async (url) => {
    // sqlite:///abs/path.db → /abs/path.db (the file: URL rules decode %20 and friends).
    if (url.host !== "") throw new StoreError(`store URL: sqlite URLs take an absolute path (sqlite:///path), got host "${url.host}"`);
    return openSqlitePath(fileURLToPath(new URL(`file://${url.pathname}`)));
  },
  "etcd:": async () => {
    throw new UnsupportedError("etcd backend not built yet");
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
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreError(`store URL: cannot parse "${url}"`);
  }
  return opener(parsed, url);
}
