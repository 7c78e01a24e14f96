// The core ("" group, v1) resource catalogue: the kinds every cluster has
// (https://kubernetes.io/docs/reference/kubernetes-api/). Each kind lives in a file of its
// own concept — pods (core-pod.ts, PodSpec rules in core-podspec.ts), services and
// endpoints (core-service.ts), configuration (core-config.ts), cluster objects
// (core-cluster.ts) and storage (core-storage.ts) — and is gathered here for catalogue.ts.

import type { ResourceDef } from "./types.js";
import { eventResource, namespaceResource, nodeResource } from "./core-cluster.js";
import { configMapResource, secretResource, serviceAccountResource } from "./core-config.js";
import { podResource } from "./core-pod.js";
import { endpointsResource, serviceResource } from "./core-service.js";
import { persistentVolumeClaimResource, persistentVolumeResource } from "./core-storage.js";

export const coreResources: ResourceDef[] = [
  namespaceResource,
  podResource,
  nodeResource,
  serviceResource,
  endpointsResource,
  configMapResource,
  secretResource,
  serviceAccountResource,
  eventResource,
  persistentVolumeResource,
  persistentVolumeClaimResource,
];

export { defaultPodSpec, defaultPodTemplateSpec, validatePodSpec, validatePodTemplateSpec } from "./core-podspec.js";
export { defaultPod, podQOSClass, podSummary } from "./core-pod.js";
