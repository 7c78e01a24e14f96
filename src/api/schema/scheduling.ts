// scheduling.k8s.io/v1: PriorityClass
// (https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/).
// Field numbers follow k8s.io/api/scheduling/v1/generated.proto.

import { defineTypes, PACKAGES } from "./builder.js";

export const schedulingTypes = defineTypes(
  PACKAGES.scheduling!,
  `
@PriorityClass gvk=scheduling.k8s.io/v1/PriorityClass
metadata 1 meta.ObjectMeta
value! 2 int32
globalDefault 3 bool
description 4 string
preemptionPolicy 5 *string
`,
);
