// `tug agent` (a real node joining a server, like `k3s agent`, https://docs.k3s.io/cli/agent),
// `tug image build|import` (side-loading images into the node's containerd without a
// registry, like `k3s ctr images import`), and `tug down` (stop every pod and remove
// what the agent put on the host, the counterpart of k3s-killall.sh). main.ts holds the
// command table; the flags and the work live here and are loaded lazily.

import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { UsageError, type FlagSpec } from "./flags.js";

type Values = Record<string, string | boolean | undefined>;

/** Node flags shared by `tug agent` and `tug up`. */
export const nodeFlags: FlagSpec[] = [
  { name: "node-name", type: "string", help: "node name (default: the hostname)" },
  { name: "node-ip", type: "string", help: "the node's InternalIP (default: the host's first non-internal IPv4)" },
  { name: "containerd-socket", type: "string", help: "use this containerd instead of starting one under DATA/agent/containerd" },
  { name: "cluster-dns", type: "string", help: "nameserver written into pods' resolv.conf (default: the kube-dns Service's address, read from the server's kube-system/tugboat-config)" },
  { name: "pod-cidr", type: "string", help: "ask for this pod range instead of one from the node IPAM controller (kubelet --pod-cidr)" },
  { name: "cni-bridge", type: "string", default: "tug0", help: "name of the pod bridge" },
  { name: "node-label", type: "string", help: "extra node labels k=v[,k=v]" },
  { name: "max-pods", type: "string", default: "110", help: "pod capacity" },
  { name: "kube-reserved", type: "string", help: "resources held back for Tugboat, e.g. cpu=100m,memory=256Mi" },
  { name: "system-reserved", type: "string", help: "resources held back for the OS, e.g. memory=256Mi" },
  { name: "kubelet-port", type: "string", default: "10250", help: "the node API port (logs, exec, port-forward, stats); 0 = any free port" },
  { name: "no-install", type: "boolean", help: "never run apt-get; fail with the command instead" },
];

/** Flags only `tug agent` has (besides nodeFlags). */
export const agentOnlyFlags: FlagSpec[] = [
  { name: "data-dir", type: "string", default: "/var/lib/tugboat", help: "agent state goes to DATA/agent" },
];

export const upAgentFlags: FlagSpec[] = [
  ...nodeFlags,
  { name: "no-demo", type: "boolean", help: "do not deploy the demo app" },
];

