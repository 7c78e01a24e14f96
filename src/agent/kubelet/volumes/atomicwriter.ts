// The kubelet's atomic writer for configMap, secret, downwardAPI and projected volumes
// (https://kubernetes.io/docs/concepts/configuration/configmap/#mounted-configmaps-are-updated-automatically):
// the files of one version live in a timestamped directory `..2006_01_02_15_04_05.N`, a
// `..data` symlink names the current one, and every user-visible top-level name is a
// symlink through `..data` (`key -> ..data/key`). An update writes a new directory and
// swaps `..data` with one rename(2), so a process in a running container always sees a
// complete old or a complete new set of files, never a mix.

import { randomBytes } from "node:crypto";
import { chmod, chown, lstat, mkdir, readFile, readdir, readlink, rename, rm, stat, symlink, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Payload } from "./types.js";

export const DATA_DIR_NAME = "..data";
const DATA_DIR_TMP_NAME = "..data_tmp";

/** Payload paths must stay inside the volume: relative, no "..", no empty or dot-dot-prefixed elements. */
export function validatePayloadPath(p: string): string | undefined {
  if (!p) return "must not be empty";
  if (p.startsWith("/")) return "must be a relative path";
  if (p.length > 4096) return "must not be longer than 4096 characters";
  for (const el of p.split("/")) {
    if (el === "..") return "must not contain '..'";
    if (el === "") return "must not contain empty path elements";
  }
  if (p.startsWith("..")) return "must not start with '..'";
  return undefined;
}

function timestampedName(now = new Date()): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const ts = `${now.getUTCFullYear()}_${pad(now.getUTCMonth() + 1)}_${pad(now.getUTCDate())}_${pad(now.getUTCHours())}_${pad(now.getUTCMinutes())}_${pad(now.getUTCSeconds())}`;
  return `..${ts}.${randomBytes(5).readUIntBE(0, 5)}`;
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** Is the content under `tsDir` exactly `payload` (same paths, bytes and modes)? */
async function sameContent(tsDir: string, payload: Payload): Promise<boolean> {
  const found: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(tsDir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else found.push(r);
    }
  };
  try {
    await walk("");
    if (found.length !== payload.size) return false;
    for (const [p, f] of payload) {
      const full = join(tsDir, p);
      const st = await stat(full);
      if ((st.mode & 0o777) !== f.mode) return false;
      if (!(await readFile(full)).equals(f.data)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

export interface AtomicWriteOptions {
  /** Group owner of the files (the pod's fsGroup). */
  gid?: number;
}

/**
 * Makes `dir` hold exactly `payload`. Returns false when the content was already current
 * (nothing written), true after a swap. Safe to call on every pod sync.
 */
export async function writeAtomically(dir: string, payload: Payload, opts: AtomicWriteOptions = {}): Promise<boolean> {
  for (const p of payload.keys()) {
    const why = validatePayloadPath(p);
    if (why) throw new Error(`invalid path ${JSON.stringify(p)}: ${why}`);
  }
  await mkdir(dir, { recursive: true });
  const dataLink = join(dir, DATA_DIR_NAME);
  let oldTs: string | undefined;
  try {
    oldTs = await readlink(dataLink);
  } catch {
    oldTs = undefined;
  }
  const topLevel = new Set([...payload.keys()].map((p) => p.split("/")[0]!));

  let changed = false;
  if (!oldTs || !(await sameContent(join(dir, oldTs), payload))) {
    const tsName = timestampedName();
    const tsDir = join(dir, tsName);
    await mkdir(tsDir, { mode: 0o755 });
    for (const [p, f] of payload) {
      const full = join(tsDir, p);
      await mkdir(dirname(full), { recursive: true, mode: 0o755 });
      await writeFile(full, f.data, { mode: f.mode });
      await chmod(full, f.mode); // the umask may have narrowed the mode writeFile applied
      if (opts.gid !== undefined) await chown(full, 0, opts.gid);
    }
    // Build the new link beside the old one, then rename over it: rename(2) is atomic.
    const tmpLink = join(dir, DATA_DIR_TMP_NAME);
    await rm(tmpLink, { force: true });
    await symlink(tsName, tmpLink);
    await rename(tmpLink, dataLink);
    changed = true;
    if (oldTs && oldTs !== tsName && oldTs.startsWith("..") && !oldTs.includes("/")) await rm(join(dir, oldTs), { recursive: true, force: true });
  }

  // User-visible names: one symlink per top-level element, through ..data.
  for (const name of topLevel) {
    const link = join(dir, name);
    const want = join(DATA_DIR_NAME, name);
    let cur: string | undefined;
    try {
      cur = await readlink(link);
    } catch {
      cur = undefined;
    }
    if (cur === want) continue;
    await rm(link, { recursive: true, force: true });
    await symlink(want, link);
  }
  // Names the new payload dropped (leftover timestamped dirs of an interrupted write too).
  const currentTs = await readlink(dataLink);
  for (const e of await readdir(dir)) {
    if (e === DATA_DIR_NAME || e === currentTs || topLevel.has(e)) continue;
    const full = join(dir, e);
    if (e.startsWith("..")) await rm(full, { recursive: true, force: true });
    else if ((await lstat(full)).isSymbolicLink() && (await readlink(full)).startsWith(DATA_DIR_NAME + "/")) await unlink(full);
  }
  return changed;
}

/** True when `dir` already holds an atomic-writer payload (a `..data` link). */
export async function hasPayload(dir: string): Promise<boolean> {
  return exists(join(dir, DATA_DIR_NAME));
}
