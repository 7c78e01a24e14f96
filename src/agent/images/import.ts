// Side-loading images into the node's containerd without a registry (the "air-gap"
// path). Images the kubelet uses through CRI live in containerd's `k8s.io` namespace
// (https://github.com/containerd/containerd/blob/main/docs/cri/crictl.md); `ctr images
// import` reads a docker-archive or OCI tarball, stores its blobs and unpacks it for the
// default snapshotter so the CRI plugin can run it at once.

import { execFile } from "node:child_process";

export interface ImportOptions {
  /** containerd's gRPC socket. */
  address: string;
  /** containerd namespace; CRI uses "k8s.io". */
  namespace?: string;
  /** Path of the ctr binary (default: "ctr" on PATH). */
  ctr?: string;
  signal?: AbortSignal;
}

/** Imports one tarball; resolves with the image names ctr reported. */
export function importImage(file: string, opts: ImportOptions): Promise<string[]> {
  const args = ["-a", opts.address, "-n", opts.namespace ?? "k8s.io", "images", "import", file];
  return new Promise((resolve, reject) => {
    execFile(opts.ctr ?? "ctr", args, { timeout: 120_000, signal: opts.signal }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`ctr images import ${file} failed: ${String(stderr || err.message).trim()}`));
        return;
      }
      // ctr prints "unpacking docker.io/tugboat/busybox:1 (sha256:…)...done" per image
      const names = [...String(stdout).matchAll(/unpacking (\S+) \(/g)].map((m) => m[1]!);
      resolve(names);
    });
  });
}
