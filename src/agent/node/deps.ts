// The node's host dependencies, as Debian packages (see
// https://kubernetes.io/docs/setup/production-environment/container-runtimes/ for why a
// node needs a runtime, an OCI runtime and CNI plugins): containerd (with ctr and the
// runc v2 shim), runc, the CNI reference plugins, busybox-static and catatonit (the
// local images are built from them), nftables/iptables for the service proxy. Each is
// checked by the file the agent actually runs; missing ones are installed with one
// `apt-get update` and one `apt-get install` when we are root, otherwise the error
// names the command to run (scripts/install-node-deps.sh does the same from a shell).

import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { join } from "node:path";

export interface NodeDependency {
  /** Debian package that provides it. */
  pkg: string;
  /** Files any one of which proves the package is present. */
  files: string[];
  /** False for packages the agent can run without (it degrades instead). */
  required: boolean;
}

const PATH_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
const bin = (name: string) => PATH_DIRS.map((d) => join(d, name));

export const NODE_DEPENDENCIES: NodeDependency[] = [
  { pkg: "containerd", files: bin("containerd"), required: true },
  { pkg: "containerd", files: bin("ctr"), required: true },
  { pkg: "containerd", files: bin("containerd-shim-runc-v2"), required: true },
  { pkg: "runc", files: bin("runc"), required: true },
  { pkg: "containernetworking-plugins", files: ["/usr/lib/cni/bridge", "/opt/cni/bin/bridge"], required: true },
  { pkg: "busybox-static", files: ["/bin/busybox", "/usr/bin/busybox"], required: true },
  { pkg: "iproute2", files: bin("ip"), required: true },
  { pkg: "catatonit", files: bin("catatonit"), required: false },
  { pkg: "nftables", files: bin("nft"), required: false },
  { pkg: "iptables", files: bin("iptables"), required: false },
];

function present(files: string[]): boolean {
  return files.some((f) => {
    try {
      accessSync(f, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Debian packages not installed (by the files we need from them), required ones first. */
export function missingPackages(deps: NodeDependency[] = NODE_DEPENDENCIES): { required: string[]; optional: string[] } {
  const required = new Set<string>();
  const optional = new Set<string>();
  for (const d of deps) if (!present(d.files)) (d.required ? required : optional).add(d.pkg);
  for (const p of required) optional.delete(p);
  return { required: [...required], optional: [...optional] };
}

export function aptCommand(pkgs: string[]): string {
  return `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(" ")}`;
}

function run(cmd: string, args: string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    log(`$ ${cmd} ${args.join(" ")}`);
    execFile(cmd, args, { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, timeout: 600_000, maxBuffer: 64 << 20 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")} failed: ${String(stderr || err.message).trim().split("\n").slice(-5).join("\n")}`));
      else resolve();
    });
  });
}

/**
 * Makes sure the node's packages are there: nothing to do when present; as root (and
 * with `install` on) one apt-get update plus install; otherwise an error with the
 * command. Optional packages are installed along with required ones, never alone.
 */
export async function ensureNodeDependencies(opts: { install: boolean; log?: (line: string) => void }): Promise<string[]> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const { required, optional } = missingPackages();
  if (required.length === 0) return [];
  const all = [...required, ...optional];
  if (!opts.install || process.getuid?.() !== 0) {
    throw new Error(`the node needs Debian packages that are missing: ${required.join(", ")}.\nRun as root:\n  ${aptCommand(all)}\n(or: sudo sh scripts/install-node-deps.sh)`);
  }
  log(`installing missing node packages: ${all.join(" ")}`);
  await run("apt-get", ["update", "-q"], log);
  await run("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...all], log);
  const still = missingPackages().required;
  if (still.length) throw new Error(`still missing after apt-get install: ${still.join(", ")}`);
  return all;
}
