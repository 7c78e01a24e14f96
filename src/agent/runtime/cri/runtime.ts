// The ContainerRuntime contract (../types.ts) implemented over a CRI v1 runtime — here
// containerd's CRI plugin — the way the kubelet's kuberuntime manager drives it
// (https://kubernetes.io/docs/concepts/architecture/cri/). This file only translates
// between Tugboat's runtime types and the CRI messages; policy (restarts, probes, pod
// cgroups, log rotation) belongs to the pod worker above it.

import { join } from "node:path";
import { CriClient, type CriClientOptions, type CriContainer, type CriContainerConfig, type CriContainerStats, type CriContainerState, type CriImage, type CriLinuxContainerResources, type CriMount, type CriNamespaceMode, type CriPodSandbox, type CriPodSandboxConfig, type CriSecurityProfile } from "./client.js";
import {
  RuntimeError,
  type AttachRequest,
  type ContainerConfig,
  type ContainerFilter,
  type ContainerResources,
  type ContainerRuntime,
  type ContainerState,
  type ContainerStats,
  type ContainerStatsFilter,
  type ContainerStatus,
  type ContainerSummary,
  type ExecRequest,
  type ExecResult,
  type FilesystemUsage,
  type ImageAuth,
  type ImageInfo,
  type Mount,
  type MountPropagation,
  type NamespaceMode,
  type PodSandboxConfig,
  type PodSandboxFilter,
  type PodSandboxStatus,
  type PodSandboxSummary,
  type RuntimeCondition,
  type RuntimeVersion,
  type SeccompProfile,
  type StreamingEndpoint,
} from "../types.js";

const NS_PER_MS = 1_000_000;

const STATE_TO_CRI: Record<ContainerState, CriContainerState> = {
  Created: "CONTAINER_CREATED",
  Running: "CONTAINER_RUNNING",
  Exited: "CONTAINER_EXITED",
  Unknown: "CONTAINER_UNKNOWN",
};
const STATE_FROM_CRI: Record<string, ContainerState> = {
  CONTAINER_CREATED: "Created",
  CONTAINER_RUNNING: "Running",
  CONTAINER_EXITED: "Exited",
  CONTAINER_UNKNOWN: "Unknown",
};
const NS_MODE: Record<NamespaceMode, CriNamespaceMode> = { Pod: "POD", Container: "CONTAINER", Node: "NODE", Target: "TARGET" };
const PROPAGATION_TO_CRI: Record<MountPropagation, NonNullable<CriMount["propagation"]>> = {
  Private: "PROPAGATION_PRIVATE",
  HostToContainer: "PROPAGATION_HOST_TO_CONTAINER",
  Bidirectional: "PROPAGATION_BIDIRECTIONAL",
};
const PROPAGATION_FROM_CRI: Record<string, MountPropagation> = {
  PROPAGATION_PRIVATE: "Private",
  PROPAGATION_HOST_TO_CONTAINER: "HostToContainer",
  PROPAGATION_BIDIRECTIONAL: "Bidirectional",
};

function seccomp(p: SeccompProfile | undefined): CriSecurityProfile | undefined {
  if (!p) return undefined;
  return p.type === "Localhost" ? { profileType: "Localhost", localhostRef: p.localhostRef } : { profileType: p.type };
}

function int64(v: number | undefined): { value: number } | undefined {
  return v === undefined ? undefined : { value: v };
}

