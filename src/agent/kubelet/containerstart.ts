// Starting one container instance, the kubelet's startContainer steps
// (https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy,
// https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-states):
// make the image present per imagePullPolicy (with imagePullSecrets, and the
// ImagePullBackOff delay after a failed pull), check runAsNonRoot, resolve the
// environment and command, gather mounts (volumes, the kubelet-managed /etc/hosts, the
// termination message file), create and start through CRI, then run the postStart hook.
// Every failure becomes the container's waiting reason with the kubelet's wording.

import type { KObject } from "../../apimachinery/types.js";
import { qualifyImage } from "../containerd.js";
import type { ContainerConfig, ContainerRuntime, ImageAuth, ImageInfo, Mount, PodSandboxConfig } from "../runtime/types.js";
import type { Client } from "../../client/types.js";
import type { EventType } from "../../client/events.js";
import { formatGoDuration, RestartBackoff } from "./backoff.js";
import { containerResources, containerSecurity, verifyRunAsNonRoot } from "./containerconfig.js";
import { ContainerConfigError, expandCommand, resolveEnv, type EnvContext, type EnvVar } from "./env.js";
import { runPostStart } from "./hooks.js";
import { imagePullAuth } from "./pullsecrets.js";
import type { ContainerRecord } from "./status.js";
import { createTerminationMessageFile, DEFAULT_TERMINATION_MESSAGE_PATH } from "./termination.js";

export const CONTAINER_NAME_LABEL = "tugboat.io/container-name";
export const CONTAINER_KIND_LABEL = "tugboat.io/container-kind";

/** What the worker keeps about a container beyond what status shows. */
export interface ContainerInstance extends ContainerRecord {
  /** The environment the current instance was started with (exec probe/hook $(VAR)). */
  env?: EnvVar[];
  /** Host path of the current instance's termination message file. */
  termFile?: string;
  /** Container ID whose terminated message was already read. */
  messageFor?: string;
  /** Container ID whose BackOff event was already emitted. */
  backoffEventFor?: string;
  /** Last event message emitted for a start failure (no repeats each sync). */
  lastFailure?: string;
  /** When the last image pull failed (ImagePullBackOff is measured from it). */
  pullFailedAt?: number;
}

/** Volume plumbing the worker needs (K2's VolumeManager satisfies it). */
export interface PodVolumes {
  /** Idempotent; throws an Error with .reason (e.g. "FailedMount") while not ready. */
  setUp(pod: KObject): Promise<void>;
  /** CRI mounts for the container's volumeMounts. */
  mountsFor(pod: KObject, container: any): Mount[];
  tearDown(podUID: string): Promise<void>;
}

/** imagePullPolicy default: Always for ":latest" or untagged images, else IfNotPresent. */
export function pullPolicyOf(c: any): "Always" | "IfNotPresent" | "Never" {
  if (c.imagePullPolicy === "Always" || c.imagePullPolicy === "IfNotPresent" || c.imagePullPolicy === "Never") return c.imagePullPolicy;
  const img: string = c.image ?? "";
  if (img.includes("@")) return "IfNotPresent";
  const last = img.slice(img.lastIndexOf("/") + 1);
  return !last.includes(":") || last.endsWith(":latest") ? "Always" : "IfNotPresent";
}

export interface StartContext {
  pod: KObject;
  runtime: ContainerRuntime;
  client: Client;
  sandboxId: string;
  sandboxConfig: PodSandboxConfig;
  podIP: string;
  /** The kubelet's directory for this pod (termination files). */
  podDirectory: string;
  /** Host path of the pod's managed /etc/hosts, when it has one. */
  hostsFile?: string;
  env: EnvContext;
  volumes?: PodVolumes;
  pullBackoff: RestartBackoff;
  memoryCapacityBytes: number;
  /** `container` makes the event's fieldPath spec.containers{name} (or initContainers). */
  event(type: EventType, reason: string, message: string, container?: string): void;
  /** Kills a container whose postStart hook failed. */
  kill(id: string, message: string): Promise<void>;
  kind: "init" | "app";
}

const errMsg = (e: unknown): string => String((e as Error)?.message ?? e);

function fail(ctx: StartContext, r: ContainerInstance, reason: string, message: string, eventReason: string, eventMessage: string): void {
  r.waiting = { reason, message };
  if (r.lastFailure !== eventMessage) {
    r.lastFailure = eventMessage;
    ctx.event("Warning", eventReason, eventMessage, r.name);
  }
}

