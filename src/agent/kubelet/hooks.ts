// Container lifecycle hooks (https://kubernetes.io/docs/concepts/containers/container-lifecycle-hooks/):
// postStart runs right after the container starts (the container is not Running for the
// pod until it returns; a failure kills the container, event FailedPostStartHook, and
// the restart policy applies); preStop runs before the container is stopped and counts
// against the termination grace period (event FailedPreStopHook on failure; the stop
// goes on). Messages follow the kubelet's wording.

import { runAction, type ActionTarget } from "./handlers.js";

const podRef = (pod: { name?: string; namespace?: string; uid?: string }): string => `${pod.name}_${pod.namespace}(${pod.uid})`;

/** The kubelet's failure message for a hook handler. */
export function hookFailureMessage(handler: any, container: string, pod: { name?: string; namespace?: string; uid?: string }, output: string): string {
  if (handler?.exec) {
    return `Exec lifecycle hook (${JSON.stringify(handler.exec.command ?? [])}) for Container "${container}" in Pod "${podRef(pod)}" failed - error: command failed, message: ${JSON.stringify(output)}`;
  }
  if (handler?.httpGet) return `HTTP lifecycle hook (${handler.httpGet.path ?? "/"}) for Container "${container}" in Pod "${podRef(pod)}" failed - error: ${output}`;
  return `lifecycle hook for Container "${container}" in Pod "${podRef(pod)}" failed - error: ${output}`;
}

export interface HookOutcome {
  ok: boolean;
  /** Failure message (kubelet wording) when not ok. */
  message?: string;
  elapsedMs: number;
}

/** Runs a container's postStart hook, if any (no timeout, like the kubelet). */
export async function runPostStart(pod: { name?: string; namespace?: string; uid?: string }, target: ActionTarget): Promise<HookOutcome> {
  const h = target.container?.lifecycle?.postStart;
  const t0 = Date.now();
  if (!h) return { ok: true, elapsedMs: 0 };
  const r = await runAction(h, target, 0);
  return r.ok ? { ok: true, elapsedMs: Date.now() - t0 } : { ok: false, message: hookFailureMessage(h, target.container.name, pod, r.output), elapsedMs: Date.now() - t0 };
}

/** Runs a container's preStop hook within `graceSeconds`; a hook still running after that is abandoned. */
export async function runPreStop(pod: { name?: string; namespace?: string; uid?: string }, target: ActionTarget, graceSeconds: number): Promise<HookOutcome> {
  const h = target.container?.lifecycle?.preStop;
  const t0 = Date.now();
  if (!h || graceSeconds <= 0) return { ok: true, elapsedMs: 0 };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ ok: false; output: string }>((res) => {
    timer = setTimeout(() => res({ ok: false, output: `preStop hook did not finish within the ${graceSeconds}s grace period` }), graceSeconds * 1000);
  });
  const r = await Promise.race([runAction(h, target, graceSeconds), timeout]);
  clearTimeout(timer);
  return r.ok ? { ok: true, elapsedMs: Date.now() - t0 } : { ok: false, message: hookFailureMessage(h, target.container.name, pod, r.output), elapsedMs: Date.now() - t0 };
}
