// meta/v1 and the apimachinery value types every kind shares: ObjectMeta, ListMeta,
// OwnerReference, ManagedFieldsEntry, LabelSelector, Condition, DeleteOptions, Status
// (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/). Field numbers
// follow k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto. Time, MicroTime, Quantity,
// IntOrString, RawExtension and FieldsV1 are FieldType kinds, not TypeDefs.

import { defineTypes, PACKAGES } from "./builder.js";

export const metaTypes = defineTypes(
  PACKAGES.meta!,
  `
@ObjectMeta
name 1 string
generateName 2 string
namespace 3 string
selfLink 4 string
uid 5 string
resourceVersion 6 string
generation 7 int64
creationTimestamp 8 time
deletionTimestamp 9 time
deletionGracePeriodSeconds 10 *int64
labels 11 {}string
annotations 12 {}string
ownerReferences 13 []OwnerReference mk=uid lt=map lk=uid
finalizers 14 []string ps=merge lt=set
managedFields 17 []ManagedFieldsEntry lt=atomic

@ListMeta
selfLink 1 string
resourceVersion 2 string
continue 3 string
remainingItemCount 4 *int64

@OwnerReference atomic
apiVersion! 5 string
kind! 1 string
name! 3 string
uid! 4 string
controller 6 *bool
blockOwnerDeletion 7 *bool

@ManagedFieldsEntry
manager 1 string
operation 2 string
apiVersion 3 string
time 4 time
fieldsType 6 string
fieldsV1 7 any
subresource 8 string

@LabelSelector atomic
matchLabels 1 {}string
matchExpressions 2 []LabelSelectorRequirement lt=atomic

@LabelSelectorRequirement
key! 1 string
operator! 2 string
values 3 []string lt=atomic

@Condition
type! 1 string
status! 2 string
observedGeneration 3 int64
lastTransitionTime! 4 time
reason! 5 string
message! 6 string

@DeleteOptions gvk=/v1/DeleteOptions
gracePeriodSeconds 1 *int64
preconditions 2 Preconditions
orphanDependents 3 *bool
propagationPolicy 4 *string
dryRun 5 []string lt=atomic
ignoreStoreReadErrorWithClusterBreakingPotential 6 *bool

@Preconditions
uid 1 *string
resourceVersion 2 *string

@Status gvk=/v1/Status
metadata 1 ListMeta
status 2 string
message 3 string
reason 4 string
details 5 StatusDetails
code 6 int32

@StatusDetails
name 1 string
group 2 string
kind 3 string
uid 6 string
causes 4 []StatusCause lt=atomic
retryAfterSeconds 5 int32

@StatusCause
reason 1 string
message 2 string
field 3 string
`,
);
