// coordination.k8s.io/v1: Lease, used for leader election and node heartbeats
// (https://kubernetes.io/docs/concepts/architecture/leases/).
// Field numbers follow k8s.io/api/coordination/v1/generated.proto.

import { defineTypes, PACKAGES } from "./builder.js";

export const coordinationTypes = defineTypes(
  PACKAGES.coordination!,
  `
@Lease gvk=coordination.k8s.io/v1/Lease
metadata 1 meta.ObjectMeta
spec 2 LeaseSpec

@LeaseSpec
holderIdentity 1 *string
leaseDurationSeconds 2 *int32
acquireTime 3 microtime
renewTime 4 microtime
leaseTransitions 5 *int32
strategy 6 *string
preferredHolder 7 *string
`,
);
