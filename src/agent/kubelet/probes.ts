// Container probes (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-probes,
// https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/):
// one prober per pod runs a timer per (container instance, probe kind). A probe waits
// initialDelaySeconds after the container started, then runs every periodSeconds with
// timeoutSeconds; the result only flips after successThreshold consecutive successes or
// failureThreshold consecutive failures. Initial results: readiness Failure, liveness
// Success, startup Unknown; until the startup probe succeeds, liveness and readiness do
// not run. A liveness or startup failure puts the worker on hold (the kubelet kills the
// container; the next instance gets fresh workers). The prober tells the pod worker
// about every result change through onChange, so status and restarts follow at once.

import type { ContainerRuntime } from "../runtime/types.js";
import { runAction } from "./handlers.js";
import type { EnvVar } from "./env.js";

export type ProbeKind = "liveness" | "readiness" | "startup";
export type ProbeResult = "Success" | "Failure" | "Unknown";

export interface ProbeSpec {
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
  handler: any;
  terminationGracePeriodSeconds?: number;
}

/** Probe with API defaults applied (period 10 s, timeout 1 s, success 1, failure 3). */
export function probeSpec(p: any): ProbeSpec {
  const n = (v: unknown, d: number, min: number) => (typeof v === "number" && v >= min ? v : d);
  return {
    initialDelaySeconds: n(p?.initialDelaySeconds, 0, 0),
    periodSeconds: n(p?.periodSeconds, 10, 1),
    timeoutSeconds: n(p?.timeoutSeconds, 1, 1),
    successThreshold: n(p?.successThreshold, 1, 1),
    failureThreshold: n(p?.failureThreshold, 3, 1),
    handler: p,
    ...(typeof p?.terminationGracePeriodSeconds === "number" ? { terminationGracePeriodSeconds: p.terminationGracePeriodSeconds } : {}),
  };
}

/**
 * Threshold logic of one probe worker, pure so it can be tested alone: feed each
 * outcome, read `result`. `onHold` is set when a liveness/startup failure is reported.
 */
export class ProbeState {
  result: ProbeResult;
  private lastOutcome: "Success" | "Failure" | undefined;
  private run = 0;
  onHold = false;

  constructor(
    readonly kind: ProbeKind,
    readonly spec: Pick<ProbeSpec, "successThreshold" | "failureThreshold">,
  ) {
    this.result = kind === "readiness" ? "Failure" : kind === "liveness" ? "Success" : "Unknown";
  }

  /** Records one outcome; returns true when `result` changed. */
  observe(outcome: "Success" | "Failure"): boolean {
    if (this.onHold) return false;
    this.run = outcome === this.lastOutcome ? this.run + 1 : 1;
    this.lastOutcome = outcome;
    if (outcome === "Failure" && this.run < this.spec.failureThreshold) return false;
    if (outcome === "Success" && this.run < this.spec.successThreshold) return false;
    const changed = this.result !== outcome;
    this.result = outcome;
    if (outcome === "Failure" && this.kind !== "readiness") {
      this.onHold = true;
      this.run = 0;
    }
    return changed;
  }
}

export interface ProbedContainer {
  name: string;
  /** Runtime container ID of the running instance. */
  id: string;
  /** When it started (ms since epoch). */
  startedAt: number;
  spec: any;
  env?: EnvVar[];
  /** Results the API last showed for this very instance (a restarted agent picks up where it was). */
  seed?: { ready?: boolean; started?: boolean };
}

export interface ProberDeps {
  runtime: ContainerRuntime;
  /** A result changed (the pod worker syncs). */
  onChange: () => void;
  /** A probe failed (each failure, for the Unhealthy event). */
  onFailure?: (container: string, kind: ProbeKind, output: string) => void;
  now?: () => number;
}

interface Worker {
  kind: ProbeKind;
  state: ProbeState;
  spec: ProbeSpec;
  timer?: NodeJS.Timeout;
  busy: boolean;
  stopped: boolean;
  lastOutput: string;
}

interface ContainerWorkers {
  id: string;
  workers: Map<ProbeKind, Worker>;
}

const KIND_LABEL: Record<ProbeKind, string> = { liveness: "Liveness", readiness: "Readiness", startup: "Startup" };

/** The probers of one pod's running containers. */
export class PodProber {
  private readonly containers = new Map<string, ContainerWorkers>();
  private podIP = "";
  private readonly now: () => number;

