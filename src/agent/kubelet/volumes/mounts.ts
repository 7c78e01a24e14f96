// Host mounts the volume plugins make: tmpfs for emptyDir medium Memory (and for secret
// and projected volumes, so secrets never touch the node's disk, as the kubelet does;
// https://kubernetes.io/docs/concepts/storage/volumes/#emptydir and
// https://kubernetes.io/docs/concepts/configuration/secret/#information-security-for-secrets),
// and the read side of /proc/self/mountinfo (proc(5)) so tear-down finds every mount
// under a pod's directory even after an agent restart, when nothing is remembered.

import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";

const run = promisify(execFile);

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
}

export function readMounts(): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    if (!line) continue;
    const f = line.split(" ");
    const sep = f.indexOf("-");
    if (sep < 0 || f.length < sep + 3) continue;
    out.push({ mountPoint: unescapeMountPath(f[4]!), fsType: f[sep + 1]!, source: unescapeMountPath(f[sep + 2]!) });
  }
  return out;
}

export function isMountPoint(path: string): boolean {
  return readMounts().some((m) => m.mountPoint === path);
}

/** Mount points at or below `dir`, deepest first (the order to unmount them in). */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith("/") ? dir : dir + "/";
  const found = new Set(readMounts().filter((m) => m.mountPoint === dir || m.mountPoint.startsWith(prefix)).map((m) => m.mountPoint));
  return [...found].sort((a, b) => b.length - a.length);
}

/** Mounts a tmpfs on `path` unless one is there already. `sizeBytes` 0 = the kernel default (half of RAM). */
export async function mountTmpfs(path: string, opts: { sizeBytes?: number; mode?: number } = {}): Promise<void> {
  if (isMountPoint(path)) return;
  const options = [`mode=${(opts.mode ?? 0o777).toString(8).padStart(4, "0")}`];
  // tmpfs takes sizes in bytes; round up to whole pages or it refuses tiny values.
  if (opts.sizeBytes && opts.sizeBytes > 0) options.push(`size=${Math.ceil(opts.sizeBytes / 4096) * 4096}`);
  await run("mount", ["-t", "tmpfs", "-o", options.join(","), "tmpfs", path]);
}

/** Unmounts every mount at or below `dir`; a busy mount is detached lazily. */
export async function unmountAllUnder(dir: string): Promise<void> {
  for (const m of mountsUnder(dir)) {
    try {
      await run("umount", [m]);
    } catch {
      // Still in use (a container holding it open): detach now, the kernel frees it later.
      await run("umount", ["-l", m]).catch(() => {});
    }
  }
}
