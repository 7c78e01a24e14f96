// The node's container runtime contract: what the kubelet ("tug agent" pod worker) asks
// of a runtime, shaped after the Container Runtime Interface
// (https://kubernetes.io/docs/concepts/architecture/cri/, k8s.io/cri-api runtime/v1):
// a pod is a *sandbox* (shared network/IPC namespaces, the pod IP) holding *containers*;
// images are pulled and listed separately. Implemented by the CRI runtime over containerd
// (runtime/cri/runtime.ts) and by a hollow runtime for scale tests, and checked by one
// shared conformance suite. Times are milliseconds since the epoch; sizes are bytes.

/** Pod identity the sandbox carries (PodSandboxMetadata). */
export interface PodSandboxMetadata {
  name: string;
  namespace: string;
  uid: string;
  /** Incremented each time the kubelet recreates the sandbox of the same pod. */
  attempt: number;
}

export type Protocol = "TCP" | "UDP" | "SCTP";
/** POD shares the pod's namespace, CONTAINER gives a private one, NODE uses the host's. */
export type NamespaceMode = "Pod" | "Container" | "Node" | "Target";
export type SeccompProfile = { type: "RuntimeDefault" | "Unconfined" } | { type: "Localhost"; localhostRef: string };

export interface PortMapping {
  protocol: Protocol;
  containerPort: number;
  /** Port on the node (hostPort); 0 means none. */
  hostPort: number;
  hostIp?: string;
}

export interface DNSConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  /** Absolute directory for this pod's container logs, e.g. DATA/pods/<ns>_<name>_<uid>. */
  logDirectory: string;
  dnsConfig?: DNSConfig;
  portMappings?: PortMapping[];
  labels?: Record<string, string>;
  /** Returned unchanged in status; may carry pod annotations. */
  annotations?: Record<string, string>;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  /** cgroupfs-style parent, e.g. "/tugboat/besteffort/pod<uid>". Empty: runtime default. */
  cgroupParent?: string;
  sysctls?: Record<string, string>;
  privileged?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  supplementalGroups?: number[];
  readOnlyRootFilesystem?: boolean;
  seccomp?: SeccompProfile;
  /** RuntimeClass handler; "" selects the default (runc). */
  runtimeHandler?: string;
}

export type PodSandboxState = "Ready" | "NotReady";

export interface PodSandboxSummary {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  createdAt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
}

export interface PodSandboxStatus extends PodSandboxSummary {
  /** Pod IP; "" for host-network sandboxes or before networking is set up. */
  ip: string;
  additionalIps: string[];
  /** Network namespace path, when the runtime reports it (useful for debugging and CNI). */
  netnsPath?: string;
}

export interface PodSandboxFilter {
  id?: string;
  state?: PodSandboxState;
  labelSelector?: Record<string, string>;
}

export type MountPropagation = "Private" | "HostToContainer" | "Bidirectional";

export interface Mount {
  containerPath: string;
  hostPath: string;
  readOnly?: boolean;
  propagation?: MountPropagation;
}

export interface Device {
  containerPath: string;
  hostPath: string;
  /** Any of "r", "w", "m". */
  permissions: string;
}

export interface ContainerResources {
  /** cpu.shares (requests.cpu × 1024 per core, minimum 2). */
  cpuShares?: number;
  /** CFS quota in µs per period (limits.cpu); 0 = unlimited. */
  cpuQuota?: number;
  cpuPeriod?: number;
  memoryLimitBytes?: number;
  /** Memory + swap limit (cgroup v1 memsw); equal to memoryLimitBytes means no swap. */
  memorySwapLimitBytes?: number;
  oomScoreAdj?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
}

export interface ContainerSecurityContext {
  privileged?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  runAsUsername?: string;
  readOnlyRootFilesystem?: boolean;
  supplementalGroups?: number[];
  capabilities?: { add?: string[]; drop?: string[] };
  noNewPrivs?: boolean;
  seccomp?: SeccompProfile;
  /** shareProcessNamespace → "Pod"; default "Container". hostPID → "Node". */
  pidNamespace?: NamespaceMode;
  /** For pidNamespace "Target" (ephemeral debug containers). */
  targetId?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
}