/** PodSandboxConfig → CRI. Exported for the conformance tests and the hollow runtime. */
export function toCriSandboxConfig(c: PodSandboxConfig): CriPodSandboxConfig {
  const hostNet = c.hostNetwork ?? false;
  return {
    metadata: { name: c.metadata.name, uid: c.metadata.uid, namespace: c.metadata.namespace, attempt: c.metadata.attempt },
    hostname: c.hostname ?? (hostNet ? "" : c.metadata.name),
    logDirectory: c.logDirectory,
    dnsConfig: c.dnsConfig,
    portMappings: (c.portMappings ?? []).map((p) => ({ protocol: p.protocol, containerPort: p.containerPort, hostPort: p.hostPort, hostIp: p.hostIp ?? "" })),
    labels: c.labels ?? {},
    annotations: c.annotations ?? {},
    linux: {
      cgroupParent: c.cgroupParent ?? "",
      sysctls: c.sysctls ?? {},
      securityContext: {
        namespaceOptions: {
          network: hostNet ? "NODE" : "POD",
          // Pods get a PID namespace per container unless they share (kubelet does the same).
          pid: c.hostPID ? "NODE" : "CONTAINER",
          ipc: c.hostIPC ? "NODE" : "POD",
        },
        runAsUser: int64(c.runAsUser),
        runAsGroup: int64(c.runAsGroup),
        readonlyRootfs: c.readOnlyRootFilesystem ?? false,
        supplementalGroups: c.supplementalGroups ?? [],
        privileged: c.privileged ?? false,
        seccomp: seccomp(c.seccomp),
      },
    },
  };
}

function toCriResources(r: ContainerResources): CriLinuxContainerResources {
  return {
    cpuPeriod: r.cpuPeriod ?? 0,
    cpuQuota: r.cpuQuota ?? 0,
    cpuShares: r.cpuShares ?? 0,
    memoryLimitInBytes: r.memoryLimitBytes ?? 0,
    memorySwapLimitInBytes: r.memorySwapLimitBytes ?? 0,
    oomScoreAdj: r.oomScoreAdj ?? 0,
    cpusetCpus: r.cpusetCpus ?? "",
    cpusetMems: r.cpusetMems ?? "",
  };
}

function fromCriResources(r: CriLinuxContainerResources | null | undefined): ContainerResources | undefined {
  if (!r) return undefined;
  return {
    cpuPeriod: r.cpuPeriod,
    cpuQuota: r.cpuQuota,
    cpuShares: r.cpuShares,
    memoryLimitBytes: r.memoryLimitInBytes,
    ...(r.memorySwapLimitInBytes ? { memorySwapLimitBytes: r.memorySwapLimitInBytes } : {}),
    oomScoreAdj: r.oomScoreAdj,
    cpusetCpus: r.cpusetCpus,
    cpusetMems: r.cpusetMems,
  };
}

/** ContainerConfig → CRI. */
export function toCriContainerConfig(c: ContainerConfig, sandbox: PodSandboxConfig): CriContainerConfig {
  const sc = c.securityContext ?? {};
  return {
    metadata: { name: c.name, attempt: c.attempt },
    image: { image: c.image },
    command: c.command ?? [],
    args: c.args ?? [],
    workingDir: c.workingDir ?? "",
    envs: (c.env ?? []).map((e) => ({ key: e.name, value: e.value })),
    mounts: (c.mounts ?? []).map((m) => ({
      containerPath: m.containerPath,
      hostPath: m.hostPath,
      readonly: m.readOnly ?? false,
      propagation: PROPAGATION_TO_CRI[m.propagation ?? "Private"],
    })),
    devices: c.devices ?? [],
    labels: c.labels ?? {},
    annotations: c.annotations ?? {},
    logPath: c.logPath,
    stdin: c.stdin ?? false,
    stdinOnce: c.stdinOnce ?? false,
    tty: c.tty ?? false,
    linux: {
      resources: toCriResources(c.resources ?? {}),
      securityContext: {
        capabilities: { addCapabilities: sc.capabilities?.add ?? [], dropCapabilities: sc.capabilities?.drop ?? [] },
        privileged: sc.privileged ?? false,
        namespaceOptions: {
          network: sandbox.hostNetwork ? "NODE" : "POD",
          pid: NS_MODE[sc.pidNamespace ?? (sandbox.hostPID ? "Node" : "Container")],
          ipc: sandbox.hostIPC ? "NODE" : "POD",
          targetId: sc.targetId ?? "",
        },
        runAsUser: int64(sc.runAsUser),
        runAsGroup: int64(sc.runAsGroup),
        runAsUsername: sc.runAsUsername ?? "",
        readonlyRootfs: sc.readOnlyRootFilesystem ?? false,
        supplementalGroups: sc.supplementalGroups ?? [],
        noNewPrivs: sc.noNewPrivs ?? false,
        maskedPaths: sc.maskedPaths ?? [],
        readonlyPaths: sc.readonlyPaths ?? [],
        seccomp: seccomp(sc.seccomp),
      },
    },
  };
}

