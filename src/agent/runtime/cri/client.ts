// A typed gRPC client for the CRI v1 RuntimeService and ImageService
// (https://kubernetes.io/docs/concepts/architecture/cri/) over the runtime's unix socket.
// Messages are encoded with protobufjs from the definitions in proto.ts and sent with
// @grpc/grpc-js as plain unary calls; field names are the camelCase forms of the proto
// names, 64-bit integers are JS numbers, enums are their names.

import * as grpc from "@grpc/grpc-js";
import type protobuf from "protobufjs";
import { criRoot } from "./proto.js";
import { RuntimeError, type RuntimeErrorCode } from "../types.js";

type Map = Record<string, string>;

export interface CriPodSandboxMetadata { name: string; uid: string; namespace: string; attempt: number }
export interface CriNamespaceOption { network?: CriNamespaceMode; pid?: CriNamespaceMode; ipc?: CriNamespaceMode; targetId?: string }
export type CriNamespaceMode = "POD" | "CONTAINER" | "NODE" | "TARGET";
export interface CriInt64Value { value: number }
export interface CriUInt64Value { value: number }
export interface CriSecurityProfile { profileType: "RuntimeDefault" | "Unconfined" | "Localhost"; localhostRef?: string }
export interface CriPortMapping { protocol: "TCP" | "UDP" | "SCTP"; containerPort: number; hostPort: number; hostIp?: string }
export interface CriPodSandboxConfig {
  metadata: CriPodSandboxMetadata;
  hostname?: string;
  logDirectory?: string;
  dnsConfig?: { servers: string[]; searches: string[]; options: string[] };
  portMappings?: CriPortMapping[];
  labels?: Map;
  annotations?: Map;
  linux?: {
    cgroupParent?: string;
    securityContext?: {
      namespaceOptions?: CriNamespaceOption;
      runAsUser?: CriInt64Value;
      runAsGroup?: CriInt64Value;
      readonlyRootfs?: boolean;
      supplementalGroups?: number[];
      privileged?: boolean;
      seccomp?: CriSecurityProfile;
    };
    sysctls?: Map;
  };
}
export type CriSandboxState = "SANDBOX_READY" | "SANDBOX_NOTREADY";
export interface CriPodSandbox {
  id: string;
  metadata: CriPodSandboxMetadata | null;
  state: CriSandboxState;
  createdAt: number;
  labels: Map;
  annotations: Map;
  runtimeHandler: string;
}
export interface CriPodSandboxStatus extends CriPodSandbox {
  network: { ip: string; additionalIps: Array<{ ip: string }> } | null;
  linux: { namespaces: { options: CriNamespaceOption | null } | null } | null;
}
export interface CriPodSandboxFilter { id?: string; state?: { state: CriSandboxState }; labelSelector?: Map }

