// batch/v1: Job and CronJob
// (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/job-v1/).
// Field numbers follow k8s.io/api/batch/v1/generated.proto.

import { defineTypes, PACKAGES } from "./builder.js";

export const batchTypes = defineTypes(
  PACKAGES.batch!,
  `
@Job gvk=batch/v1/Job
metadata 1 meta.ObjectMeta
spec 2 JobSpec
status 3 JobStatus

@JobSpec
parallelism 1 *int32
completions 2 *int32
activeDeadlineSeconds 3 *int64
podFailurePolicy 11 PodFailurePolicy
successPolicy 16 SuccessPolicy
backoffLimit 7 *int32
backoffLimitPerIndex 12 *int32
maxFailedIndexes 13 *int32
selector 4 meta.LabelSelector
manualSelector 5 *bool
template! 6 core.PodTemplateSpec
ttlSecondsAfterFinished 8 *int32
completionMode 9 *string
suspend 10 *bool
podReplacementPolicy 14 *string
managedBy 15 *string

@PodFailurePolicy
rules! 1 []PodFailurePolicyRule lt=atomic

@PodFailurePolicyRule
action! 1 string
onExitCodes 2 PodFailurePolicyOnExitCodesRequirement
onPodConditions 3 []PodFailurePolicyOnPodConditionsPattern lt=atomic

@PodFailurePolicyOnExitCodesRequirement
containerName 1 *string
operator! 2 string
values! 3 []int32 lt=set

@PodFailurePolicyOnPodConditionsPattern
type! 1 string
status 2 string

@SuccessPolicy
rules! 1 []SuccessPolicyRule lt=atomic

@SuccessPolicyRule
succeededIndexes 1 *string
succeededCount 2 *int32

@JobStatus
conditions 1 []JobCondition mk=type lt=atomic
startTime 2 time
completionTime 3 time
active 4 int32
succeeded 5 int32
failed 6 int32
terminating 11 *int32
completedIndexes 7 string
failedIndexes 10 *string
uncountedTerminatedPods 8 UncountedTerminatedPods
ready 9 *int32

@JobCondition
type! 1 string
status! 2 string
lastProbeTime 3 time
lastTransitionTime 4 time
reason 5 string
message 6 string

@UncountedTerminatedPods
succeeded 1 []string lt=set
failed 2 []string lt=set

@CronJob gvk=batch/v1/CronJob
metadata 1 meta.ObjectMeta
spec 2 CronJobSpec
status 3 CronJobStatus

@CronJobSpec
schedule! 1 string
timeZone 8 *string
startingDeadlineSeconds 2 *int64
concurrencyPolicy 3 string
suspend 4 *bool
jobTemplate! 5 JobTemplateSpec
successfulJobsHistoryLimit 6 *int32
failedJobsHistoryLimit 7 *int32

@JobTemplateSpec
metadata 1 meta.ObjectMeta
spec 2 JobSpec

@CronJobStatus
active 1 []core.ObjectReference lt=atomic
lastScheduleTime 4 time
lastSuccessfulTime 5 time
`,
);