function sandboxSummary(s: CriPodSandbox): PodSandboxSummary {
  return {
    id: s.id,
    metadata: s.metadata ?? { name: "", uid: "", namespace: "", attempt: 0 },
    state: s.state === "SANDBOX_READY" ? "Ready" : "NotReady",
    createdAt: Math.floor(s.createdAt / NS_PER_MS),
    labels: s.labels,
    annotations: s.annotations,
    runtimeHandler: s.runtimeHandler,
  };
}

function containerSummary(c: CriContainer): ContainerSummary {
  return {
    id: c.id,
    podSandboxId: c.podSandboxId,
    name: c.metadata?.name ?? "",
    attempt: c.metadata?.attempt ?? 0,
    image: c.image?.image ?? "",
    imageRef: c.imageRef,
    state: STATE_FROM_CRI[c.state] ?? "Unknown",
    createdAt: Math.floor(c.createdAt / NS_PER_MS),
    labels: c.labels,
    annotations: c.annotations,
  };
}

function imageInfo(i: CriImage): ImageInfo {
  return {
    id: i.id,
    repoTags: i.repoTags,
    repoDigests: i.repoDigests,
    size: i.size,
    ...(i.uid ? { uid: i.uid.value } : {}),
    ...(i.username ? { username: i.username } : {}),
    pinned: i.pinned,
  };
}

function stats(s: CriContainerStats): ContainerStats {
  const a = s.attributes;
  const out: ContainerStats = {
    id: a?.id ?? "",
    name: a?.metadata?.name ?? "",
    attempt: a?.metadata?.attempt ?? 0,
    labels: a?.labels ?? {},
    annotations: a?.annotations ?? {},
    timestamp: Math.floor((s.cpu?.timestamp || s.memory?.timestamp || Date.now() * NS_PER_MS) / NS_PER_MS),
  };
  if (s.cpu?.usageCoreNanoSeconds) out.cpuUsageCoreNanoSeconds = s.cpu.usageCoreNanoSeconds.value;
  if (s.cpu?.usageNanoCores) out.cpuUsageNanoCores = s.cpu.usageNanoCores.value;
  const m = s.memory;
  if (m?.workingSetBytes) out.memoryWorkingSetBytes = m.workingSetBytes.value;
  if (m?.usageBytes) out.memoryUsageBytes = m.usageBytes.value;
  if (m?.rssBytes) out.memoryRssBytes = m.rssBytes.value;
  if (m?.availableBytes) out.memoryAvailableBytes = m.availableBytes.value;
  if (m?.pageFaults) out.memoryPageFaults = m.pageFaults.value;
  if (m?.majorPageFaults) out.memoryMajorPageFaults = m.majorPageFaults.value;
  if (s.writableLayer?.usedBytes) out.writableLayerBytes = s.writableLayer.usedBytes.value;
  return out;
}

/** A ContainerRuntime backed by a CRI endpoint (containerd's socket). */
export class CriRuntime implements ContainerRuntime {
  readonly name = "containerd";
  readonly client: CriClient;

  constructor(socket: string, opts: CriClientOptions = {}) {
    this.client = new CriClient(socket, opts);
  }

  async version(): Promise<RuntimeVersion> {
    return this.client.call("Version", { version: "v1" });
  }

  async status(): Promise<RuntimeCondition[]> {
    const r = await this.client.call("Status", {});
    return r.status?.conditions ?? [];
  }

