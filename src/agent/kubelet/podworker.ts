// The kubelet's per-pod worker, after the upstream pod workers
// (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/ and the CRI design,
// https://kubernetes.io/docs/concepts/architecture/cri/): one worker per pod UID runs
// every sync of that pod one at a time. A sync makes the runtime match the spec — a
// sandbox (network namespace, pod IP, cgroup parent), then the containers in spec order
// — applies the restartPolicy to exited containers, and reports PodStatus. A pod with a
// deletionTimestamp is killed within its grace period ("Termination of Pods") and then
// removed from the API with grace 0, as the kubelet does once it has stopped everything.

import { readdir, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { KObject } from "../../apimachinery/types.js";
import { deepCopy, nowRFC3339 } from "../../apimachinery/types.js";
import { isStatusError } from "../../apimachinery/errors.js";
import type { Client } from "../../client/types.js";
import type { Logger } from "../../client/runnable.js";
import { isNotFound, type ContainerConfig, type ContainerRuntime, type PodSandboxConfig } from "../runtime/types.js";
import { qualifyImage } from "../containerd.js";
import { buildPodStatus, canonicalJSON, shouldRestart, terminatedFrom, type ContainerRecord, type RestartPolicy } from "./status.js";

export const POD_UID_LABEL = "tugboat.io/pod-uid";
export const POD_NAME_LABEL = "tugboat.io/pod-name";
export const POD_NAMESPACE_LABEL = "tugboat.io/pod-namespace";
export const CONTAINER_NAME_LABEL = "tugboat.io/container-name";

export interface PodWorkerDeps {
  client: Client;
  runtime: ContainerRuntime;
  hostIP: string;
  /** Pod log directories go under DATA/pods. */
  dataDir: string;
  log: Logger;
}

const errMsg = (e: unknown): string => String((e as Error)?.message ?? e);

/** imagePullPolicy default: Always for ":latest" or untagged images, else IfNotPresent. */
export function pullPolicyOf(c: any): "Always" | "IfNotPresent" | "Never" {
  if (c.imagePullPolicy === "Always" || c.imagePullPolicy === "IfNotPresent" || c.imagePullPolicy === "Never") return c.imagePullPolicy;
  const img: string = c.image ?? "";
  if (img.includes("@")) return "IfNotPresent";
  const last = img.slice(img.lastIndexOf("/") + 1);
  return !last.includes(":") || last.endsWith(":latest") ? "Always" : "IfNotPresent";
}

export class PodWorker {
  private pod: KObject;
  private sandboxId: string | undefined;
  private sandboxConfig: PodSandboxConfig | undefined;
  private sandboxAttempt = 0;
  private podIP = "";
  private startTime: string | undefined;
  private records = new Map<string, ContainerRecord>();
  private podMessage: { reason: string; message: string } | undefined;
  private running = false;
  private dirty = false;
  private idle: Promise<void> = Promise.resolve();
  /** Set once the pod is gone (deleted through the API or torn down). */
  done = false;
  /** Terminal phase reached: containers stay down, only deletion is handled. */
  private finished = false;

  constructor(
    pod: KObject,
    private readonly deps: PodWorkerDeps,
  ) {
    this.pod = pod;
  }

  get uid(): string {
    return this.pod.metadata.uid!;
  }

  /** New state from the informer; a sync follows. */
  update(pod: KObject): void {
    this.pod = pod;
    this.kick();
  }

  /** Schedules a sync; syncs of one pod never overlap (a request during one reruns it). */
  kick(): Promise<void> {
    if (this.done) return this.idle;
    if (this.running) {
      this.dirty = true;
      return this.idle;
    }
    this.running = true;
    this.idle = (async () => {
      try {
        do {
          this.dirty = false;
          try {
            await this.sync();
          } catch (err) {
            this.deps.log.error("pod sync failed", { pod: this.key(), error: errMsg(err) });
          }
        } while (this.dirty && !this.done);
      } finally {
        this.running = false;
      }
    })();
    return this.idle;
  }

  /** The pod vanished from the API: stop and remove whatever runs for it, at once. */
  async teardown(): Promise<void> {
    await this.idle;
    this.done = true;
    await this.killPod(0);
  }

  private key(): string {
    return `${this.pod.metadata.namespace}/${this.pod.metadata.name}`;
  }

  private async sync(): Promise<void> {
    const pod = this.pod;
    if (pod.metadata.deletionTimestamp) {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      await this.killPod(grace);
      this.done = true;
      try {
        await this.deps.client.delete("v1/pods", pod.metadata.namespace, pod.metadata.name ?? "", { gracePeriodSeconds: 0, preconditions: { uid: this.uid } });
      } catch (err) {
        if (!(isStatusError(err) && (err.code === 404 || err.code === 409))) {
          this.done = false; // retry on the next tick
          throw err;
        }
      }
      this.deps.log.info("pod deleted", { pod: this.key() });
      return;
    }
    if (this.finished) return;
    this.startTime ??= pod.status?.startTime ?? nowRFC3339();
    const policy: RestartPolicy = pod.spec?.restartPolicy ?? "Always";
    const specs: any[] = pod.spec?.containers ?? [];

    if (await this.ensureSandbox()) {
      for (const c of specs) {
        let r = this.records.get(c.name);
        if (!r) {
          r = { name: c.name, image: c.image, restartCount: 0 };
          this.records.set(c.name, r);
        }
        if (r.id) {
          try {
            r.status = await this.deps.runtime.containerStatus(r.id);
          } catch (err) {
            if (!isNotFound(err)) throw err;
            r.id = undefined;
            r.status = undefined;
          }
        }
        if (r.status?.state === "Exited" && shouldRestart(policy, r.status.exitCode)) {
          r.lastTerminated = terminatedFrom(r.status);
          await this.deps.runtime.removeContainer(r.id!);
          r.id = undefined;
          r.status = undefined;
          r.restartCount++;
        }
        if (!r.id) await this.startContainer(c, r);
      }
    }

    const records = specs.map((c) => this.records.get(c.name) ?? { name: c.name, image: c.image, restartCount: 0 });
    const status = buildPodStatus({
      records,
      restartPolicy: policy,
      podIP: this.podIP,
      hostIP: this.deps.hostIP,
      startTime: this.startTime!,
      previous: pod.status,
      podMessage: this.podMessage,
    });
    if (status.phase === "Succeeded" || status.phase === "Failed") {
      // A finished pod keeps its record in the API but gives back its IP and processes.
      this.finished = true;
      if (this.sandboxId) await this.deps.runtime.stopPodSandbox(this.sandboxId);
    }
    if (canonicalJSON(status) !== canonicalJSON(pod.status ?? {})) {
      const next = deepCopy(pod);
      next.status = status;
      try {
        const written = await this.deps.client.updateStatus("v1/pods", next);
        // Our own write is the newest state unless the informer already has a newer one.
        if (this.pod === pod) this.pod = written;
      } catch (err) {
        if (isStatusError(err) && (err.code === 409 || err.code === 404)) return; // the informer brings the newer pod
        throw err;
      }
    }
  }

  /** Makes sure a Ready sandbox exists (adopting one left by an earlier agent run); false if it could not. */
  private async ensureSandbox(): Promise<boolean> {
    const rt = this.deps.runtime;
    if (this.sandboxId) {
      try {
        const st = await rt.podSandboxStatus(this.sandboxId);
        if (st.state === "Ready") return true;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      // The sandbox died: its containers went with it; start over with a new attempt.
      await rt.removePodSandbox(this.sandboxId);
      this.sandboxId = undefined;
      this.sandboxAttempt++;
      for (const r of this.records.values()) {
        r.id = undefined;
        r.status = undefined;
      }
    } else if (await this.adopt()) {
      return true;
    }
    const m = this.pod.metadata;
    const name = m.name ?? "";
    const cfg: PodSandboxConfig = {
      metadata: { name, namespace: m.namespace ?? "default", uid: m.uid!, attempt: this.sandboxAttempt },
      hostname: String(this.pod.spec?.hostname ?? m.name ?? "").slice(0, 63),
      logDirectory: join(this.deps.dataDir, "pods", `${m.namespace}_${m.name}_${m.uid}`),
      labels: { [POD_UID_LABEL]: m.uid!, [POD_NAME_LABEL]: name, [POD_NAMESPACE_LABEL]: m.namespace ?? "default" },
      annotations: { ...(m.annotations ?? {}) },
      cgroupParent: `/tugboat/pod${m.uid}`,
    };
    try {
      this.sandboxId = await rt.runPodSandbox(cfg);
      this.sandboxConfig = cfg;
      const st = await rt.podSandboxStatus(this.sandboxId);
      this.podIP = st.ip;
      this.podMessage = undefined;
      this.deps.log.info("sandbox started", { pod: this.key(), id: this.sandboxId, ip: this.podIP });
      return true;
    } catch (err) {
      this.podMessage = { reason: "FailedCreatePodSandBox", message: errMsg(err) };
      this.deps.log.error("sandbox start failed", { pod: this.key(), error: errMsg(err) });
      return false;
    }
  }

  /** Picks up a Ready sandbox of this pod UID and the newest instance of each container in it. */
  private async adopt(): Promise<boolean> {
    const rt = this.deps.runtime;
    const found = await rt.listPodSandboxes({ labelSelector: { [POD_UID_LABEL]: this.uid } });
    const ready = found.filter((s) => s.state === "Ready").sort((a, b) => b.metadata.attempt - a.metadata.attempt)[0];
    for (const s of found) {
      if (s !== ready) await rt.removePodSandbox(s.id);
      this.sandboxAttempt = Math.max(this.sandboxAttempt, s.metadata.attempt + 1);
    }
    if (!ready) return false;
    const m = this.pod.metadata;
    this.sandboxId = ready.id;
    this.sandboxAttempt = ready.metadata.attempt;
    this.sandboxConfig = {
      metadata: ready.metadata,
      hostname: String(this.pod.spec?.hostname ?? m.name ?? "").slice(0, 63),
      logDirectory: join(this.deps.dataDir, "pods", `${m.namespace}_${m.name}_${m.uid}`),
      labels: ready.labels,
      annotations: ready.annotations,
      cgroupParent: `/tugboat/pod${m.uid}`,
    };
    this.podIP = (await rt.podSandboxStatus(ready.id)).ip;
    for (const c of await rt.listContainers({ podSandboxId: ready.id })) {
      const prev = this.records.get(c.name);
      if (prev?.id && prev.restartCount >= c.attempt) continue;
      const spec = (this.pod.spec?.containers ?? []).find((x: any) => x.name === c.name);
      this.records.set(c.name, { name: c.name, image: spec?.image ?? c.image, id: c.id, restartCount: c.attempt, imageID: c.imageRef });
    }
    return true;
  }

  /** Image per pull policy, then create + start; failures become a waiting reason. */
  private async startContainer(c: any, r: ContainerRecord): Promise<void> {
    const rt = this.deps.runtime;
    const image = qualifyImage(String(c.image ?? ""));
    r.image = c.image;
    const policy = pullPolicyOf(c);
    try {
      // imageStatus first: pullImage always contacts the registry.
      let info = policy === "Always" ? null : await rt.imageStatus(image);
      if (!info) {
        if (policy === "Never") {
          r.waiting = { reason: "ErrImageNeverPull", message: `image "${c.image}" is not present with pull policy of Never` };
          return;
        }
        await rt.pullImage(image, undefined, this.sandboxConfig);
        info = await rt.imageStatus(image);
      }
      r.imageID = info?.repoDigests[0] ?? info?.id ?? "";
    } catch (err) {
      r.waiting = { reason: "ErrImagePull", message: errMsg(err) };
      return;
    }
    const cfg: ContainerConfig = {
      name: c.name,
      attempt: r.restartCount,
      image,
      command: Array.isArray(c.command) ? c.command : undefined,
      args: Array.isArray(c.args) ? c.args : undefined,
      workingDir: c.workingDir || undefined,
      // Only literal values for now; valueFrom (fieldRef, secrets, config maps) is not resolved.
      env: (c.env ?? []).filter((e: any) => typeof e?.name === "string" && e.valueFrom === undefined).map((e: any) => ({ name: e.name, value: String(e.value ?? "") })),
      labels: { [POD_UID_LABEL]: this.uid, [CONTAINER_NAME_LABEL]: c.name },
      logPath: `${c.name}/${r.restartCount}.log`,
      tty: c.tty === true,
      stdin: c.stdin === true,
    };
    let id: string | undefined;
    try {
      id = await rt.createContainer(this.sandboxId!, cfg, this.sandboxConfig!);
      await rt.startContainer(id);
      r.id = id;
      r.waiting = undefined;
      r.status = await rt.containerStatus(id);
    } catch (err) {
      r.waiting = { reason: id ? "RunContainerError" : "CreateContainerError", message: errMsg(err) };
      if (id) await rt.removeContainer(id).catch(() => {});
      this.deps.log.error("container start failed", { pod: this.key(), container: c.name, error: errMsg(err) });
    }
  }

  /** Stops every container within `grace` seconds, then stops and removes the sandbox(es). */
  private async killPod(grace: number): Promise<void> {
    const rt = this.deps.runtime;
    const ids = [...this.records.values()].map((r) => r.id).filter((x): x is string => !!x);
    await Promise.all(ids.map((id) => rt.stopContainer(id, grace).catch((err) => this.deps.log.error("stop container failed", { id, error: errMsg(err) }))));
    const sandboxes = new Set<string>();
    if (this.sandboxId) sandboxes.add(this.sandboxId);
    for (const s of await rt.listPodSandboxes({ labelSelector: { [POD_UID_LABEL]: this.uid } })) sandboxes.add(s.id);
    for (const id of sandboxes) {
      await rt.stopPodSandbox(id);
      await rt.removePodSandbox(id);
    }
    this.sandboxId = undefined;
    this.records.clear();
    await removePodCgroup(this.uid);
  }
}

export const CGROUP_ROOT = "/sys/fs/cgroup";

/**
 * The pod-level cgroup (cgroupParent /tugboat/pod<uid>) outlives its containers: runc only
 * removes the container cgroups below it. Like the kubelet's pod container manager we
 * delete it once the pod's sandboxes are gone, in every hierarchy (v1 controllers and the
 * unified one). Best effort: missing directories and non-Linux hosts are fine.
 */
export async function removePodCgroup(uid: string, root = CGROUP_ROOT): Promise<void> {
  let hierarchies: string[];
  try {
    hierarchies = await readdir(root);
  } catch {
    return;
  }
  await Promise.all(
    hierarchies.map(async (h) => {
      // The shim may still be removing the last container cgroup below: retry briefly.
      for (let i = 0; i < 20; i++) {
        try {
          await rmdir(join(root, h, "tugboat", `pod${uid}`));
          return;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== "EBUSY" && code !== "ENOTEMPTY") return;
          await sleep(100);
        }
      }
    }),
  );
}