export interface ContainerConfig {
  /** Container name from the pod spec. (name, attempt) is unique within a sandbox. */
  name: string;
  /** Restart count of this container in this sandbox. */
  attempt: number;
  /** Image reference or image ID as returned by pullImage. */
  image: string;
  /** Overrides the image entrypoint (pod spec `command`). */
  command?: string[];
  /** Overrides the image cmd (pod spec `args`). */
  args?: string[];
  workingDir?: string;
  env?: Array<{ name: string; value: string }>;
  mounts?: Mount[];
  devices?: Device[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Log file path relative to the sandbox logDirectory, e.g. "web/0.log". */
  logPath: string;
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
  resources?: ContainerResources;
  securityContext?: ContainerSecurityContext;
}

export type ContainerState = "Created" | "Running" | "Exited" | "Unknown";

export interface ContainerSummary {
  id: string;
  podSandboxId: string;
  name: string;
  attempt: number;
  /** The image as requested. */
  image: string;
  /** Digested reference / image ID actually used. */
  imageRef: string;
  state: ContainerState;
  createdAt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ContainerStatus extends ContainerSummary {
  /** 0 until started. */
  startedAt: number;
  /** 0 until exited. */
  finishedAt: number;
  exitCode: number;
  /** CamelCase: "Completed", "Error", "OOMKilled", … ("" while running). */
  reason: string;
  message: string;
  /** Absolute path of the container's CRI-format log file. */
  logPath: string;
  mounts: Mount[];
  resources?: ContainerResources;
}

export interface ContainerFilter {
  id?: string;
  podSandboxId?: string;
  state?: ContainerState;
  labelSelector?: Record<string, string>;
}

export interface ExecResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

/** A streaming session request; the runtime answers with a URL to its streaming server. */
export interface ExecRequest {
  containerId: string;
  cmd: string[];
  tty?: boolean;
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
}

export interface AttachRequest {
  containerId: string;
  tty?: boolean;
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
}

/**
 * Where to stream. The URL speaks the Kubernetes remote-command / port-forward protocols
 * (SPDY/3.1 or WebSocket, subprotocols v4.channel.k8s.io / portforward.k8s.io); the
 * apiserver or agent proxies a client's upgraded connection straight to it.
 */
export interface StreamingEndpoint {
  url: string;
}

export interface ImageInfo {
  /** Image ID ("sha256:…" of the config). */
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  uid?: number;
  username?: string;
  pinned: boolean;
}

export interface ImageAuth {
  username?: string;
  password?: string;
  auth?: string;
  serverAddress?: string;
  identityToken?: string;
  registryToken?: string;
}

export interface FilesystemUsage {
  mountpoint: string;
  usedBytes: number;
  inodesUsed: number;
  timestamp: number;
}

export interface ContainerStats {
  id: string;
  name: string;
  attempt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** When the sample was taken. */
  timestamp: number;
  /** Cumulative CPU time in nanoseconds. */
  cpuUsageCoreNanoSeconds?: number;
  /** Recent CPU use in nanocores (1e9 = one core); absent until two samples exist. */
  cpuUsageNanoCores?: number;
  memoryWorkingSetBytes?: number;
  memoryUsageBytes?: number;
  memoryRssBytes?: number;
  memoryAvailableBytes?: number;
  memoryPageFaults?: number;
  memoryMajorPageFaults?: number;
  writableLayerBytes?: number;
}

export interface ContainerStatsFilter {
  id?: string;
  podSandboxId?: string;
  labelSelector?: Record<string, string>;
}

export interface RuntimeVersion {
  /** CRI API version, e.g. "v1". */
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

/** RuntimeReady and NetworkReady are required for a Ready node. */
export interface RuntimeCondition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}

export type RuntimeErrorCode =
  | "NotFound"
  | "AlreadyExists"
  | "InvalidArgument"
  | "FailedPrecondition"
  | "DeadlineExceeded"
  | "Unavailable"
  | "Unknown";

/** A failure reported by the runtime; kubelet logic branches on `code`, never on text. */
export class RuntimeError extends Error {
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "RuntimeError";
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof RuntimeError && err.code === "NotFound";
}

/**
 * The runtime as the pod worker sees it. Stop and remove calls are idempotent (stopping
 * or removing something already gone is not an error); status calls on missing objects
 * throw RuntimeError("NotFound").
 */
export interface ContainerRuntime {
  /** "containerd", "hollow", … */
  readonly name: string;

  version(): Promise<RuntimeVersion>;
  status(): Promise<RuntimeCondition[]>;

  // Pod sandboxes
  runPodSandbox(config: PodSandboxConfig): Promise<string>;
  /** Kills all containers of the sandbox and releases its network (pod IP). */
  stopPodSandbox(id: string): Promise<void>;
  /** Removes the sandbox and all its containers, forcibly. */
  removePodSandbox(id: string): Promise<void>;
  podSandboxStatus(id: string): Promise<PodSandboxStatus>;
  listPodSandboxes(filter?: PodSandboxFilter): Promise<PodSandboxSummary[]>;

  // Containers
  /** `sandboxConfig` is the config the sandbox was created with. */
  createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM (or the image's stop signal), SIGKILL after `timeoutSeconds` (0 = at once). */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  containerStatus(id: string): Promise<ContainerStatus>;
  listContainers(filter?: ContainerFilter): Promise<ContainerSummary[]>;
  updateContainerResources(id: string, resources: ContainerResources): Promise<void>;
  /** Re-open the log file after the agent rotated it. */
  reopenContainerLog(id: string): Promise<void>;
  /** Absolute path of the container's log file (CRI log format, see cri/logformat.ts). */
  containerLogPath(id: string): Promise<string>;

  // Exec, attach, port-forward
  /** Runs a command to completion (exec probes); `timeoutSeconds` 0 = no timeout. */
  execSync(containerId: string, cmd: string[], timeoutSeconds?: number): Promise<ExecResult>;
  exec(req: ExecRequest): Promise<StreamingEndpoint>;
  attach(req: AttachRequest): Promise<StreamingEndpoint>;
  portForward(podSandboxId: string, ports: number[]): Promise<StreamingEndpoint>;

  // Images
  /** Returns the image reference to put in ContainerConfig.image (the image ID). */
  pullImage(image: string, auth?: ImageAuth, sandboxConfig?: PodSandboxConfig): Promise<string>;
  /** null when the image is not present. */
  imageStatus(image: string): Promise<ImageInfo | null>;
  listImages(): Promise<ImageInfo[]>;
  removeImage(image: string): Promise<void>;
  imageFsInfo(): Promise<FilesystemUsage[]>;

  // Stats
  containerStats(id: string): Promise<ContainerStats>;
  listContainerStats(filter?: ContainerStatsFilter): Promise<ContainerStats[]>;

  /** Releases connections; does not stop the runtime itself. */
  close(): void;
}