export interface CriMount {
  containerPath: string;
  hostPath: string;
  readonly?: boolean;
  selinuxRelabel?: boolean;
  propagation?: "PROPAGATION_PRIVATE" | "PROPAGATION_HOST_TO_CONTAINER" | "PROPAGATION_BIDIRECTIONAL";
}
export interface CriImageSpec { image: string; annotations?: Map; userSpecifiedImage?: string }
export interface CriLinuxContainerResources {
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuShares?: number;
  memoryLimitInBytes?: number;
  oomScoreAdj?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  unified?: Map;
  memorySwapLimitInBytes?: number;
}
export interface CriContainerConfig {
  metadata: { name: string; attempt: number };
  image: CriImageSpec;
  command?: string[];
  args?: string[];
  workingDir?: string;
  envs?: Array<{ key: string; value: string }>;
  mounts?: CriMount[];
  devices?: Array<{ containerPath: string; hostPath: string; permissions: string }>;
  labels?: Map;
  annotations?: Map;
  logPath?: string;
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
  linux?: {
    resources?: CriLinuxContainerResources;
    securityContext?: {
      capabilities?: { addCapabilities?: string[]; dropCapabilities?: string[] };
      privileged?: boolean;
      namespaceOptions?: CriNamespaceOption;
      runAsUser?: CriInt64Value;
      runAsGroup?: CriInt64Value;
      runAsUsername?: string;
      readonlyRootfs?: boolean;
      supplementalGroups?: number[];
      noNewPrivs?: boolean;
      maskedPaths?: string[];
      readonlyPaths?: string[];
      seccomp?: CriSecurityProfile;
    };
  };
}
export type CriContainerState = "CONTAINER_CREATED" | "CONTAINER_RUNNING" | "CONTAINER_EXITED" | "CONTAINER_UNKNOWN";
export interface CriContainer {
  id: string;
  podSandboxId: string;
  metadata: { name: string; attempt: number } | null;
  image: CriImageSpec | null;
  imageRef: string;
  state: CriContainerState;
  createdAt: number;
  labels: Map;
  annotations: Map;
  imageId: string;
}
export interface CriContainerStatus {
  id: string;
  metadata: { name: string; attempt: number } | null;
  state: CriContainerState;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  image: CriImageSpec | null;
  imageRef: string;
  reason: string;
  message: string;
  labels: Map;
  annotations: Map;
  mounts: CriMount[];
  logPath: string;
  resources: { linux: CriLinuxContainerResources | null } | null;
  imageId: string;
}
export interface CriContainerFilter { id?: string; state?: { state: CriContainerState }; podSandboxId?: string; labelSelector?: Map }
export interface CriImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  uid: CriInt64Value | null;
  username: string;
  spec: CriImageSpec | null;
  pinned: boolean;
}
export interface CriFilesystemUsage {
  timestamp: number;
  fsId: { mountpoint: string } | null;
  usedBytes: CriUInt64Value | null;
  inodesUsed: CriUInt64Value | null;
}
export interface CriContainerStats {
  attributes: { id: string; metadata: { name: string; attempt: number } | null; labels: Map; annotations: Map } | null;
  cpu: { timestamp: number; usageCoreNanoSeconds: CriUInt64Value | null; usageNanoCores: CriUInt64Value | null } | null;
  memory: {
    timestamp: number;
    workingSetBytes: CriUInt64Value | null;
    availableBytes: CriUInt64Value | null;
    usageBytes: CriUInt64Value | null;
    rssBytes: CriUInt64Value | null;
    pageFaults: CriUInt64Value | null;
    majorPageFaults: CriUInt64Value | null;
  } | null;
  writableLayer: CriFilesystemUsage | null;
}

/** Request → response types of every call this client makes. */
export interface CriCalls {
  Version: [{ version: string }, { version: string; runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }];
  Status: [{ verbose?: boolean }, { status: { conditions: Array<{ type: string; status: boolean; reason: string; message: string }> } | null; info: Map }];
  RunPodSandbox: [{ config: CriPodSandboxConfig; runtimeHandler?: string }, { podSandboxId: string }];
  StopPodSandbox: [{ podSandboxId: string }, object];
  RemovePodSandbox: [{ podSandboxId: string }, object];
  PodSandboxStatus: [{ podSandboxId: string; verbose?: boolean }, { status: CriPodSandboxStatus | null; info: Map }];
  ListPodSandbox: [{ filter?: CriPodSandboxFilter }, { items: CriPodSandbox[] }];
  CreateContainer: [{ podSandboxId: string; config: CriContainerConfig; sandboxConfig: CriPodSandboxConfig }, { containerId: string }];
  StartContainer: [{ containerId: string }, object];
  StopContainer: [{ containerId: string; timeout: number }, object];
  RemoveContainer: [{ containerId: string }, object];
  ListContainers: [{ filter?: CriContainerFilter }, { containers: CriContainer[] }];
  ContainerStatus: [{ containerId: string; verbose?: boolean }, { status: CriContainerStatus | null; info: Map }];
  UpdateContainerResources: [{ containerId: string; linux?: CriLinuxContainerResources }, object];
  ReopenContainerLog: [{ containerId: string }, object];
  ExecSync: [{ containerId: string; cmd: string[]; timeout: number }, { stdout: Uint8Array; stderr: Uint8Array; exitCode: number }];
  Exec: [{ containerId: string; cmd: string[]; tty?: boolean; stdin?: boolean; stdout?: boolean; stderr?: boolean }, { url: string }];
  Attach: [{ containerId: string; tty?: boolean; stdin?: boolean; stdout?: boolean; stderr?: boolean }, { url: string }];
  PortForward: [{ podSandboxId: string; port: number[] }, { url: string }];
  ContainerStats: [{ containerId: string }, { stats: CriContainerStats | null }];
  ListContainerStats: [{ filter?: { id?: string; podSandboxId?: string; labelSelector?: Map } }, { stats: CriContainerStats[] }];
  ListImages: [{ filter?: { image?: CriImageSpec } }, { images: CriImage[] }];
  ImageStatus: [{ image: CriImageSpec; verbose?: boolean }, { image: CriImage | null; info: Map }];
  PullImage: [{ image: CriImageSpec; auth?: Record<string, string>; sandboxConfig?: CriPodSandboxConfig }, { imageRef: string }];
  RemoveImage: [{ image: CriImageSpec }, object];
  ImageFsInfo: [object, { imageFilesystems: CriFilesystemUsage[]; containerFilesystems: CriFilesystemUsage[] }];
}

