// policy/v1: PodDisruptionBudget and Eviction (the pods/eviction subresource body)
// (https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/).
// Field numbers follow k8s.io/api/policy/v1/generated.proto.

import { defineTypes, PACKAGES } from "./builder.js";

export const policyTypes = defineTypes(
  PACKAGES.policy!,
  `
@PodDisruptionBudget gvk=policy/v1/PodDisruptionBudget
metadata 1 meta.ObjectMeta
spec 2 PodDisruptionBudgetSpec
status 3 PodDisruptionBudgetStatus

@PodDisruptionBudgetSpec
minAvailable 1 ios
selector 2 meta.LabelSelector ps=replace
maxUnavailable 3 ios
unhealthyPodEvictionPolicy 4 *string

@PodDisruptionBudgetStatus
observedGeneration 1 int64
disruptedPods 2 {}time
disruptionsAllowed! 3 int32
currentHealthy! 4 int32
desiredHealthy! 5 int32
expectedPods! 6 int32
conditions 7 []meta.Condition map=type

@Eviction gvk=policy/v1/Eviction
metadata 1 meta.ObjectMeta
deleteOptions 2 meta.DeleteOptions
`,
);
