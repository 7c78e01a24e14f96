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

export interface ControllerEnv {
  deps: ControllerDeps;
  /** Every listable resource type, one per storage (see resourcesFromDefs). */
  resources: ResourceInfo[];
}

export interface ControllerEntry {
  name: string;
  build(env: ControllerEnv): Runnable;
}

export const controllerEntries: ControllerEntry[] = [
  { name: "garbagecollector", build: (e) => garbageCollectorRunnable(e.resources, e.deps) },
  { name: "namespace", build: (e) => controllerRunnable(namespaceController(e.resources), e.deps) },
];

/**
 * Runnables for the enabled controllers: `enabled` follows kube-controller-manager's
 * --controllers flag ("*" = all, "-name" disables one, "name" enables one).
 */
export function controllerRunnables(deps: ControllerDeps, defs: readonly ResourceDef[], enabled: string[] = ["*"]): Runnable[] {
  const env: ControllerEnv = { deps, resources: resourcesFromDefs(defs) };
  const on = (name: string) => {
    if (enabled.includes(`-${name}`)) return false;
    return enabled.includes("*") || enabled.includes(name);
  };
  return controllerEntries.filter((c) => on(c.name)).map((c) => c.build(env));
}
