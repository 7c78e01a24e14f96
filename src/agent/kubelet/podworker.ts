// The kubelet's per-pod worker, after the upstream pod workers and syncPod
// (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/ and the CRI design,
// https://kubernetes.io/docs/concepts/architecture/cri/): one worker per pod UID runs
// every sync of that pod one at a time. A sync makes the runtime match the spec —
// volumes, a sandbox (network namespace, pod IP, DNS, cgroup parent), init containers
// one after another, then the app containers — applies the restartPolicy with the
// CrashLoopBackOff delay to exited containers, kills containers whose liveness/startup
// probe failed, and reports PodStatus. A pod with a deletionTimestamp is killed within
// its grace period (preStop hooks, SIGTERM, SIGKILL; "Termination of Pods") and then
// removed from the API with grace 0, as the kubelet does once it has stopped everything.
// Concept files: sandboxconfig, containerstart (+ env, containerconfig, pullsecrets),
// probes, hooks, termination, backoff, status.

import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { KObject } from "../../apimachinery/types.js";
import { deepCopy, nowRFC3339 } from "../../apimachinery/types.js";
import { isStatusError } from "../../apimachinery/errors.js";
import { podQOSClass } from "../../api/core-pod.js";
import type { Client } from "../../client/types.js";
import type { Logger } from "../../client/runnable.js";
import type { EventRecorder, EventType } from "../../client/events.js";
import { isNotFound, type ContainerRuntime, type PodSandboxConfig } from "../runtime/types.js";
import { crashLoopMessage, RestartBackoff } from "./backoff.js";
import { adoptSandbox, reportedStatus } from "./adoption.js";
import { startContainerInstance, type ContainerInstance, type PodVolumes, type StartContext } from "./containerstart.js";
import type { EnvContext } from "./env.js";
import { runPreStop } from "./hooks.js";
import { PodProber } from "./probes.js";
import { removePodCgroup, removePodFiles } from "./podcleanup.js";
import { podHostsFile, podSandboxConfig, POD_UID_LABEL, type ClusterDNSOptions } from "./sandboxconfig.js";
import { buildPodStatus, canonicalJSON, shouldRestart, shouldRestartInit, terminatedFrom, type RestartPolicy } from "./status.js";
import { DEFAULT_TERMINATION_MESSAGE_PATH, podDir, remainingGrace, removeTerminationMessageFile, terminationMessage } from "./termination.js";

export { POD_UID_LABEL, POD_NAME_LABEL, POD_NAMESPACE_LABEL } from "./sandboxconfig.js";
export { CGROUP_ROOT, removePodCgroup, removePodFiles } from "./podcleanup.js";
export { CONTAINER_NAME_LABEL, pullPolicyOf, type PodVolumes } from "./containerstart.js";

export interface PodWorkerDeps {
  client: Client;
  runtime: ContainerRuntime;
  hostIP: string;
  /** Pod log directories go under DATA/pods. */
  dataDir: string;
  log: Logger;
  /** Cluster DNS for sandboxes; default 10.43.0.10 / cluster.local / the host's /etc/resolv.conf. */
  dns: ClusterDNSOptions;
  /** Container restart back-off (shared by the node's workers). */
  backoff: RestartBackoff;
  /** Image pull back-off (ImagePullBackOff). */
  pullBackoff: RestartBackoff;
  /** Node allocatable: default limits for resourceFieldRef; memory capacity for oom_score_adj. */
  allocatable: { cpuMillis: number; memoryBytes: number };
  volumes?: PodVolumes;
  events?: EventRecorder;
}

const errMsg = (e: unknown): string => String((e as Error)?.message ?? e);

