// Local container images for a node that has no registry: builds docker-archive
// tarballs (the `docker save` layout: manifest.json + config JSON + one layer tar) in
// pure Node from static binaries already on the host. Layer digests (`rootfs.diff_ids`)
// follow the OCI image spec (https://github.com/opencontainers/image-spec/blob/main/config.md);
// containerd imports the result with `ctr images import`. Two images are built:
// `tugboat/pause:1`, the pod sandbox ("pause") container that holds the pod's namespaces
// (https://kubernetes.io/docs/concepts/windows/intro/#pause-container explains its role),
// and `tugboat/busybox:1`, a busybox userland (sh, httpd, wget, nc, …) for tests.

import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const PAUSE_IMAGE = "tugboat/pause:1";
export const BUSYBOX_IMAGE = "tugboat/busybox:1";

/** One entry of a layer. Paths are relative to the image root, without a leading "/". */
export type LayerEntry =
  | { type: "dir"; path: string; mode?: number }
  | { type: "file"; path: string; data: Buffer; mode?: number }
  | { type: "symlink"; path: string; target: string };

export interface ImageDefinition {
  /** Repository and tag, e.g. "tugboat/busybox:1". */
  name: string;
  entries: LayerEntry[];
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
}

export interface BuiltImage {
  name: string;
  /** Path of the docker-archive tarball. */
  file: string;
  /** "sha256:…" of the image config: what containerd reports as the image ID. */
  id: string;
  /** "sha256:…" of the uncompressed layer tar (rootfs.diff_ids[0]). */
  diffId: string;
}

// Fixed timestamps make builds reproducible: the same binaries give the same digests.
const MTIME = 1_700_000_000;
const CREATED = new Date(MTIME * 1000).toISOString();

// ---- ustar writer -------------------------------------------------------------

function octal(value: number, width: number): string {
  // width includes the terminating NUL
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

function splitName(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: "" };
  // ustar stores long paths as prefix (≤155) + "/" + name (≤100)
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== "/") continue;
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name.length > 0) return { name, prefix };
  }
  throw new Error(`tar: path too long for ustar: ${path}`);
}

function header(path: string, typeflag: string, size: number, mode: number, linkname = ""): Buffer {
  const h = Buffer.alloc(512);
  const { name, prefix } = splitName(path);
  h.write(name, 0, 100, "utf8");
  h.write(octal(mode & 0o7777, 8), 100, 8, "ascii");
  h.write(octal(0, 8), 108, 8, "ascii"); // uid
  h.write(octal(0, 8), 116, 8, "ascii"); // gid
  h.write(octal(size, 12), 124, 12, "ascii");
  h.write(octal(MTIME, 12), 136, 12, "ascii");
  h.write("        ", 148, 8, "ascii"); // checksum placeholder: spaces while summing
  h.write(typeflag, 156, 1, "ascii");
  h.write(linkname, 157, 100, "utf8");
  h.write("ustar\0", 257, 6, "ascii");
  h.write("00", 263, 2, "ascii");
  h.write("root", 265, 32, "ascii");
  h.write("root", 297, 32, "ascii");
  h.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  return h;
}

