// core/v1 kinds other than Pod: Namespace, Binding, Node, Service, Endpoints,
// ConfigMap, Secret, ServiceAccount, Event, PersistentVolume, PersistentVolumeClaim,
// and the shared reference types (ObjectReference, LocalObjectReference, …)
// (https://kubernetes.io/docs/reference/kubernetes-api/). Field numbers follow
// k8s.io/api/core/v1/generated.proto. Pod lives in core-pod.ts.

import { defineTypes, PACKAGES } from "./builder.js";

export const coreTypes = defineTypes(
  PACKAGES.core!,
  `
@ObjectReference atomic
kind 1 string
namespace 2 string
name 3 string
uid 4 string
apiVersion 5 string
resourceVersion 6 string
fieldPath 7 string

@LocalObjectReference atomic
name 1 string

@TypedLocalObjectReference atomic
apiGroup 1 *string
kind! 2 string
name! 3 string

@TypedObjectReference
apiGroup 1 *string
kind! 2 string
name! 3 string
namespace 4 *string

@SecretReference atomic
name 1 string
namespace 2 string

@Namespace gvk=/v1/Namespace
metadata 1 meta.ObjectMeta
spec 2 NamespaceSpec
status 3 NamespaceStatus

@NamespaceSpec
finalizers 1 []string lt=atomic

@NamespaceStatus
phase 1 string
conditions 2 []NamespaceCondition map=type

@NamespaceCondition
type! 1 string
status! 2 string
lastTransitionTime 4 time
reason 5 string
message 6 string

@Binding gvk=/v1/Binding
metadata 1 meta.ObjectMeta
target! 2 ObjectReference

@Node gvk=/v1/Node
metadata 1 meta.ObjectMeta
spec 2 NodeSpec
status 3 NodeStatus

@NodeSpec
podCIDR 1 string
podCIDRs 7 []string ps=merge lt=set
providerID 3 string
unschedulable 4 bool
taints 5 []Taint lt=atomic
configSource 6 any
externalID 2 string

@Taint
key! 1 string
value 2 string
effect! 3 string
timeAdded 4 time

@NodeStatus
capacity 1 {}quantity
allocatable 2 {}quantity
phase 3 string
conditions 4 []NodeCondition map=type
addresses 5 []NodeAddress map=type
daemonEndpoints 6 NodeDaemonEndpoints
nodeInfo 7 NodeSystemInfo
images 8 []ContainerImage lt=atomic
volumesInUse 9 []string lt=atomic
volumesAttached 10 []AttachedVolume lt=atomic
config 11 any
runtimeHandlers 12 []NodeRuntimeHandler lt=atomic
features 13 NodeFeatures
declaredFeatures 14 []string lt=atomic

@NodeCondition
type! 1 string
status! 2 string
lastHeartbeatTime 3 time
lastTransitionTime 4 time
reason 5 string
message 6 string

@NodeAddress
type! 1 string
address! 2 string

@NodeDaemonEndpoints
kubeletEndpoint 1 DaemonEndpoint

@DaemonEndpoint
Port! 1 int32

@NodeSystemInfo
machineID! 1 string
systemUUID! 2 string
bootID! 3 string
kernelVersion! 4 string
osImage! 5 string
containerRuntimeVersion! 6 string
kubeletVersion! 7 string
kubeProxyVersion! 8 string
operatingSystem! 9 string
architecture! 10 string
swap 11 NodeSwapStatus

@NodeSwapStatus
capacity 1 *int64

@ContainerImage
names 1 []string lt=atomic
sizeBytes 2 int64

@AttachedVolume
name! 1 string
devicePath! 2 string

@NodeRuntimeHandler
name 1 string
features 2 NodeRuntimeHandlerFeatures

@NodeRuntimeHandlerFeatures
recursiveReadOnlyMounts 1 *bool
userNamespaces 2 *bool

@NodeFeatures
supplementalGroupsPolicy 1 *bool
containerUlimits 2 *bool

@Service gvk=/v1/Service
metadata 1 meta.ObjectMeta
spec 2 ServiceSpec
status 3 ServiceStatus

@ServiceSpec
ports 1 []ServicePort mk=port lt=map lk=port,protocol
selector 2 {}string mt=atomic
clusterIP 3 string
clusterIPs 18 []string lt=atomic
type 4 string
externalIPs 5 []string lt=atomic
sessionAffinity 7 string
loadBalancerIP 8 string
loadBalancerSourceRanges 9 []string lt=atomic
externalName 10 string
externalTrafficPolicy 11 string
healthCheckNodePort 12 int32
publishNotReadyAddresses 13 bool
sessionAffinityConfig 14 SessionAffinityConfig
ipFamilies 19 []string lt=atomic
ipFamilyPolicy 17 *string
allocateLoadBalancerNodePorts 20 *bool
loadBalancerClass 21 *string
internalTrafficPolicy 22 *string
trafficDistribution 23 *string

@ServicePort
name 1 string
protocol 2 string
appProtocol 6 *string
port! 3 int32
targetPort 4 ios
nodePort 5 int32

@SessionAffinityConfig
clientIP 1 ClientIPConfig

@ClientIPConfig
timeoutSeconds 1 *int32

@ServiceStatus
loadBalancer 1 LoadBalancerStatus
conditions 2 []meta.Condition map=type

@LoadBalancerStatus
ingress 1 []LoadBalancerIngress lt=atomic

@LoadBalancerIngress
ip 1 string
hostname 2 string
ipMode 3 *string
ports 4 []PortStatus lt=atomic

@PortStatus
port! 1 int32
protocol! 2 string
error 3 *string

@Endpoints gvk=/v1/Endpoints
metadata 1 meta.ObjectMeta
subsets 2 []EndpointSubset lt=atomic

@EndpointSubset
addresses 1 []EndpointAddress lt=atomic
notReadyAddresses 2 []EndpointAddress lt=atomic
ports 3 []EndpointPort lt=atomic

@EndpointAddress atomic
ip! 1 string
hostname 3 string
nodeName 4 *string
targetRef 2 ObjectReference

@EndpointPort atomic
name 1 string
port! 2 int32
protocol 3 string
appProtocol 4 *string

@ConfigMap gvk=/v1/ConfigMap
metadata 1 meta.ObjectMeta
immutable 4 *bool
data 2 {}string
binaryData 3 {}bytes

@Secret gvk=/v1/Secret
metadata 1 meta.ObjectMeta
immutable 5 *bool
data 2 {}bytes
stringData 4 {}string
type 3 string

@ServiceAccount gvk=/v1/ServiceAccount
metadata 1 meta.ObjectMeta
secrets 2 []ObjectReference map=name
imagePullSecrets 3 []LocalObjectReference lt=atomic
automountServiceAccountToken 4 *bool

@Event gvk=/v1/Event
metadata! 1 meta.ObjectMeta
involvedObject! 2 ObjectReference
reason 3 string
message 4 string
source 5 EventSource
firstTimestamp 6 time
lastTimestamp 7 time
count 8 int32
type 9 string
eventTime 10 microtime
series 11 EventSeries
action 12 string
related 13 ObjectReference
reportingComponent 14 string
reportingInstance 15 string

@EventSource
component 1 string
host 2 string

@EventSeries
count 1 int32
lastObservedTime 2 microtime

@PersistentVolume gvk=/v1/PersistentVolume
metadata 1 meta.ObjectMeta
spec 2 PersistentVolumeSpec
status 3 PersistentVolumeStatus

@PersistentVolumeSpec
capacity 1 {}quantity
... 2 PersistentVolumeSource
accessModes 3 []string lt=atomic
claimRef 4 ObjectReference
persistentVolumeReclaimPolicy 5 string
storageClassName 6 string
mountOptions 7 []string lt=atomic
volumeMode 8 *string
nodeAffinity 9 VolumeNodeAffinity
volumeAttributesClassName 10 *string

# Only the sources a single-host cluster can serve; cloud and SAN sources are omitted.
@PersistentVolumeSource
hostPath 3 HostPathVolumeSource
nfs 5 NFSVolumeSource
local 20 LocalVolumeSource
csi 22 CSIPersistentVolumeSource

@LocalVolumeSource
path! 1 string
fsType 2 *string

@CSIPersistentVolumeSource
driver! 1 string
volumeHandle! 2 string
readOnly 3 bool
fsType 4 string
volumeAttributes 5 {}string
controllerPublishSecretRef 6 SecretReference
nodeStageSecretRef 7 SecretReference
nodePublishSecretRef 8 SecretReference
controllerExpandSecretRef 9 SecretReference
nodeExpandSecretRef 10 SecretReference

@VolumeNodeAffinity
required 1 NodeSelector

@PersistentVolumeStatus
phase 1 string
message 2 string
reason 3 string
lastPhaseTransitionTime 4 time

@PersistentVolumeClaim gvk=/v1/PersistentVolumeClaim
metadata 1 meta.ObjectMeta
spec 2 PersistentVolumeClaimSpec
status 3 PersistentVolumeClaimStatus

@PersistentVolumeClaimSpec
accessModes 1 []string lt=atomic
selector 4 meta.LabelSelector
resources 2 VolumeResourceRequirements
volumeName 3 string
storageClassName 5 *string
volumeMode 6 *string
dataSource 7 TypedLocalObjectReference
dataSourceRef 8 TypedObjectReference
volumeAttributesClassName 9 *string

@VolumeResourceRequirements
limits 1 {}quantity
requests 2 {}quantity

@PersistentVolumeClaimStatus
phase 1 string
accessModes 2 []string lt=atomic
capacity 3 {}quantity
conditions 4 []PersistentVolumeClaimCondition map=type
allocatedResources 5 {}quantity
allocatedResourceStatuses 7 {}string mt=granular
currentVolumeAttributesClassName 8 *string
modifyVolumeStatus 9 ModifyVolumeStatus

@PersistentVolumeClaimCondition
type! 1 string
status! 2 string
lastProbeTime 3 time
lastTransitionTime 4 time
reason 5 string
message 6 string

@ModifyVolumeStatus
targetVolumeAttributesClassName 1 string
status! 2 string
`,
);