export class PodWorker {
  private pod: KObject;
  private sandboxId: string | undefined;
  private sandboxConfig: PodSandboxConfig | undefined;
  private sandboxAttempt = 0;
  private podIP = "";
  private startTime: string | undefined;
  private records = new Map<string, ContainerInstance>();
  private initRecords = new Map<string, ContainerInstance>();
  private initialized = false;
  private podMessage: { reason: string; message: string } | undefined;
  private sandboxError: string | undefined;
  /** Grace period of the termination in progress. */
  private terminatingGrace: number | undefined;
  private volumeMessage: string | undefined;
  private running = false;
  private dirty = false;
  private idle: Promise<void> = Promise.resolve();
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = 0;
  private readonly prober: PodProber;
  /** Set once the pod is gone (deleted through the API or torn down). */
  done = false;
  /** Terminal phase reached: containers stay down, only deletion is handled. */
  private finished = false;
  /** The terminal status until it is in the API. */
  private finalStatus: Record<string, any> | undefined;

  constructor(
    pod: KObject,
    private readonly deps: PodWorkerDeps,
  ) {
    this.pod = pod;
    this.prober = new PodProber({
      runtime: deps.runtime,
      onChange: () => void this.kick(),
      onFailure: (name, kind, output) => this.event("Warning", "Unhealthy", PodProber.eventMessage(kind, output), name),
    });
  }

  get uid(): string {
    return this.pod.metadata.uid!;
  }