/** Serialises entries as a POSIX ustar archive (two zero blocks at the end). */
export function tarArchive(entries: LayerEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.type === "dir") {
      const p = e.path.endsWith("/") ? e.path : `${e.path}/`;
      parts.push(header(p, "5", 0, e.mode ?? 0o755));
    } else if (e.type === "symlink") {
      if (Buffer.byteLength(e.target) > 100) throw new Error(`tar: symlink target too long: ${e.target}`);
      parts.push(header(e.path, "2", 0, 0o777, e.target));
    } else {
      parts.push(header(e.path, "0", e.data.length, e.mode ?? 0o644), e.data);
      const pad = (512 - (e.data.length % 512)) % 512;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

// ---- docker-archive ---------------------------------------------------------------

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function goArch(): string {
  const map: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x" };
  return map[process.arch] ?? process.arch;
}

/** Builds a single-layer docker-archive tarball in memory. */
export function dockerArchive(def: ImageDefinition): { archive: Buffer; id: string; diffId: string } {
  const layer = tarArchive(def.entries);
  const diffHex = sha256(layer);
  const config = {
    architecture: goArch(),
    os: "linux",
    created: CREATED,
    config: {
      Env: def.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      ...(def.entrypoint ? { Entrypoint: def.entrypoint } : {}),
      ...(def.cmd ? { Cmd: def.cmd } : {}),
      WorkingDir: def.workingDir ?? "/",
    },
    rootfs: { type: "layers", diff_ids: [`sha256:${diffHex}`] },
    history: [{ created: CREATED, created_by: "tugboat image build" }],
  };
  const configJson = Buffer.from(JSON.stringify(config));
  const configHex = sha256(configJson);
  const manifest = [{ Config: `${configHex}.json`, RepoTags: [def.name], Layers: [`${diffHex}/layer.tar`] }];
  const archive = tarArchive([
    { type: "dir", path: diffHex },
    { type: "file", path: `${diffHex}/layer.tar`, data: layer },
    { type: "file", path: `${configHex}.json`, data: configJson },
    { type: "file", path: "manifest.json", data: Buffer.from(JSON.stringify(manifest)) },
  ]);
  return { archive, id: `sha256:${configHex}`, diffId: `sha256:${diffHex}` };
}

// ---- the two node images ----------------------------------------------------------

// Applets linked when `busybox --list` cannot be run; covers what tests and probes use.
const FALLBACK_APPLETS = [
  "sh", "ash", "httpd", "wget", "sleep", "cat", "echo", "nc", "env", "ls", "ps", "kill", "head", "tail",
  "tr", "grep", "sed", "awk", "mkdir", "rm", "cp", "mv", "touch", "date", "hostname", "id", "ip", "ifconfig",
  "nslookup", "ping", "true", "false", "test", "[", "printf", "wc", "sort", "uniq", "df", "du", "free", "top",
  "mount", "umount", "dd", "chmod", "chown", "ln", "pwd", "uname", "which", "yes", "seq", "timeout", "vi",
];

const ROOT_DIRS: LayerEntry[] = [
  { type: "dir", path: "bin" },
  { type: "dir", path: "dev" },
  { type: "dir", path: "etc" },
  { type: "dir", path: "proc" },
  { type: "dir", path: "sys" },
  { type: "dir", path: "root", mode: 0o700 },
  { type: "dir", path: "tmp", mode: 0o1777 },
  { type: "dir", path: "var" },
];

const PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n";
const GROUP = "root:x:0:\nnobody:x:65534:\n";

function busyboxApplets(busybox: string): string[] {
  try {
    const out = execFileSync(busybox, ["--list"], { encoding: "utf8", timeout: 5000 });
    const list = out.split("\n").map((s) => s.trim()).filter((s) => s && s !== "busybox" && !s.includes("/"));
    if (list.length > 0) return list;
  } catch {
    // fall through to the fixed list
  }
  return FALLBACK_APPLETS;
}

export function busyboxImage(busybox = "/bin/busybox"): ImageDefinition {
  const entries: LayerEntry[] = [
    ...ROOT_DIRS,
    { type: "file", path: "bin/busybox", data: readFileSync(busybox), mode: 0o755 },
    { type: "file", path: "etc/passwd", data: Buffer.from(PASSWD) },
    { type: "file", path: "etc/group", data: Buffer.from(GROUP) },
    { type: "dir", path: "www" },
    { type: "file", path: "www/index.html", data: Buffer.from("hello from tugboat\n") },
  ];
  for (const applet of busyboxApplets(busybox)) entries.push({ type: "symlink", path: `bin/${applet}`, target: "busybox" });
  return { name: BUSYBOX_IMAGE, entries, cmd: ["sh"] };
}

/**
 * The sandbox image. catatonit in pause mode (`-P`) sleeps forever, reaps orphans and
 * exits on SIGTERM/SIGINT; without catatonit a busybox shell loop does the same.
 */
export function pauseImage(opts: { catatonit?: string; busybox?: string } = {}): ImageDefinition {
  const catatonit = opts.catatonit ?? "/usr/bin/catatonit";
  if (existsSync(catatonit)) {
    return {
      name: PAUSE_IMAGE,
      entries: [...ROOT_DIRS, { type: "file", path: "pause", data: readFileSync(catatonit), mode: 0o755 }],
      entrypoint: ["/pause", "-P"],
    };
  }
  const busybox = opts.busybox ?? "/bin/busybox";
  return {
    name: PAUSE_IMAGE,
    entries: [
      ...ROOT_DIRS,
      { type: "file", path: "bin/busybox", data: readFileSync(busybox), mode: 0o755 },
      { type: "symlink", path: "bin/sh", target: "busybox" },
      { type: "symlink", path: "bin/sleep", target: "busybox" },
    ],
    // ash as PID 1 reaps every child it waits for, orphans included.
    entrypoint: ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait; done"],
  };
}

/** Writes the tarball of one image definition into `dir`. */
export async function writeImage(def: ImageDefinition, dir: string): Promise<BuiltImage> {
  const { archive, id, diffId } = dockerArchive(def);
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${def.name.replace(/[/:]/g, "_")}.tar`);
  await writeFile(file, archive);
  return { name: def.name, file, id, diffId };
}

/** Builds the pause and busybox images into `dir` (no network needed). */
export async function buildNodeImages(
  dir: string,
  opts: { busybox?: string; catatonit?: string } = {},
): Promise<{ pause: BuiltImage; busybox: BuiltImage }> {
  const busybox = opts.busybox ?? "/bin/busybox";
  if (!existsSync(busybox)) throw new Error(`busybox not found at ${busybox} (install busybox-static)`);
  const pause = await writeImage(pauseImage(opts), dir);
  const bb = await writeImage(busyboxImage(busybox), dir);
  return { pause, busybox: bb };
}
