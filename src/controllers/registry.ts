// The list of controllers `tug server` runs, one line each, in the spirit of
// kube-controller-manager's NewControllerDescriptors
// (https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/):
// adding a controller is one file plus one line here. Each entry turns the shared
// dependencies and the resource catalogue into a Runnable for the Supervisor.

import type { ResourceDef } from "../api/types.js";
import { controllerRunnable, type ControllerDeps } from "../client/controller.js";
import type { Runnable } from "../client/runnable.js";
import { garbageCollectorRunnable, resourcesFromDefs, type ResourceInfo } from "./garbagecollector.js";
import { namespaceController } from "./namespace.js";
import { replicaSetController } from "./replicaset.js";
import { deploymentController } from "./deployment.js";
import { endpointsController } from "./endpoints.js";
import { endpointSliceController } from "./endpointslice.js";
import { serviceAccountController } from "./serviceaccount.js";
import { hpaController } from "./hpa.js";
import { disruptionController } from "./disruption.js";
import type { MetricsSource } from "../apiserver/metrics.js";
import { nodeLifecycleController } from "./nodelifecycle.js";
import { jobController } from "./job.js";
import { cronJobController } from "./cronjob.js";
import { statefulSetController } from "./statefulset.js";
import { daemonSetController } from "./daemonset.js";
import { persistentVolumeClaimController, persistentVolumeController } from "./persistentvolume.js";
import { rootCACertPublisher } from "./rootcacertpublisher.js";

export interface ControllerEnv {
  deps: ControllerDeps;
  /** Every listable resource type, one per storage (see resourcesFromDefs). */
  resources: ResourceInfo[];
  /** Resource metrics (metrics.k8s.io); without it the HPA controller idles. */
  metrics?: MetricsSource;
  /** Controller timing flags (kube-controller-manager's --horizontal-pod-autoscaler-sync-period …). */
  tuning?: ControllerTuning;
  /** The cluster CA certificate (PEM) published as kube-root-ca.crt; without it that controller idles. */
  rootCAPem?: string;
}

export interface ControllerTuning {
  /** --horizontal-pod-autoscaler-sync-period (default 15 s). */
  hpaSyncPeriodMs?: number;
  /** --node-monitor-grace-period (default 20 s). */
  nodeMonitorGracePeriodMs?: number;
  /** --cluster-cidr: the pod range nodes get their /24 from (default 10.42.0.0/16). */
  clusterCIDR?: string;
}

/** Several controllers that form one kube-controller-manager controller, as one Runnable. */
function bothOf(name: string, runnables: Runnable[]): Runnable {
  return { name, needsLeader: true, start: async (signal) => void (await Promise.all(runnables.map((r) => r.start(signal)))) };
}

export interface ControllerEntry {
  name: string;
  build(env: ControllerEnv): Runnable;
}

export const controllerEntries: ControllerEntry[] = [
  { name: "garbagecollector", build: (e) => garbageCollectorRunnable(e.resources, e.deps) },
  { name: "namespace", build: (e) => controllerRunnable(namespaceController(e.resources), e.deps) },
  { name: "replicaset", build: (e) => controllerRunnable(replicaSetController(), e.deps) },
  { name: "deployment", build: (e) => controllerRunnable(deploymentController(), e.deps) },
  { name: "endpoints", build: (e) => controllerRunnable(endpointsController(), e.deps) },
  { name: "endpointslice", build: (e) => controllerRunnable(endpointSliceController(), e.deps) },
  { name: "serviceaccount", build: (e) => controllerRunnable(serviceAccountController(), e.deps) },
  { name: "horizontalpodautoscaling", build: (e) => (e.metrics ? controllerRunnable(hpaController({ metrics: e.metrics, syncPeriodMs: e.tuning?.hpaSyncPeriodMs }), e.deps) : { name: "controller/horizontalpodautoscaling", needsLeader: false, start: (s) => new Promise<void>((r) => s.addEventListener("abort", () => r(), { once: true })) }) },
  { name: "disruption", build: (e) => controllerRunnable(disruptionController(), e.deps) },
  { name: "nodelifecycle", build: (e) => controllerRunnable(nodeLifecycleController({ nodeMonitorGracePeriodMs: e.tuning?.nodeMonitorGracePeriodMs, clusterCIDR: e.tuning?.clusterCIDR }), e.deps) },
  { name: "job", build: (e) => controllerRunnable(jobController, e.deps) },
  { name: "cronjob", build: (e) => controllerRunnable(cronJobController, e.deps) },
  { name: "statefulset", build: (e) => controllerRunnable(statefulSetController, e.deps) },
  { name: "daemonset", build: (e) => controllerRunnable(daemonSetController(), e.deps) },
  { name: "persistentvolume-binder", build: (e) => bothOf("controller/persistentvolume-binder", [controllerRunnable(persistentVolumeClaimController(), e.deps), controllerRunnable(persistentVolumeController(), e.deps)]) },
  { name: "root-ca-cert-publisher", build: (e) => (e.rootCAPem ? controllerRunnable(rootCACertPublisher(e.rootCAPem), e.deps) : idle("controller/root-ca-cert-publisher")) },
];

/** A controller that cannot run without its input (metrics, CA): waits for the abort. */
function idle(name: string): Runnable {
  return { name, needsLeader: false, start: (s) => new Promise<void>((r) => s.addEventListener("abort", () => r(), { once: true })) };
}

/**
 * Runnables for the enabled controllers: `enabled` follows kube-controller-manager's
 * --controllers flag ("*" = all, "-name" disables one, "name" enables one).
 */
export function controllerRunnables(deps: ControllerDeps, defs: readonly ResourceDef[], enabled: string[] = ["*"], metrics?: MetricsSource, tuning?: ControllerTuning, rootCAPem?: string): Runnable[] {
  const env: ControllerEnv = { deps, resources: resourcesFromDefs(defs), metrics, tuning, rootCAPem };
  const on = (name: string) => {
    if (enabled.includes(`-${name}`)) return false;
    return enabled.includes("*") || enabled.includes(name);
  };
  return controllerEntries.filter((c) => on(c.name)).map((c) => c.build(env));
}
