// What a kubelet learns about its own machine for the Node object
// (https://kubernetes.io/docs/reference/node/node-status/): capacity (CPUs, MemTotal from
// /proc/meminfo, the data directory's filesystem as ephemeral-storage, a pod limit),
// allocatable (capacity minus --kube-reserved/--system-reserved and the hard eviction
// thresholds, https://kubernetes.io/docs/tasks/administer-cluster/reserve-compute-resources/),
// nodeInfo (kernel, OS image from /etc/os-release, machine and boot IDs), the
// addresses, and the pressure signals behind MemoryPressure, DiskPressure and
// PIDPressure (https://kubernetes.io/docs/concepts/scheduling-eviction/node-pressure-eviction/).

import { readFileSync, readdirSync } from "node:fs";
import { statfs } from "node:fs/promises";
import { availableParallelism, hostname, networkInterfaces, release } from "node:os";
import { Invalid } from "../../apimachinery/errors.js";
import { formatQuantity, parseQuantity, quantityFromBytes, quantityFromMillis, toBytes, toMillis } from "../../apimachinery/quantity.js";

/** Upstream's default hard eviction thresholds: memory.available<100Mi, nodefs.available<10%. */
export const EVICTION_MEMORY_BYTES = 100 * 1024 * 1024;
export const EVICTION_NODEFS_FRACTION = 0.1;
/** PIDPressure when fewer than this share of pid_max is free. */
export const EVICTION_PID_FRACTION = 0.1;

export type ResourceList = Record<string, string>;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** /proc/meminfo fields in bytes. */
export function memInfo(text = readText("/proc/meminfo") ?? ""): { total: number; available: number } {
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0) * 1024;
  return { total: kb("MemTotal"), available: kb("MemAvailable") || kb("MemFree") };
}