function labelsFrom(v: Values): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of String(v["node-label"] ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const i = kv.indexOf("=");
    if (i <= 0) throw new UsageError(`--node-label wants k=v, got ${JSON.stringify(kv)}`);
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/** RealAgentOptions from the shared node flags (client and dataDir come from the caller). */
export async function agentOptionsFrom(v: Values) {
  const { parseReserved } = await import("../agent/node/hostinfo.js");
  const maxPods = Number(v["max-pods"] ?? 110);
  const kubeletPort = Number(v["kubelet-port"] ?? 10250);
  if (!Number.isInteger(kubeletPort) || kubeletPort < 0 || kubeletPort > 65535) throw new UsageError(`--kubelet-port must be a port number, got ${String(v["kubelet-port"])}`);
  if (!Number.isInteger(maxPods) || maxPods < 1) throw new UsageError(`--max-pods must be a positive integer, got ${String(v["max-pods"])}`);
  const podCIDR = v["pod-cidr"];
  const cidr = typeof podCIDR === "string" ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(podCIDR) : null;
  if (typeof podCIDR === "string" && (!cidr || cidr.slice(1, 5).some((o) => Number(o) > 255) || Number(cidr[5]) < 8 || Number(cidr[5]) > 30)) throw new UsageError(`--pod-cidr must be an IPv4 CIDR like 10.42.7.0/24, got ${JSON.stringify(podCIDR)}`);
  for (const f of ["node-ip", "cluster-dns"]) {
    const ip = v[f];
    if (typeof ip === "string" && isIP(ip) !== 4) throw new UsageError(`--${f} must be an IPv4 address, got ${JSON.stringify(ip)}`);
  }
  const bridge = String(v["cni-bridge"] ?? "tug0");
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(bridge)) throw new UsageError(`--cni-bridge must be an interface name of at most 15 characters, got ${JSON.stringify(bridge)}`);
  try {
    return {
      nodeName: v["node-name"] as string | undefined,
      nodeIP: v["node-ip"] as string | undefined,
      containerdSocket: v["containerd-socket"] ? resolve(String(v["containerd-socket"])) : undefined,
      // Unset: the agent reads it (and the cluster ranges) from the server.
      clusterDNS: typeof v["cluster-dns"] === "string" ? v["cluster-dns"] : undefined,
      // `tug up` shares --cluster-domain with the server's DNS.
      clusterDomain: typeof v["cluster-domain"] === "string" ? v["cluster-domain"] : undefined,
      podCIDR: v["pod-cidr"] as string | undefined,
      bridge: String(v["cni-bridge"] ?? "tug0"),
      labels: labelsFrom(v),
      maxPods,
      kubeletPort,
      kubeReserved: parseReserved("kube-reserved", v["kube-reserved"] as string | undefined),
      systemReserved: parseReserved("system-reserved", v["system-reserved"] as string | undefined),
      installDependencies: v["no-install"] !== true,
    };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `tug agent` without --hollow: one real node until SIGINT/SIGTERM. */
export async function runRealAgent(v: Values, signal: AbortSignal): Promise<number> {
  const { createHttpClient } = await import("../client/http.js");
  const { nodeClient } = await import("./up.js");
  const { realAgent } = await import("../agent/agent.js");
  const { loadKubeconfig } = await import("../client/kubeconfig.js");
  const opts = await agentOptionsFrom(v);
  let client;
  let caPEM: string | undefined;
  if (v.kubeconfig) {
    client = nodeClient(String(v.kubeconfig));
    caPEM = loadKubeconfig(String(v.kubeconfig)).ca;
  } else {
    if (!v.server || !v.token || !v["ca-file"]) throw new UsageError("give --kubeconfig, or --server, --token and --ca-file");
    caPEM = readFileSync(String(v["ca-file"]), "utf8");
    client = createHttpClient({ server: String(v.server), token: String(v.token), ca: caPEM });
  }
  if (process.platform !== "linux" || process.getuid?.() !== 0) {
    console.error("tug agent: running containers needs root on Linux (or simulate nodes with --hollow N)");
    return 1;
  }
  const agent = realAgent({
    ...opts,
    client,
    caPEM,
    dataDir: join(String(v["data-dir"] ?? "/var/lib/tugboat"), "agent"),
    onReady: (i) => console.error(`tug agent: node ${i.nodeName} (${i.nodeIP}, pods ${i.podCIDR}) is running pods`),
  });
  await agent.start(signal);
  console.error("tug agent stopped; pods keep running (tug down stops them)");
  return 0;
}

/** The containerd address for image commands: --containerd-socket or DATA/agent/containerd. */
function nodeContainerd(v: Values) {
  return import("../agent/containerd.js").then(({ containerdPaths }) => ({
    address: v["containerd-socket"] ? resolve(String(v["containerd-socket"])) : containerdPaths({ dataDir: join(String(v["data-dir"]), "agent") }).address,
  }));
}

/**
 * Runs `fn` against the node's containerd: the running one when its socket answers,
 * otherwise a temporary one started (and stopped) for the command.
 */
async function withContainerd<T>(v: Values, fn: (address: string) => Promise<T>): Promise<T> {
  const { CriClient } = await import("../agent/runtime/cri/client.js");
  const { ContainerdProcess } = await import("../agent/containerd.js");
  const { address } = await nodeContainerd(v);
  const probe = new CriClient(address, { timeoutMs: 2000 });
  const up = await probe.call("Version", { version: "v1" }).then(() => true, () => false);
  probe.close();
  if (up) return fn(address);
  if (v["containerd-socket"]) throw new Error(`containerd at ${address} does not answer`);
  const p = new ContainerdProcess({ dataDir: join(String(v["data-dir"]), "agent") });
  const stop = new AbortController();
  const done = p.start(stop.signal);
  try {
    await p.ready;
    return await fn(p.address);
  } finally {
    stop.abort();
    await done.catch(() => {});
  }
}

export const imageFlags: FlagSpec[] = [
  { name: "data-dir", type: "string", default: "/var/lib/tugboat", help: "the node's data dir (its containerd is DATA/agent/containerd)" },
  { name: "containerd-socket", type: "string", help: "import into this containerd instead" },
  { name: "output", type: "string", help: "image build: write the tarballs here (default DATA/agent/images)" },
  { name: "no-import", type: "boolean", help: "image build: only write the tarballs" },
];

/** `tug image build` and `tug image import FILE.tar…`. */
export async function runImage(v: Values, positionals: string[]): Promise<number> {
  const [sub, ...files] = positionals;
  const { importImage } = await import("../agent/images/import.js");
  if (sub === "build") {
    const { buildNodeImages } = await import("../agent/images/build.js");
    const out = v.output ? resolve(String(v.output)) : join(String(v["data-dir"]), "agent", "images");
    const built = await buildNodeImages(out);
    for (const img of [built.pause, built.busybox]) console.log(`${img.name}\t${img.id}\t${img.file}`);
    if (v["no-import"] !== true) {
      await withContainerd(v, async (address) => {
        for (const img of [built.pause, built.busybox]) await importImage(img.file, { address });
      });
      console.error("imported into the node's containerd (namespace k8s.io)");
    }
    return 0;
  }
  if (sub === "import") {
    if (files.length === 0) throw new UsageError("usage: tug image import FILE.tar [FILE.tar…] [--data-dir DIR]");
    await withContainerd(v, async (address) => {
      for (const f of files) {
        const names = await importImage(resolve(f), { address });
        for (const n of names) console.log(n);
      }
    });
    return 0;
  }
  throw new UsageError("usage: tug image build [--output DIR] [--no-import] | tug image import FILE.tar…");
}

export const downFlags: FlagSpec[] = [
  { name: "data-dir", type: "string", default: "/var/lib/tugboat", help: "the node's data dir" },
  { name: "cni-bridge", type: "string", default: "tug0", help: "the pod bridge to delete" },
];

/** `tug down`: stops and removes every pod sandbox, then containerd, the bridge and routes. */
export async function runDown(v: Values): Promise<number> {
  const { runningTugNodes, tearDownNode } = await import("../agent/node/teardown.js");
  const busy = runningTugNodes(resolve(String(v["data-dir"])));
  if (busy.length) {
    console.error(`tug down: tug is still running on ${String(v["data-dir"])} (pid ${busy.join(", ")}); stop it first`);
    return 1;
  }
  const r = await tearDownNode({ dataDir: join(resolve(String(v["data-dir"])), "agent"), bridge: String(v["cni-bridge"]), log: (l) => console.error(l) });
  console.error(`tug down: removed ${r.sandboxes} pod sandboxes; containerd stopped; bridge ${String(v["cni-bridge"])} and routes removed`);
  return 0;
}