async function ensureImage(ctx: StartContext, c: any, r: ContainerInstance): Promise<ImageInfo | null> {
  const rt = ctx.runtime;
  const image = qualifyImage(String(c.image ?? ""));
  const policy = pullPolicyOf(c);
  // imageStatus first: pullImage always contacts the registry.
  let info = policy === "Always" ? null : await rt.imageStatus(image);
  if (info) {
    ctx.event("Normal", "Pulled", `Container image "${c.image}" already present on machine`, c.name);
    return info;
  }
  if (policy === "Never") {
    fail(ctx, r, "ErrImageNeverPull", `Container image "${c.image}" is not present with pull policy of Never`, "ErrImageNeverPull", `Container image "${c.image}" is not present with pull policy of Never`);
    return null;
  }
  const key = RestartBackoff.key(ctx.pod.metadata.uid!, `image:${c.image}`);
  if (r.pullFailedAt !== undefined) {
    const { waitMs } = ctx.pullBackoff.remaining(key, r.pullFailedAt);
    if (waitMs > 0) {
      r.waiting = { reason: "ImagePullBackOff", message: `Back-off pulling image "${c.image}"` };
      return null;
    }
  }
  const t0 = Date.now();
  ctx.event("Normal", "Pulling", `Pulling image "${c.image}"`, c.name);
  try {
    const auth: ImageAuth | undefined = await imagePullAuth(ctx.client, ctx.pod, image);
    await rt.pullImage(image, auth, ctx.sandboxConfig);
    info = await rt.imageStatus(image);
  } catch (err) {
    r.pullFailedAt = Date.now();
    ctx.pullBackoff.next(key, r.pullFailedAt);
    fail(ctx, r, "ErrImagePull", errMsg(err), "Failed", `Failed to pull image "${c.image}": ${errMsg(err)}`);
    return null;
  }
  r.pullFailedAt = undefined;
  const took = formatGoDuration(Date.now() - t0);
  ctx.event("Normal", "Pulled", `Successfully pulled image "${c.image}" in ${took} (${took} including waiting)`, c.name);
  return info;
}

/** Creates and starts a new instance of container `c`; on failure leaves a waiting reason in `r`. */
export async function startContainerInstance(ctx: StartContext, c: any, r: ContainerInstance): Promise<void> {
  const rt = ctx.runtime;
  const pod = ctx.pod;
  r.image = c.image;
  const info = await ensureImage(ctx, c, r);
  if (!info) return;
  r.imageID = info.repoDigests[0] ?? info.id ?? "";

  let env: EnvVar[];
  try {
    verifyRunAsNonRoot(pod, c, info);
    env = await resolveEnv(pod, c, ctx.env);
  } catch (err) {
    if (!(err instanceof ContainerConfigError)) throw err;
    fail(ctx, r, "CreateContainerConfigError", err.message, "Failed", `Error: ${err.message}`);
    return;
  }

  const mounts: Mount[] = [];
  try {
    mounts.push(...(ctx.volumes?.mountsFor(pod, c) ?? []));
  } catch (err) {
    fail(ctx, r, "CreateContainerConfigError", errMsg(err), "Failed", `Error: ${errMsg(err)}`);
    return;
  }
  const mounted = new Set(mounts.map((m) => m.containerPath));
  if (ctx.hostsFile && !mounted.has("/etc/hosts")) mounts.push({ containerPath: "/etc/hosts", hostPath: ctx.hostsFile });
  const termPath = String(c.terminationMessagePath || DEFAULT_TERMINATION_MESSAGE_PATH);
  let termFile: string | undefined;
  if (!mounted.has(termPath)) {
    termFile = await createTerminationMessageFile(ctx.podDirectory, c.name);
    mounts.push({ containerPath: termPath, hostPath: termFile });
  }

  const cfg: ContainerConfig = {
    name: c.name,
    attempt: r.restartCount,
    image: qualifyImage(String(c.image ?? "")),
    command: expandCommand(c.command, env),
    args: expandCommand(c.args, env),
    workingDir: c.workingDir || undefined,
    env,
    mounts,
    labels: { "tugboat.io/pod-uid": pod.metadata.uid!, [CONTAINER_NAME_LABEL]: c.name, [CONTAINER_KIND_LABEL]: ctx.kind },
    annotations: {
      "io.kubernetes.container.terminationMessagePath": termPath,
      "io.kubernetes.container.terminationMessagePolicy": String(c.terminationMessagePolicy ?? "File"),
      "io.kubernetes.container.restartCount": String(r.restartCount),
    },
    logPath: `${c.name}/${r.restartCount}.log`,
    tty: c.tty === true,
    stdin: c.stdin === true,
    stdinOnce: c.stdinOnce === true,
    resources: containerResources(pod, c, ctx.memoryCapacityBytes),
    securityContext: containerSecurity(pod, c),
  };
  let id: string | undefined;
  try {
    id = await rt.createContainer(ctx.sandboxId, cfg, ctx.sandboxConfig);
  } catch (err) {
    fail(ctx, r, "CreateContainerError", errMsg(err), "Failed", `Error: ${errMsg(err)}`);
    return;
  }
  ctx.event("Normal", "Created", `Created container: ${c.name}`, c.name);
  try {
    await rt.startContainer(id);
  } catch (err) {
    await rt.removeContainer(id).catch(() => {});
    fail(ctx, r, "RunContainerError", errMsg(err), "Failed", `Error: ${errMsg(err)}`);
    return;
  }
  ctx.event("Normal", "Started", `Started container ${c.name}`, c.name);
  r.id = id;
  r.env = env;
  r.termFile = termFile;
  r.waiting = undefined;
  r.lastFailure = undefined;
  r.message = undefined;
  r.reason = undefined;
  r.ready = undefined;
  r.started = undefined;
  const hook = await runPostStart(pod.metadata, { runtime: rt, containerId: id, container: c, podIP: ctx.podIP, env });
  if (!hook.ok) {
    ctx.event("Warning", "FailedPostStartHook", hook.message!, c.name);
    await ctx.kill(id, hook.message!);
    // Until the next sync handles the exit (restart policy, back-off), the start failed with PostStartHookError.
    r.waiting = { reason: "PostStartHookError", message: hook.message };
    r.message = hook.message;
  }
  r.status = await rt.containerStatus(id);
}