  // ---- sandboxes ----

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const r = await this.client.call("RunPodSandbox", { config: toCriSandboxConfig(config), runtimeHandler: config.runtimeHandler ?? "" }, 4 * 60_000);
    return r.podSandboxId;
  }

  async stopPodSandbox(id: string): Promise<void> {
    await this.idempotent(this.client.call("StopPodSandbox", { podSandboxId: id }));
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.idempotent(this.client.call("RemovePodSandbox", { podSandboxId: id }));
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus> {
    const r = await this.client.call("PodSandboxStatus", { podSandboxId: id, verbose: true });
    if (!r.status) throw new RuntimeError("NotFound", `pod sandbox ${id} not found`);
    const s = r.status;
    const out: PodSandboxStatus = {
      ...sandboxSummary(s),
      ip: s.network?.ip ?? "",
      additionalIps: (s.network?.additionalIps ?? []).map((x) => x.ip),
    };
    // containerd reports the netns path in the verbose info blob ({"runtimeSpec":…} / "netNamespacePath")
    const info = r.info["info"];
    if (info) {
      try {
        const parsed = JSON.parse(info) as { netNamespacePath?: string };
        if (parsed.netNamespacePath) out.netnsPath = parsed.netNamespacePath;
      } catch {
        // verbose info is best effort
      }
    }
    return out;
  }

  async listPodSandboxes(filter: PodSandboxFilter = {}): Promise<PodSandboxSummary[]> {
    const r = await this.client.call("ListPodSandbox", {
      filter: {
        id: filter.id ?? "",
        ...(filter.state ? { state: { state: filter.state === "Ready" ? "SANDBOX_READY" : "SANDBOX_NOTREADY" } } : {}),
        labelSelector: filter.labelSelector ?? {},
      },
    });
    return r.items.map(sandboxSummary);
  }

  // ---- containers ----

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    const r = await this.client.call("CreateContainer", {
      podSandboxId,
      config: toCriContainerConfig(config, sandboxConfig),
      sandboxConfig: toCriSandboxConfig(sandboxConfig),
    });
    return r.containerId;
  }

  async startContainer(id: string): Promise<void> {
    await this.client.call("StartContainer", { containerId: id });
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    // The call itself may take the whole grace period.
    await this.idempotent(this.client.call("StopContainer", { containerId: id, timeout: timeoutSeconds }, (timeoutSeconds + 60) * 1000));
  }

  async removeContainer(id: string): Promise<void> {
    await this.idempotent(this.client.call("RemoveContainer", { containerId: id }));
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    // ContainerStatus does not carry the sandbox ID; ListContainers (filtered by ID) does.
    const [r, listed] = await Promise.all([
      this.client.call("ContainerStatus", { containerId: id }),
      this.client.call("ListContainers", { filter: { id } }).catch(() => ({ containers: [] as CriContainer[] })),
    ]);
    const s = r.status;
    if (!s) throw new RuntimeError("NotFound", `container ${id} not found`);
    const sandboxId = listed.containers.find((c) => c.id === s.id)?.podSandboxId ?? "";
    return {
      id: s.id,
      podSandboxId: sandboxId,
      name: s.metadata?.name ?? "",
      attempt: s.metadata?.attempt ?? 0,
      image: s.image?.image ?? "",
      imageRef: s.imageRef,
      state: STATE_FROM_CRI[s.state] ?? "Unknown",
      createdAt: Math.floor(s.createdAt / NS_PER_MS),
      startedAt: Math.floor(s.startedAt / NS_PER_MS),
      finishedAt: Math.floor(s.finishedAt / NS_PER_MS),
      exitCode: s.exitCode,
      reason: s.reason,
      message: s.message,
      labels: s.labels,
      annotations: s.annotations,
      logPath: s.logPath,
      mounts: s.mounts.map((m): Mount => ({
        containerPath: m.containerPath,
        hostPath: m.hostPath,
        readOnly: m.readonly ?? false,
        propagation: PROPAGATION_FROM_CRI[m.propagation ?? "PROPAGATION_PRIVATE"] ?? "Private",
      })),
      ...(s.resources?.linux ? { resources: fromCriResources(s.resources.linux) } : {}),
    };
  }

  async listContainers(filter: ContainerFilter = {}): Promise<ContainerSummary[]> {
    const r = await this.client.call("ListContainers", {
      filter: {
        id: filter.id ?? "",
        podSandboxId: filter.podSandboxId ?? "",
        ...(filter.state ? { state: { state: STATE_TO_CRI[filter.state] } } : {}),
        labelSelector: filter.labelSelector ?? {},
      },
    });
    return r.containers.map(containerSummary);
  }

  async updateContainerResources(id: string, resources: ContainerResources): Promise<void> {
    await this.client.call("UpdateContainerResources", { containerId: id, linux: toCriResources(resources) });
  }

  async reopenContainerLog(id: string): Promise<void> {
    await this.client.call("ReopenContainerLog", { containerId: id });
  }

  async containerLogPath(id: string): Promise<string> {
    return (await this.containerStatus(id)).logPath;
  }

  // ---- exec / attach / port-forward ----

  async execSync(containerId: string, cmd: string[], timeoutSeconds = 0): Promise<ExecResult> {
    const deadline = timeoutSeconds > 0 ? (timeoutSeconds + 10) * 1000 : 24 * 3600_000;
    const r = await this.client.call("ExecSync", { containerId, cmd, timeout: timeoutSeconds }, deadline);
    return { stdout: Buffer.from(r.stdout), stderr: Buffer.from(r.stderr), exitCode: r.exitCode };
  }

  async exec(req: ExecRequest): Promise<StreamingEndpoint> {
    return this.client.call("Exec", {
      containerId: req.containerId,
      cmd: req.cmd,
      tty: req.tty ?? false,
      stdin: req.stdin ?? false,
      stdout: req.stdout ?? true,
      stderr: req.tty ? false : (req.stderr ?? true),
    });
  }

  async attach(req: AttachRequest): Promise<StreamingEndpoint> {
    return this.client.call("Attach", {
      containerId: req.containerId,
      tty: req.tty ?? false,
      stdin: req.stdin ?? false,
      stdout: req.stdout ?? true,
      stderr: req.tty ? false : (req.stderr ?? true),
    });
  }

  async portForward(podSandboxId: string, ports: number[]): Promise<StreamingEndpoint> {
    return this.client.call("PortForward", { podSandboxId, port: ports });
  }

  // ---- images ----

  async pullImage(image: string, auth?: ImageAuth, sandboxConfig?: PodSandboxConfig): Promise<string> {
    const r = await this.client.call("PullImage", {
      image: { image },
      ...(auth ? { auth: auth as Record<string, string> } : {}),
      ...(sandboxConfig ? { sandboxConfig: toCriSandboxConfig(sandboxConfig) } : {}),
    });
    return r.imageRef;
  }

  async imageStatus(image: string): Promise<ImageInfo | null> {
    const r = await this.client.call("ImageStatus", { image: { image } });
    return r.image && r.image.id ? imageInfo(r.image) : null;
  }

  async listImages(): Promise<ImageInfo[]> {
    const r = await this.client.call("ListImages", {});
    return r.images.map(imageInfo);
  }

  async removeImage(image: string): Promise<void> {
    await this.idempotent(this.client.call("RemoveImage", { image: { image } }));
  }

  async imageFsInfo(): Promise<FilesystemUsage[]> {
    const r = await this.client.call("ImageFsInfo", {});
    return r.imageFilesystems.map((f) => ({
      mountpoint: f.fsId?.mountpoint ?? "",
      usedBytes: f.usedBytes?.value ?? 0,
      inodesUsed: f.inodesUsed?.value ?? 0,
      timestamp: Math.floor(f.timestamp / NS_PER_MS),
    }));
  }

  // ---- stats ----

  async containerStats(id: string): Promise<ContainerStats> {
    const r = await this.client.call("ContainerStats", { containerId: id });
    if (!r.stats) throw new RuntimeError("NotFound", `container ${id} not found`);
    return stats(r.stats);
  }

  async listContainerStats(filter: ContainerStatsFilter = {}): Promise<ContainerStats[]> {
    const r = await this.client.call("ListContainerStats", {
      filter: { id: filter.id ?? "", podSandboxId: filter.podSandboxId ?? "", labelSelector: filter.labelSelector ?? {} },
    });
    return r.stats.map(stats);
  }

  close(): void {
    this.client.close();
  }

  /** Stop/remove must not fail for objects already gone. */
  private async idempotent(p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (err) {
      if (err instanceof RuntimeError && err.code === "NotFound") return;
      throw err;
    }
  }
}

/** The absolute log path the runtime will write for a container config. */
export function containerLogFile(sandbox: PodSandboxConfig, container: ContainerConfig): string {
  return join(sandbox.logDirectory, container.logPath);
}