  constructor(private readonly deps: ProberDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Starts workers for new container instances and stops those of instances gone. */
  sync(running: ProbedContainer[], podIP: string): void {
    this.podIP = podIP;
    const seen = new Set<string>();
    for (const c of running) {
      seen.add(c.name);
      const cur = this.containers.get(c.name);
      if (cur?.id === c.id) continue;
      if (cur) this.stopContainer(c.name);
      const cw: ContainerWorkers = { id: c.id, workers: new Map() };
      this.containers.set(c.name, cw);
      for (const kind of ["startup", "liveness", "readiness"] as ProbeKind[]) {
        const raw = c.spec?.[`${kind}Probe`];
        if (!raw) continue;
        const spec = probeSpec(raw);
        const w: Worker = { kind, spec, state: new ProbeState(kind, spec), busy: false, stopped: false, lastOutput: "" };
        if ((kind === "readiness" && c.seed?.ready) || (kind === "startup" && c.seed?.started)) w.state.result = "Success";
        cw.workers.set(kind, w);
        const first = Math.max(0, c.startedAt + spec.initialDelaySeconds * 1000 - this.now());
        this.schedule(c, cw, w, first);
      }
    }
    for (const name of [...this.containers.keys()]) if (!seen.has(name)) this.stopContainer(name);
  }

  private schedule(c: ProbedContainer, cw: ContainerWorkers, w: Worker, delayMs: number): void {
    if (w.stopped) return;
    w.timer = setTimeout(() => void this.tick(c, cw, w), delayMs);
    w.timer.unref?.();
  }

  private async tick(c: ProbedContainer, cw: ContainerWorkers, w: Worker): Promise<void> {
    if (w.stopped || w.busy) return;
    const startup = cw.workers.get("startup");
    // Liveness and readiness wait for the startup probe; a succeeded startup probe stops.
    const gated = w.kind !== "startup" && startup && startup.state.result !== "Success";
    const done = w.kind === "startup" && w.state.result === "Success";
    if (!gated && !done && !w.state.onHold) {
      w.busy = true;
      try {
        const r = await runAction(w.spec.handler, { runtime: this.deps.runtime, containerId: cw.id, container: c.spec, podIP: this.podIP, env: c.env }, w.spec.timeoutSeconds);
        if (w.stopped) return;
        w.lastOutput = r.output.trim();
        if (!r.ok) this.deps.onFailure?.(c.name, w.kind, w.lastOutput);
        if (w.state.observe(r.ok ? "Success" : "Failure")) this.deps.onChange();
        // A startup success releases the others right away instead of a period later.
        if (w.kind === "startup" && w.state.result === "Success") {
          for (const o of cw.workers.values()) if (o !== w && !o.busy && !o.stopped) {
            clearTimeout(o.timer);
            this.schedule(c, cw, o, 0);
          }
        }
      } finally {
        w.busy = false;
      }
    }
    this.schedule(c, cw, w, w.spec.periodSeconds * 1000);
  }

  private stopContainer(name: string): void {
    const cw = this.containers.get(name);
    if (!cw) return;
    for (const w of cw.workers.values()) {
      w.stopped = true;
      clearTimeout(w.timer);
    }
    this.containers.delete(name);
  }

  private worker(name: string, id: string, kind: ProbeKind): Worker | undefined {
    const cw = this.containers.get(name);
    return cw && cw.id === id ? cw.workers.get(kind) : undefined;
  }

  /** Whether the prober has workers for this container instance. */
  known(name: string, id: string): boolean {
    return this.containers.get(name)?.id === id;
  }

  /** Whether the container instance passed its startup probe (true when it has none). */
  started(name: string, id: string): boolean {
    const cw = this.containers.get(name);
    if (!cw || cw.id !== id) return false;
    const w = cw.workers.get("startup");
    return !w || w.state.result === "Success";
  }

  /** Readiness of the container instance: its readiness probe's result, or started when it has none. */
  ready(name: string, id: string): boolean {
    if (!this.started(name, id)) return false;
    const w = this.worker(name, id, "readiness");
    return !w || w.state.result === "Success";
  }

  /** Why the instance must be killed (liveness or startup failure), with the kill grace override. */
  failure(name: string, id: string): { message: string; gracePeriodSeconds?: number } | undefined {
    for (const kind of ["startup", "liveness"] as ProbeKind[]) {
      const w = this.worker(name, id, kind);
      if (w && w.state.result === "Failure") {
        return {
          message: `Container ${name} failed ${kind} probe, will be restarted`,
          ...(w.spec.terminationGracePeriodSeconds !== undefined ? { gracePeriodSeconds: w.spec.terminationGracePeriodSeconds } : {}),
        };
      }
    }
    return undefined;
  }

  /** "Liveness probe failed: …", the Unhealthy event text. */
  static eventMessage(kind: ProbeKind, output: string): string {
    return `${KIND_LABEL[kind]} probe failed: ${output}`;
  }

  stop(): void {
    for (const name of [...this.containers.keys()]) this.stopContainer(name);
  }
}