const IMAGE_CALLS = new Set(["ListImages", "ImageStatus", "PullImage", "RemoveImage", "ImageFsInfo"]);

const GRPC_TO_RUNTIME: Partial<Record<number, RuntimeErrorCode>> = {
  [grpc.status.NOT_FOUND]: "NotFound",
  [grpc.status.ALREADY_EXISTS]: "AlreadyExists",
  [grpc.status.INVALID_ARGUMENT]: "InvalidArgument",
  [grpc.status.FAILED_PRECONDITION]: "FailedPrecondition",
  [grpc.status.DEADLINE_EXCEEDED]: "DeadlineExceeded",
  [grpc.status.UNAVAILABLE]: "Unavailable",
};

const DECODE_OPTIONS: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, arrays: true, objects: true };

export interface CriClientOptions {
  /** Default per-call deadline in ms (pulls get `pullTimeoutMs`). */
  timeoutMs?: number;
  pullTimeoutMs?: number;
}

export class CriClient {
  private readonly client: grpc.Client;
  private readonly timeoutMs: number;
  private readonly pullTimeoutMs: number;

  /** `socket` is the path of the runtime's unix socket. */
  constructor(readonly socket: string, opts: CriClientOptions = {}) {
    this.client = new grpc.Client(`unix:${socket}`, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": 16 * 1024 * 1024,
      "grpc.max_send_message_length": 16 * 1024 * 1024,
    });
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.pullTimeoutMs = opts.pullTimeoutMs ?? 10 * 60_000;
  }

  /** One unary call; gRPC failures become RuntimeError with a mapped code. */
  call<M extends keyof CriCalls>(method: M, request: CriCalls[M][0], timeoutMs?: number): Promise<CriCalls[M][1]> {
    const root = criRoot();
    const service = IMAGE_CALLS.has(method) ? "ImageService" : "RuntimeService";
    const reqType = root.lookupType(`runtime.v1.${method}Request`);
    const resType = root.lookupType(`runtime.v1.${method}Response`);
    const serialize = (value: object): Buffer => {
      const message = reqType.fromObject(value as Record<string, unknown>);
      return Buffer.from(reqType.encode(message).finish());
    };
    const deserialize = (bytes: Buffer): CriCalls[M][1] => resType.toObject(resType.decode(bytes), DECODE_OPTIONS) as CriCalls[M][1];
    const deadline = Date.now() + (timeoutMs ?? (method === "PullImage" ? this.pullTimeoutMs : this.timeoutMs));
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        `/runtime.v1.${service}/${method}`,
        serialize,
        deserialize,
        request as object,
        new grpc.Metadata(),
        { deadline },
        (err, value) => {
          if (err) {
            const code = GRPC_TO_RUNTIME[err.code] ?? "Unknown";
            reject(new RuntimeError(code, `CRI ${method}: ${err.details || err.message}`));
          } else resolve(value as CriCalls[M][1]);
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}
