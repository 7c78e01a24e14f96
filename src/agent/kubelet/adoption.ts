// Picking up after an agent restart (issue 4 "Restart safety"; upstream the kubelet
// rebuilds its view from the runtime, https://kubernetes.io/docs/concepts/architecture/cri/):
// a pod's Ready sandbox and the newest instance of each container in it are adopted
// instead of being recreated, older leftovers are removed, and what only the API
// remembers (readiness, started, lastState, imageID of the same container ID) is taken
// from the pod's status, so the status written after the restart equals the one before.

import type { KObject } from "../../apimachinery/types.js";
import type { ContainerRuntime, PodSandboxSummary } from "../runtime/types.js";
import { CONTAINER_KIND_LABEL, type ContainerInstance } from "./containerstart.js";
import { POD_UID_LABEL } from "./sandboxconfig.js";

export interface Reported {
  ready?: boolean;
  started?: boolean;
  lastTerminated?: any;
  imageID?: string;
}

/** What the API shows for a container instance (written by an earlier run of this agent). */
export function reportedStatus(pod: KObject, id: string): Reported | undefined {
  const all: any[] = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
  const s = all.find((x) => x?.containerID === `containerd://${id}`);
  return s ? { ready: s.ready === true, started: s.started === true, lastTerminated: s.lastState?.terminated, imageID: s.imageID } : undefined;
}

export interface Adopted {
  /** The newest Ready sandbox, if any. */
  sandbox?: PodSandboxSummary;
  podIP: string;
  /** The attempt number a new sandbox must use (above every one seen). */
  nextAttempt: number;
  init: ContainerInstance[];
  app: ContainerInstance[];
  /** App containers exist: the init containers completed in this sandbox. */
  initialized: boolean;
}

/** Finds what the runtime still runs for the pod; removes stale sandboxes and container instances. */
export async function adoptSandbox(rt: ContainerRuntime, pod: KObject): Promise<Adopted> {
  const found = await rt.listPodSandboxes({ labelSelector: { [POD_UID_LABEL]: pod.metadata.uid! } });
  const ready = found.filter((s) => s.state === "Ready").sort((a, b) => b.metadata.attempt - a.metadata.attempt)[0];
  let nextAttempt = 0;
  for (const s of found) {
    if (s !== ready) await rt.removePodSandbox(s.id);
    nextAttempt = Math.max(nextAttempt, s.metadata.attempt + 1);
  }
  const out: Adopted = { nextAttempt, podIP: "", init: [], app: [], initialized: false };
  if (!ready) return out;
  out.sandbox = ready;
  out.podIP = (await rt.podSandboxStatus(ready.id)).ip;
  const recs = { init: new Map<string, ContainerInstance>(), app: new Map<string, ContainerInstance>() };
  const containers = (await rt.listContainers({ podSandboxId: ready.id })).sort((a, b) => a.attempt - b.attempt);
  for (const c of containers) {
    const kind = c.labels[CONTAINER_KIND_LABEL] === "init" ? "init" : "app";
    const specs: any[] = (kind === "init" ? pod.spec?.initContainers : pod.spec?.containers) ?? [];
    const spec = specs.find((x: any) => x.name === c.name);
    if (!spec) {
      await rt.removeContainer(c.id);
      continue;
    }
    const prev = recs[kind].get(c.name);
    if (prev?.id) {
      // An older instance left behind: keep only the newest.
      if (prev.restartCount >= c.attempt) continue;
      await rt.removeContainer(prev.id);
    }
    const seen = reportedStatus(pod, c.id);
    recs[kind].set(c.name, { name: c.name, image: spec.image ?? c.image, id: c.id, restartCount: c.attempt, imageID: seen?.imageID || c.imageRef, ...(seen?.lastTerminated ? { lastTerminated: seen.lastTerminated } : {}) });
  }
  out.init = [...recs.init.values()];
  out.app = [...recs.app.values()];
  out.initialized = out.app.length > 0;
  return out;
}
