// autoscaling/v1 (HorizontalPodAutoscaler with a CPU target, and Scale, the body of
// every */scale subresource) and autoscaling/v2 (HorizontalPodAutoscaler with metrics
// and behavior) (https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/).
// Field numbers follow k8s.io/api/autoscaling/{v1,v2}/generated.proto.

import { defineTypes, PACKAGES } from "./builder.js";

export const autoscalingV1Types = defineTypes(
  PACKAGES.autoscalingv1!,
  `
@HorizontalPodAutoscaler gvk=autoscaling/v1/HorizontalPodAutoscaler
metadata 1 meta.ObjectMeta
spec 2 HorizontalPodAutoscalerSpec
status 3 HorizontalPodAutoscalerStatus

@HorizontalPodAutoscalerSpec
scaleTargetRef! 1 CrossVersionObjectReference
minReplicas 2 *int32
maxReplicas! 3 int32
targetCPUUtilizationPercentage 4 *int32

@CrossVersionObjectReference atomic
kind! 1 string
name! 2 string
apiVersion 3 string

@HorizontalPodAutoscalerStatus
observedGeneration 1 *int64
lastScaleTime 2 time
currentReplicas! 3 int32
desiredReplicas! 4 int32
currentCPUUtilizationPercentage 5 *int32

@Scale gvk=autoscaling/v1/Scale
metadata 1 meta.ObjectMeta
spec 2 ScaleSpec
status 3 ScaleStatus

@ScaleSpec
replicas 1 int32

@ScaleStatus
replicas! 1 int32
selector 2 string
`,
);

export const autoscalingV2Types = defineTypes(
  PACKAGES.autoscalingv2!,
  `
@HorizontalPodAutoscaler gvk=autoscaling/v2/HorizontalPodAutoscaler
metadata 1 meta.ObjectMeta
spec 2 HorizontalPodAutoscalerSpec
status 3 HorizontalPodAutoscalerStatus

@HorizontalPodAutoscalerSpec
scaleTargetRef! 1 CrossVersionObjectReference
minReplicas 2 *int32
maxReplicas! 3 int32
metrics 4 []MetricSpec lt=atomic
behavior 5 HorizontalPodAutoscalerBehavior

@CrossVersionObjectReference atomic
kind! 1 string
name! 2 string
apiVersion 3 string

@MetricSpec
type! 1 string
object 2 ObjectMetricSource
pods 3 PodsMetricSource
resource 4 ResourceMetricSource
containerResource 7 ContainerResourceMetricSource
external 5 ExternalMetricSource

@ObjectMetricSource
describedObject! 1 CrossVersionObjectReference
target! 2 MetricTarget
metric! 3 MetricIdentifier

@PodsMetricSource
metric! 1 MetricIdentifier
target! 2 MetricTarget

@ResourceMetricSource
name! 1 string
target! 2 MetricTarget

@ContainerResourceMetricSource
name! 1 string
target! 2 MetricTarget
container! 3 string

@ExternalMetricSource
metric! 1 MetricIdentifier
target! 2 MetricTarget

@MetricIdentifier
name! 1 string
selector 2 meta.LabelSelector

@MetricTarget
type! 1 string
value 2 quantity
averageValue 3 quantity
averageUtilization 4 *int32

@HorizontalPodAutoscalerBehavior
scaleUp 1 HPAScalingRules
scaleDown 2 HPAScalingRules

@HPAScalingRules
stabilizationWindowSeconds 3 *int32
selectPolicy 1 *string
policies 2 []HPAScalingPolicy lt=atomic
tolerance 4 quantity

@HPAScalingPolicy
type! 1 string
value! 2 int32
periodSeconds! 3 int32

@HorizontalPodAutoscalerStatus
observedGeneration 1 *int64
lastScaleTime 2 time
currentReplicas 3 int32
desiredReplicas! 4 int32
currentMetrics 5 []MetricStatus lt=atomic
conditions 6 []HorizontalPodAutoscalerCondition map=type

@HorizontalPodAutoscalerCondition
type! 1 string
status! 2 string
lastTransitionTime 3 time
reason 4 string
message 5 string

@MetricStatus
type! 1 string
object 2 ObjectMetricStatus
pods 3 PodsMetricStatus
resource 4 ResourceMetricStatus
containerResource 7 ContainerResourceMetricStatus
external 5 ExternalMetricStatus

@ObjectMetricStatus
metric! 1 MetricIdentifier
current! 2 MetricValueStatus
describedObject! 3 CrossVersionObjectReference

@PodsMetricStatus
metric! 1 MetricIdentifier
current! 2 MetricValueStatus

@ResourceMetricStatus
name! 1 string
current! 2 MetricValueStatus

@ContainerResourceMetricStatus
name! 1 string
current! 2 MetricValueStatus
container! 3 string

@ExternalMetricStatus
metric! 1 MetricIdentifier
current! 2 MetricValueStatus

@MetricValueStatus
value 1 quantity
averageValue 2 quantity
averageUtilization 3 *int32
`,
);