  /** New state from the informer; a sync follows. */
  update(pod: KObject): void {
    this.pod = pod;
    // A second delete with a shorter grace period shortens a termination in progress.
    const grace = pod.metadata.deletionGracePeriodSeconds;
    if (this.terminatingGrace !== undefined && typeof grace === "number" && grace < this.terminatingGrace) {
      this.terminatingGrace = grace;
      for (const r of [...this.initRecords.values(), ...this.records.values()]) if (r.id) void this.deps.runtime.stopContainer(r.id, grace).catch(() => {});
    }
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

  /** The kubelet stops: no more syncs, probes or timers; the containers keep running. */
  stop(): void {
    this.done = true;
    this.prober.stop();
    clearTimeout(this.wakeTimer);
  }

  /** The pod vanished from the API: stop and remove whatever runs for it, at once. */
  async teardown(): Promise<void> {
    // A graceful kill in progress is cut short: the pod is gone from the API (force deletion).
    if (this.running) {
      for (const r of [...this.initRecords.values(), ...this.records.values()]) if (r.id) void this.deps.runtime.stopContainer(r.id, 0).catch(() => {});
    }
    await this.idle;
    this.done = true;
    await this.killPod(0);
  }

  private key(): string {
    return `${this.pod.metadata.namespace}/${this.pod.metadata.name}`;
  }

  private event(type: EventType, reason: string, message: string, container?: string): void {
    this.deps.events?.event(this.pod, type, reason, message, container ? containerFieldPath(this.pod, container) : undefined);
  }

  /** A sync at `ms` from now (back-off expiry), keeping the earliest request. */
  private wakeIn(ms: number): void {
    const at = Date.now() + Math.max(10, ms);
    if (this.wakeTimer && this.wakeAt > Date.now() && this.wakeAt <= at) return;
    clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      void this.kick();
    }, at - Date.now());
    this.wakeTimer.unref?.();
  }

  private async sync(): Promise<void> {
    const pod = this.pod;
    if (pod.metadata.deletionTimestamp) {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      this.terminatingGrace = grace;
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
    if (!this.finished && (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed")) {
      // Terminal in the API (e.g. reported before an agent restart): never run again.
      this.finished = true;
      this.prober.stop();
      for (const sb of await this.deps.runtime.listPodSandboxes({ labelSelector: { [POD_UID_LABEL]: this.uid } })) await this.deps.runtime.stopPodSandbox(sb.id);
    }
    if (this.finished) {
      // The terminal status lost a write race: write it again over the newer pod.
      if (this.finalStatus && (await this.putStatus(pod, this.finalStatus))) this.finalStatus = undefined;
      return;
    }
    this.startTime ??= pod.status?.startTime ?? nowRFC3339();
    if (await this.deadlineExceeded()) return;
    const policy: RestartPolicy = pod.spec?.restartPolicy ?? "Always";
    const specs: any[] = pod.spec?.containers ?? [];
    const initSpecs: any[] = pod.spec?.initContainers ?? [];
    for (const c of specs) if (!this.records.has(c.name)) this.records.set(c.name, { name: c.name, image: c.image, restartCount: 0 });
    for (const c of initSpecs) if (!this.initRecords.has(c.name)) this.initRecords.set(c.name, { name: c.name, image: c.image, restartCount: 0 });
    for (const c of initSpecs) this.initRecords.get(c.name)!.sidecar = c.restartPolicy === "Always";
    const sidecars = initSpecs.filter((c) => c.restartPolicy === "Always");

    if ((await this.volumesReady()) && (await this.ensureSandbox())) {
      await this.refresh([...this.initRecords.values(), ...this.records.values()], initSpecs.concat(specs));
      if (!this.initialized) await this.syncInit(initSpecs, policy);
      if (this.initialized) {
        // Sidecars keep running (restarted whatever the pod's restartPolicy) beside the app containers.
        for (const c of sidecars) await this.syncContainer(c, this.initRecords.get(c.name)!, () => true, policy, "init");
        for (const c of specs) await this.syncContainer(c, this.records.get(c.name)!, shouldRestart, policy, "app");
      }
      const probed = [...sidecars.map((c) => ({ c, r: this.initRecords.get(c.name)! })), ...specs.map((c) => ({ c, r: this.records.get(c.name)! }))];
      this.prober.sync(
        probed
          .filter(({ r }) => r.id && r.status?.state === "Running")
          .map(({ c, r }) => ({ name: c.name, id: r.id!, startedAt: r.status!.startedAt, spec: c, env: r.env, seed: reportedStatus(this.pod, r.id!) })),
        this.podIP,
      );
      for (const { r } of probed) {
        r.started = r.id ? this.prober.started(r.name, r.id) : false;
        r.ready = r.id ? this.prober.ready(r.name, r.id) : false;
      }
    }
    await this.writeStatus(pod, policy, specs, initSpecs);
  }

  /**
   * spec.activeDeadlineSeconds: once the pod has been active that long the kubelet kills
   * its containers and fails it with reason DeadlineExceeded (activeDeadlineHandler).
   */
  private async deadlineExceeded(): Promise<boolean> {
    const ads = this.pod.spec?.activeDeadlineSeconds;
    if (typeof ads !== "number") return false;
    const left = Date.parse(this.startTime!) + ads * 1000 - Date.now();
    if (left > 0) {
      this.wakeIn(left);
      return false;
    }
    const grace = this.pod.spec?.terminationGracePeriodSeconds ?? 30;
    const specs = [...(this.pod.spec?.initContainers ?? []), ...(this.pod.spec?.containers ?? [])];
    this.prober.stop();
    await Promise.all(
      [...this.initRecords.values(), ...this.records.values()]
        .filter((r) => r.id && r.status?.state !== "Exited")
        .map((r) => this.killContainer(specs.find((c: any) => c.name === r.name), r, grace).catch(() => {})),
    );
    await this.refresh([...this.initRecords.values(), ...this.records.values()], specs);
    for (const r of [...this.initRecords.values(), ...this.records.values()]) r.waiting = r.status ? undefined : r.waiting;
    this.podMessage = { reason: "DeadlineExceeded", message: "Pod was active on the node longer than the specified deadline" };
    this.event("Normal", "DeadlineExceeded", this.podMessage.message);
    const policy: RestartPolicy = this.pod.spec?.restartPolicy ?? "Always";
    await this.writeStatus(this.pod, policy, this.pod.spec?.containers ?? [], this.pod.spec?.initContainers ?? [], true);
    return true;
  }

  /** Volumes first, as the kubelet waits for attach/mount before creating the sandbox. */
  private async volumesReady(): Promise<boolean> {
    if (!this.deps.volumes) return true;
    try {
      await this.deps.volumes.setUp(this.pod);
      this.volumeMessage = undefined;
      return true;
    } catch (err) {
      const msg = errMsg(err);
      if (this.volumeMessage !== msg) this.event("Warning", String((err as { reason?: string }).reason ?? "FailedMount"), msg);
      this.volumeMessage = msg;
      // A running pod keeps being synced (a refresh failing must not freeze its restarts and status).
      if (this.sandboxId) return true;
      for (const r of [...this.records.values(), ...this.initRecords.values()]) if (!r.id) r.waiting = { reason: "ContainerCreating", message: msg };
      return false;
    }
  }

  /** Latest runtime state of every known instance; reads termination messages of new exits. */
  private async refresh(recs: ContainerInstance[], specs: any[]): Promise<void> {
    for (const r of recs) {
      if (!r.id) continue;
      try {
        r.status = await this.deps.runtime.containerStatus(r.id);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        r.id = undefined;
        r.status = undefined;
        continue;
      }
    }
    await this.readTerminationMessages(recs, specs);
  }

  /**
   * The termination message of each container seen Exited, read once per instance. Also
   * run right before status is written: a container may exit between its start and the
   * end of the same sync (the status read after StartContainer already says Exited).
   */
  private async readTerminationMessages(recs: ContainerInstance[], specs: any[]): Promise<void> {
    for (const r of recs) {
      if (!r.id || r.status?.state !== "Exited" || r.messageFor === r.id) continue;
      r.messageFor = r.id;
      const spec = specs.find((s) => s.name === r.name);
      const path = String(spec?.terminationMessagePath || DEFAULT_TERMINATION_MESSAGE_PATH);
      r.termFile ??= r.status.mounts.find((m) => m.containerPath === path)?.hostPath;
      const msg = await terminationMessage({ file: r.termFile, policy: spec?.terminationMessagePolicy, exitCode: r.status.exitCode, logPath: r.status.logPath });
      if (msg !== undefined) r.message = msg;
    }
  }

  /**
   * Init containers strictly in order; each must exit 0 before the next starts. A sidecar
   * (restartPolicy Always, https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/)
   * only has to be running and started (its startup probe passed).
   */
  private async syncInit(initSpecs: any[], policy: RestartPolicy): Promise<void> {
    for (const c of initSpecs) {
      const r = this.initRecords.get(c.name)!;
      if (r.sidecar) {
        if (r.id && r.status?.state === "Running") {
          if (this.prober.started(c.name, r.id)) continue;
          if (!this.prober.known(c.name, r.id)) this.dirty = true; // registered with the prober at the end of this sync
          return;
        }
        await this.syncContainer(c, r, () => true, policy, "init");
        if (r.id) this.dirty = true;
        return;
      }
      if (r.status?.state === "Exited" && r.status.exitCode === 0 && !r.waiting) continue;
      if (r.status?.state === "Exited" && policy === "Never") return; // the pod fails
      await this.syncContainer(c, r, (p, code) => shouldRestartInit(p, code), policy, "init");
      return;
    }
    // Every init container was checked complete above (exited 0, or a started sidecar).
    this.initialized = true;
  }

  /** One container: kill on probe failure, restart with back-off when exited, start when absent. */
  private async syncContainer(c: any, r: ContainerInstance, restartRule: (p: RestartPolicy, code: number) => boolean, policy: RestartPolicy, kind: "init" | "app"): Promise<void> {
    const rt = this.deps.runtime;
    if (r.id && r.status?.state === "Running" && (kind === "app" || r.sidecar)) {
      const failure = this.prober.failure(c.name, r.id);
      if (failure) {
        const grace = failure.gracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30;
        await this.killContainer(c, r, grace, failure.message);
        r.message = failure.message;
        r.status = await rt.containerStatus(r.id);
      }
    }
    if (r.id && r.status?.state === "Running" && r.image !== c.image) {
      // The image is the one mutable container field: a new image means a new container.
      await this.killContainer(c, r, this.pod.spec?.terminationGracePeriodSeconds ?? 30, `Container ${c.name} definition changed, will be restarted`);
      r.lastTerminated = terminatedFrom(await rt.containerStatus(r.id));
      await rt.removeContainer(r.id);
      await removeTerminationMessageFile(r.termFile);
      Object.assign(r, { id: undefined, status: undefined, termFile: undefined, message: undefined, reason: undefined, waiting: undefined });
      r.restartCount++;
      await this.pruneLogs(c.name, r.restartCount);
    }
    if (r.id && r.status?.state === "Exited") {
      const st = r.status;
      if (!restartRule(policy, st.exitCode)) {
        r.waiting = undefined;
        return;
      }
      const key = RestartBackoff.key(this.uid, c.name);
      const { waitMs, delayMs } = this.deps.backoff.remaining(key, st.finishedAt, st.startedAt);
      r.lastTerminated = terminatedFrom(st, { message: r.message, reason: r.reason });
      if (waitMs > 0) {
        r.waiting = { reason: "CrashLoopBackOff", message: crashLoopMessage(delayMs, c.name, this.pod.metadata) };
        if (r.backoffEventFor !== r.id) {
          r.backoffEventFor = r.id;
          this.event("Warning", "BackOff", `Back-off restarting failed container ${c.name} in pod ${this.pod.metadata.name}_${this.pod.metadata.namespace}(${this.uid})`, c.name);
        }
        this.wakeIn(waitMs);
        return;
      }
      this.deps.backoff.next(key, st.finishedAt);
      await rt.removeContainer(r.id);
      await removeTerminationMessageFile(r.termFile);
      r.id = undefined;
      r.status = undefined;
      r.termFile = undefined;
      r.message = undefined;
      r.reason = undefined;
      r.restartCount++;
      await this.pruneLogs(c.name, r.restartCount);
    }
    if (r.id && r.status?.state === "Created") {
      // Created but never started (agent died in between): start over.
      await rt.removeContainer(r.id);
      r.id = undefined;
      r.status = undefined;
    }
    if (!r.id) {
      await startContainerInstance(this.startContext(kind), c, r);
      // Killed by a failed postStart hook and not to be restarted: it ends terminated, not waiting.
      if (r.status?.state === "Exited" && !restartRule(policy, r.status.exitCode)) r.waiting = undefined;
    }
  }

  private startContext(kind: "init" | "app"): StartContext {
    const env: EnvContext = { client: this.deps.client, hostIP: this.deps.hostIP, podIPs: this.podIP ? [this.podIP] : [], allocatable: this.deps.allocatable };
    const hostNet = this.pod.spec?.hostNetwork === true;
    return {
      pod: this.pod,
      runtime: this.deps.runtime,
      client: this.deps.client,
      sandboxId: this.sandboxId!,
      sandboxConfig: this.sandboxConfig!,
      podIP: this.podIP,
      podDirectory: podDir(this.deps.dataDir, this.uid),
      ...(hostNet ? {} : { hostsFile: join(podDir(this.deps.dataDir, this.uid), "etc-hosts") }),
      env,
      volumes: this.deps.volumes,
      pullBackoff: this.deps.pullBackoff,
      memoryCapacityBytes: this.deps.allocatable.memoryBytes,
      event: (t, reason, msg, container) => this.event(t, reason, msg, container),
      kill: async (id, message) => {
        this.event("Normal", "Killing", `${message}`);
        await this.deps.runtime.stopContainer(id, this.pod.spec?.terminationGracePeriodSeconds ?? 30);
      },
      kind,
    };
  }

  /**
   * Keeps the logs of the previous instance (kubectl logs --previous) and drops older
   * ones, as the kubelet's container GC does, so a crash-looping container does not fill
   * the disk.
   */
  private async pruneLogs(name: string, attempt: number): Promise<void> {
    if (!this.sandboxConfig || attempt < 2) return;
    await rm(join(this.sandboxConfig.logDirectory, name, `${attempt - 2}.log`), { force: true }).catch(() => {});
  }

  /** preStop within the grace period, then SIGTERM and SIGKILL after what is left of it. */
  private async killContainer(c: any, r: ContainerInstance, graceSeconds: number, why?: string): Promise<void> {
    if (!r.id) return;
    this.event("Normal", "Killing", why ?? `Stopping container ${c?.name}`, c?.name);
    let grace = graceSeconds;
    if (c?.lifecycle?.preStop && graceSeconds > 0) {
      const hook = await runPreStop(this.pod.metadata, { runtime: this.deps.runtime, containerId: r.id, container: c, podIP: this.podIP, env: r.env }, graceSeconds);
      if (!hook.ok) this.event("Warning", "FailedPreStopHook", hook.message!, c?.name);
      grace = remainingGrace(graceSeconds, hook.elapsedMs);
    }
    await this.deps.runtime.stopContainer(r.id, grace);
  }

  private async writeStatus(pod: KObject, policy: RestartPolicy, specs: any[], initSpecs: any[], failed = false): Promise<void> {
    const records = specs.map((c) => this.records.get(c.name)!);
    const initRecords = initSpecs.map((c) => this.initRecords.get(c.name)!);
    await this.readTerminationMessages([...initRecords, ...records].filter(Boolean), initSpecs.concat(specs));
    const status = buildPodStatus({
      records,
      initRecords,
      restartPolicy: policy,
      podIP: this.podIP,
      hostIP: this.deps.hostIP,
      startTime: this.startTime!,
      previous: pod.status,
      podMessage: this.podMessage,
      sandboxReady: !!this.sandboxId,
      // Without init containers a pod is initialized from the start.
      initialized: this.initialized || initSpecs.length === 0,
      readinessGates: (pod.spec?.readinessGates ?? []).map((g: any) => g?.conditionType).filter(Boolean),
      qosClass: podQOSClass(pod),
      failed,
    });
    if (status.phase === "Succeeded" || status.phase === "Failed") {
      // A finished pod keeps its record in the API but gives back its IP and processes.
      this.finished = true;
      this.finalStatus = status;
      this.prober.stop();
      clearTimeout(this.wakeTimer);
      if (this.sandboxId) await this.deps.runtime.stopPodSandbox(this.sandboxId);
    }
    if (await this.putStatus(pod, status)) this.finalStatus = undefined;
  }

  /** Writes `status` unless the API already has it; false when the pod changed under us (the informer brings it, a sync follows). */
  private async putStatus(pod: KObject, status: Record<string, any>): Promise<boolean> {
    if (canonicalJSON(status) === canonicalJSON(pod.status ?? {})) return true;
    const next = deepCopy(pod);
    next.status = status;
    try {
      const written = await this.deps.client.updateStatus("v1/pods", next);
      // Our own write is the newest state unless the informer already has a newer one.
      if (this.pod === pod) this.pod = written;
      return true;
    } catch (err) {
      if (isStatusError(err) && (err.code === 409 || err.code === 404)) return false;
      throw err;
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
      // The sandbox died: its containers went with it; start over with a new attempt (init containers again).
      await rt.removePodSandbox(this.sandboxId);
      this.sandboxId = undefined;
      this.sandboxAttempt++;
      this.initialized = false;
      for (const r of [...this.records.values(), ...this.initRecords.values()]) {
        r.id = undefined;
        r.status = undefined;
      }
    } else if (await this.adopt()) {
      return true;
    }
    const cfg = podSandboxConfig(this.pod, { dataDir: this.deps.dataDir, attempt: this.sandboxAttempt, dns: this.deps.dns });
    try {
      await mkdir(cfg.logDirectory, { recursive: true });
      this.sandboxId = await rt.runPodSandbox(cfg);
      this.sandboxConfig = cfg;
      const st = await rt.podSandboxStatus(this.sandboxId);
      this.podIP = this.pod.spec?.hostNetwork === true ? this.deps.hostIP : st.ip;
      await this.writeHostsFile();
      this.sandboxError = undefined;
      this.deps.log.info("sandbox started", { pod: this.key(), id: this.sandboxId, ip: this.podIP });
      return true;
    } catch (err) {
      // Like the kubelet: an event, while the containers stay waiting in ContainerCreating.
      if (this.sandboxError !== errMsg(err)) this.event("Warning", "FailedCreatePodSandBox", `Failed to create pod sandbox: ${errMsg(err)}`);
      this.sandboxError = errMsg(err);
      this.deps.log.error("sandbox start failed", { pod: this.key(), error: errMsg(err) });
      return false;
    }
  }

  private async writeHostsFile(): Promise<void> {
    if (this.pod.spec?.hostNetwork === true) return;
    const dir = podDir(this.deps.dataDir, this.uid);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "etc-hosts"), podHostsFile(this.pod, this.podIP ? [this.podIP] : [], this.deps.dns.clusterDomain), { mode: 0o644 });
  }

  /** Picks up a Ready sandbox of this pod UID and the newest instance of each container in it. */
  private async adopt(): Promise<boolean> {
    const found = await adoptSandbox(this.deps.runtime, this.pod);
    this.sandboxAttempt = Math.max(this.sandboxAttempt, found.nextAttempt);
    if (!found.sandbox) return false;
    this.sandboxId = found.sandbox.id;
    this.sandboxAttempt = found.sandbox.metadata.attempt;
    this.sandboxConfig = podSandboxConfig(this.pod, { dataDir: this.deps.dataDir, attempt: found.sandbox.metadata.attempt, dns: this.deps.dns });
    this.podIP = this.pod.spec?.hostNetwork === true ? this.deps.hostIP : found.podIP;
    for (const r of found.init) this.initRecords.set(r.name, r);
    for (const r of found.app) this.records.set(r.name, r);
    this.initialized = found.initialized;
    return true;
  }

  /** Stops every container within `grace` seconds, then stops and removes the sandbox(es) and volumes. */
  private async killPod(grace: number): Promise<void> {
    const rt = this.deps.runtime;
    this.prober.stop();
    clearTimeout(this.wakeTimer);
    const specs = [...(this.pod.spec?.initContainers ?? []), ...(this.pod.spec?.containers ?? [])];
    const live = [...this.initRecords.values(), ...this.records.values()].filter((r) => r.id && r.status?.state !== "Exited");
    await Promise.all(
      live.map((r) =>
        this.killContainer(specs.find((s: any) => s.name === r.name), r, grace).catch((err) => this.deps.log.error("stop container failed", { id: r.id, error: errMsg(err) })),
      ),
    );
    const sandboxes = new Set<string>();
    if (this.sandboxId) sandboxes.add(this.sandboxId);
    for (const s of await rt.listPodSandboxes({ labelSelector: { [POD_UID_LABEL]: this.uid } })) sandboxes.add(s.id);
    for (const id of sandboxes) {
      await rt.stopPodSandbox(id);
      await rt.removePodSandbox(id);
    }
    this.sandboxId = undefined;
    this.records.clear();
    this.initRecords.clear();
    this.deps.backoff.forgetPod(this.uid);
    this.deps.pullBackoff.forgetPod(this.uid);
    if (this.deps.volumes) {
      try {
        await this.deps.volumes.tearDown(this.uid);
      } catch (err) {
        this.deps.log.error("volume teardown failed", { pod: this.key(), error: errMsg(err) });
      }
    }
    await removePodFiles(this.deps.dataDir, this.pod);
    await removePodCgroup(this.uid);
    this.deps.log.info("pod resources removed", { pod: this.key(), sandboxes: sandboxes.size });
  }
}

/** The event fieldPath of a container, as kubectl's SUBOBJECT column shows it. */
export function containerFieldPath(pod: KObject, name: string): string {
  const init = (pod.spec?.initContainers ?? []).some((c: any) => c?.name === name);
  return `spec.${init ? "initContainers" : "containers"}{${name}}`;
}