/** PRETTY_NAME of /etc/os-release (what `kubectl get nodes -o wide` shows as OS-IMAGE). */
export function osImage(text = readText("/etc/os-release") ?? ""): string {
  const m = /^PRETTY_NAME=(.*)$/m.exec(text);
  return m ? m[1]!.trim().replace(/^["']|["']$/g, "") : "Linux";
}

/** Go's GOARCH names, which Kubernetes uses for kubernetes.io/arch. */
export function goArch(arch: string = process.arch): string {
  const map: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x", ia32: "386" };
  return map[arch] ?? arch;
}

/** The host's first non-internal IPv4 address (what the agent reports as InternalIP by default). */
export function defaultNodeIP(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}

/** Node names are DNS subdomains; a hostname is lowercased to fit. */
export function defaultNodeName(): string {
  return hostname().toLowerCase();
}

/**
 * "cpu=100m,memory=256Mi" (the kubelet's --kube-reserved/--system-reserved syntax) →
 * a resource list; bad input is an Invalid error naming the flag.
 */
export function parseReserved(flag: string, value: string | undefined): ResourceList {
  const out: ResourceList = {};
  if (!value) return out;
  for (const part of value.split(",").map((s) => s.trim()).filter(Boolean)) {
    const [k, v] = part.split("=");
    const bad = (message: string) => new Invalid("Node", flag, [{ reason: "FieldValueInvalid", field: flag, message }]);
    if (!k || !v || !["cpu", "memory", "ephemeral-storage", "pid"].includes(k)) throw bad(`invalid --${flag} entry "${part}" (want cpu=Q, memory=Q, ephemeral-storage=Q or pid=N)`);
    try {
      parseQuantity(v);
    } catch {
      throw bad(`invalid quantity "${v}" for ${k} in --${flag}`);
    }
    out[k] = v;
  }
  return out;
}

export interface HostCapacityOptions {
  /** The filesystem whose size is ephemeral-storage (the agent's data dir). */
  dataDir: string;
  maxPods?: number;
  kubeReserved?: ResourceList;
  systemReserved?: ResourceList;
}

/** capacity and allocatable as the kubelet computes them (quantities as strings). */
export async function hostCapacity(o: HostCapacityOptions): Promise<{ capacity: ResourceList; allocatable: ResourceList }> {
  const cpus = availableParallelism();
  const mem = memInfo().total;
  const fs = await statfs(o.dataDir);
  const disk = fs.blocks * fs.bsize;
  const capacity: ResourceList = {
    cpu: String(cpus),
    memory: formatQuantity(quantityFromBytes(Math.floor(mem / 1024) * 1024)),
    "ephemeral-storage": formatQuantity(quantityFromBytes(Math.floor(disk / 1024) * 1024)),
    pods: String(o.maxPods ?? 110),
    "hugepages-2Mi": "0",
  };
  const reserved = (k: string, toUnit: (q: string) => number) =>
    [o.kubeReserved?.[k], o.systemReserved?.[k]].reduce((sum, q) => sum + (q ? toUnit(q) : 0), 0);
  const cpuMillis = Math.max(0, cpus * 1000 - reserved("cpu", toMillis));
  const memBytes = Math.max(0, mem - reserved("memory", toBytes) - EVICTION_MEMORY_BYTES);
  const diskBytes = Math.max(0, Math.floor(disk * (1 - EVICTION_NODEFS_FRACTION)) - reserved("ephemeral-storage", toBytes));
  const allocatable: ResourceList = {
    ...capacity,
    cpu: formatQuantity(quantityFromMillis(cpuMillis)),
    memory: formatQuantity(quantityFromBytes(Math.floor(memBytes / 1024) * 1024)),
    "ephemeral-storage": String(diskBytes),
  };
  return { capacity, allocatable };
}

export interface NodeInfo {
  machineID: string;
  systemUUID: string;
  bootID: string;
  kernelVersion: string;
  osImage: string;
  containerRuntimeVersion: string;
  kubeletVersion: string;
  kubeProxyVersion: string;
  operatingSystem: string;
  architecture: string;
}

/** status.nodeInfo; `runtimeVersion` is containerd's (CRI Version), e.g. "1.6.20~ds1". */
export function hostNodeInfo(runtimeName: string, runtimeVersion: string, kubeletVersion: string): NodeInfo {
  const machineID = (readText("/etc/machine-id") ?? readText("/var/lib/dbus/machine-id") ?? "").trim();
  const uuid = (readText("/sys/class/dmi/id/product_uuid") ?? "").trim();
  return {
    machineID,
    systemUUID: uuid || machineID,
    bootID: (readText("/proc/sys/kernel/random/boot_id") ?? "").trim(),
    kernelVersion: release(),
    osImage: osImage(),
    containerRuntimeVersion: `${runtimeName}://${runtimeVersion}`,
    kubeletVersion,
    kubeProxyVersion: kubeletVersion,
    operatingSystem: "linux",
    architecture: goArch(),
  };
}

export interface PressureSignals {
  memory: boolean;
  disk: boolean;
  pid: boolean;
}

/** The three pressure signals against the hard eviction thresholds. */
export async function pressureSignals(dataDir: string): Promise<PressureSignals> {
  const mem = memInfo();
  let disk = false;
  try {
    const fs = await statfs(dataDir);
    disk = fs.bavail < fs.blocks * EVICTION_NODEFS_FRACTION;
  } catch {
    // unknown: report no pressure rather than a false alarm
  }
  let pid = false;
  const pidMax = Number(readText("/proc/sys/kernel/pid_max") ?? 0);
  if (pidMax > 0) {
    let procs = 0;
    try {
      for (const e of readdirSync("/proc")) if (e.charCodeAt(0) >= 48 && e.charCodeAt(0) <= 57) procs++;
    } catch {
      procs = 0;
    }
    pid = pidMax - procs < pidMax * EVICTION_PID_FRACTION;
  }
  return { memory: mem.total > 0 && mem.available < EVICTION_MEMORY_BYTES, disk, pid };
}
