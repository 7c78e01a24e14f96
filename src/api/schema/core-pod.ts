// core/v1 Pod: PodSpec with containers (probes, lifecycle, env, resources, security
// context, volume mounts), volumes with their common sources, scheduling constraints
// (affinity, tolerations, topology spread) and PodStatus
// (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/).
// Field numbers follow k8s.io/api/core/v1/generated.proto; merge keys and list types
// its +patchMergeKey/+listType markers. Volume sources beyond the common ones (cloud
// disks, iSCSI, …) are not described: strict validation reports them as unknown.

import { defineTypes, PACKAGES } from "./builder.js";

export const corePodTypes = defineTypes(
  PACKAGES.core!,
  `
@Pod gvk=/v1/Pod
metadata 1 meta.ObjectMeta
spec 2 PodSpec
status 3 PodStatus

@PodTemplateSpec
metadata 1 meta.ObjectMeta
spec 2 PodSpec

@PodSpec
volumes 1 []Volume mk=name ps=merge,retainKeys lt=map lk=name
initContainers 20 []Container map=name
containers! 2 []Container map=name
ephemeralContainers 34 []EphemeralContainer map=name
restartPolicy 3 string
terminationGracePeriodSeconds 4 *int64
activeDeadlineSeconds 5 *int64
dnsPolicy 6 string
nodeSelector 7 {}string mt=atomic
serviceAccountName 8 string
serviceAccount 9 string
automountServiceAccountToken 21 *bool
nodeName 10 string
hostNetwork 11 bool
hostPID 12 bool
hostIPC 13 bool
shareProcessNamespace 27 *bool
securityContext 14 PodSecurityContext
imagePullSecrets 15 []LocalObjectReference map=name
hostname 16 string
subdomain 17 string
affinity 18 Affinity
schedulerName 19 string
tolerations 22 []Toleration lt=atomic
hostAliases 23 []HostAlias map=ip
priorityClassName 24 string
priority 25 *int32
dnsConfig 26 PodDNSConfig
readinessGates 28 []PodReadinessGate lt=atomic
runtimeClassName 29 *string
enableServiceLinks 30 *bool
preemptionPolicy 31 *string
overhead 32 {}quantity
topologySpreadConstraints 33 []TopologySpreadConstraint mk=topologyKey lt=map lk=topologyKey,whenUnsatisfiable
setHostnameAsFQDN 35 *bool
os 36 PodOS
hostUsers 37 *bool
schedulingGates 38 []PodSchedulingGate map=name
resourceClaims 39 []PodResourceClaim mk=name ps=merge,retainKeys lt=map lk=name
resources 40 ResourceRequirements
hostnameOverride 41 *string
workloadRef 42 WorkloadReference

@Container
name! 1 string
image 2 string
command 3 []string lt=atomic
args 4 []string lt=atomic
workingDir 5 string
ports 6 []ContainerPort mk=containerPort lt=map lk=containerPort,protocol
envFrom 19 []EnvFromSource lt=atomic
env 7 []EnvVar map=name
resources 8 ResourceRequirements
resizePolicy 23 []ContainerResizePolicy lt=atomic
restartPolicy 24 *string
restartPolicyRules 25 []ContainerRestartRule lt=atomic
volumeMounts 9 []VolumeMount map=mountPath
volumeDevices 21 []VolumeDevice map=devicePath
livenessProbe 10 Probe
readinessProbe 11 Probe
startupProbe 22 Probe
lifecycle 12 Lifecycle
terminationMessagePath 13 string
terminationMessagePolicy 20 string
imagePullPolicy 14 string
securityContext 15 SecurityContext
stdin 16 bool
stdinOnce 17 bool
tty 18 bool

# EphemeralContainerCommon has Container's fields and numbers; embedded at tag 1.
@EphemeralContainer
... 1 Container
targetContainerName 2 string

@ContainerPort
name 1 string
hostPort 2 int32
containerPort! 3 int32
protocol 4 string
hostIP 5 string

@ContainerResizePolicy
resourceName! 1 string
restartPolicy! 2 string

@ContainerRestartRule
action! 1 string
exitCodes 2 ContainerRestartRuleOnExitCodes

@ContainerRestartRuleOnExitCodes
operator! 1 string
values 2 []int32 lt=set

@EnvFromSource
prefix 1 string
configMapRef 2 ConfigMapEnvSource
secretRef 3 SecretEnvSource

@ConfigMapEnvSource
... 1 LocalObjectReference
optional 2 *bool

@SecretEnvSource
... 1 LocalObjectReference
optional 2 *bool

@EnvVar
name! 1 string
value 2 string
valueFrom 3 EnvVarSource

@EnvVarSource
fieldRef 1 ObjectFieldSelector
resourceFieldRef 2 ResourceFieldSelector
configMapKeyRef 3 ConfigMapKeySelector
secretKeyRef 4 SecretKeySelector
fileKeyRef 5 FileKeySelector

@ObjectFieldSelector atomic
apiVersion 1 string
fieldPath! 2 string

@ResourceFieldSelector atomic
containerName 1 string
resource! 2 string
divisor 3 quantity

@ConfigMapKeySelector atomic
... 1 LocalObjectReference
key! 2 string
optional 3 *bool

@SecretKeySelector atomic
... 1 LocalObjectReference
key! 2 string
optional 3 *bool

@FileKeySelector atomic
volumeName! 1 string
path! 2 string
key! 3 string
optional 4 *bool

@ResourceRequirements
limits 1 {}quantity
requests 2 {}quantity
claims 3 []ResourceClaim map=name

@ResourceClaim
name! 1 string
request 2 string

@VolumeMount
name! 1 string
readOnly 2 bool
recursiveReadOnly 7 *string
mountPath! 3 string
subPath 4 string
mountPropagation 5 *string
subPathExpr 6 string

@VolumeDevice
name! 1 string
devicePath! 2 string

@Probe
... 1 ProbeHandler
initialDelaySeconds 2 int32
timeoutSeconds 3 int32
periodSeconds 4 int32
successThreshold 5 int32
failureThreshold 6 int32
terminationGracePeriodSeconds 7 *int64

@ProbeHandler
exec 1 ExecAction
httpGet 2 HTTPGetAction
tcpSocket 3 TCPSocketAction
grpc 4 GRPCAction

@ExecAction
command 1 []string lt=atomic

@HTTPGetAction
path 1 string
port! 2 ios
host 3 string
scheme 4 string
httpHeaders 5 []HTTPHeader lt=atomic

@HTTPHeader
name! 1 string
value! 2 string

@TCPSocketAction
port! 1 ios
host 2 string

@GRPCAction
port! 1 int32
service 2 *string

@Lifecycle
postStart 1 LifecycleHandler
preStop 2 LifecycleHandler
stopSignal 3 *string

@LifecycleHandler
exec 1 ExecAction
httpGet 2 HTTPGetAction
tcpSocket 3 TCPSocketAction
sleep 4 SleepAction

@SleepAction
seconds! 1 int64

@SecurityContext
capabilities 1 Capabilities
privileged 2 *bool
seLinuxOptions 3 SELinuxOptions
windowsOptions 10 WindowsSecurityContextOptions
runAsUser 4 *int64
runAsGroup 8 *int64
runAsNonRoot 5 *bool
readOnlyRootFilesystem 6 *bool
allowPrivilegeEscalation 7 *bool
procMount 9 *string
seccompProfile 11 SeccompProfile
appArmorProfile 12 AppArmorProfile
ulimits 13 []Ulimit lt=map lk=name

@Capabilities
add 1 []string lt=atomic
drop 2 []string lt=atomic

@Ulimit
name! 1 string
hard! 2 int64
soft! 3 int64

@SELinuxOptions
user 1 string
role 2 string
type 3 string
level 4 string

@WindowsSecurityContextOptions
gmsaCredentialSpecName 1 *string
gmsaCredentialSpec 2 *string
runAsUserName 3 *string
hostProcess 4 *bool

@SeccompProfile
type! 1 string
localhostProfile 2 *string

@AppArmorProfile
type! 1 string
localhostProfile 2 *string

@PodSecurityContext
seLinuxOptions 1 SELinuxOptions
windowsOptions 8 WindowsSecurityContextOptions
runAsUser 2 *int64
runAsGroup 6 *int64
runAsNonRoot 3 *bool
supplementalGroups 4 []int64 lt=atomic
supplementalGroupsPolicy 12 *string
fsGroup 5 *int64
sysctls 7 []Sysctl lt=atomic
fsGroupChangePolicy 9 *string
seccompProfile 10 SeccompProfile
appArmorProfile 11 AppArmorProfile
seLinuxChangePolicy 13 *string

@Sysctl
name! 1 string
value! 2 string

@Volume
name! 1 string
... 2 VolumeSource

@VolumeSource
hostPath 1 HostPathVolumeSource
emptyDir 2 EmptyDirVolumeSource
secret 6 SecretVolumeSource
nfs 7 NFSVolumeSource
persistentVolumeClaim 10 PersistentVolumeClaimVolumeSource
downwardAPI 16 DownwardAPIVolumeSource
configMap 19 ConfigMapVolumeSource
projected 26 ProjectedVolumeSource
csi 28 CSIVolumeSource
ephemeral 29 EphemeralVolumeSource
image 30 ImageVolumeSource

@HostPathVolumeSource
path! 1 string
type 2 *string

@EmptyDirVolumeSource
medium 1 string
sizeLimit 2 quantity

@SecretVolumeSource
secretName 1 string
items 2 []KeyToPath lt=atomic
defaultMode 3 *int32
optional 4 *bool

@ConfigMapVolumeSource
... 1 LocalObjectReference
items 2 []KeyToPath lt=atomic
defaultMode 3 *int32
optional 4 *bool

@KeyToPath
key! 1 string
path! 2 string
mode 3 *int32

@NFSVolumeSource
server! 1 string
path! 2 string
readOnly 3 bool

@PersistentVolumeClaimVolumeSource
claimName! 1 string
readOnly 2 bool

@DownwardAPIVolumeSource
items 1 []DownwardAPIVolumeFile lt=atomic
defaultMode 2 *int32

@DownwardAPIVolumeFile
path! 1 string
fieldRef 2 ObjectFieldSelector
resourceFieldRef 3 ResourceFieldSelector
mode 4 *int32

@ProjectedVolumeSource
sources 1 []VolumeProjection lt=atomic
defaultMode 2 *int32

@VolumeProjection
secret 1 SecretProjection
downwardAPI 2 DownwardAPIProjection
configMap 3 ConfigMapProjection
serviceAccountToken 4 ServiceAccountTokenProjection
clusterTrustBundle 5 ClusterTrustBundleProjection

@SecretProjection
... 1 LocalObjectReference
items 2 []KeyToPath lt=atomic
optional 4 *bool

@ConfigMapProjection
... 1 LocalObjectReference
items 2 []KeyToPath lt=atomic
optional 4 *bool

@DownwardAPIProjection
items 1 []DownwardAPIVolumeFile lt=atomic

@ServiceAccountTokenProjection
audience 1 string
expirationSeconds 2 *int64
path! 3 string

@ClusterTrustBundleProjection
name 1 *string
signerName 2 *string
labelSelector 3 meta.LabelSelector
optional 5 *bool
path! 4 string

@CSIVolumeSource
driver! 1 string
readOnly 2 *bool
fsType 3 *string
volumeAttributes 4 {}string
nodePublishSecretRef 5 LocalObjectReference

@EphemeralVolumeSource
volumeClaimTemplate 1 PersistentVolumeClaimTemplate

@PersistentVolumeClaimTemplate
metadata 1 meta.ObjectMeta
spec! 2 PersistentVolumeClaimSpec

@ImageVolumeSource
reference 1 string
pullPolicy 2 string

@Affinity
nodeAffinity 1 NodeAffinity
podAffinity 2 PodAffinity
podAntiAffinity 3 PodAntiAffinity

@NodeAffinity
requiredDuringSchedulingIgnoredDuringExecution 1 NodeSelector
preferredDuringSchedulingIgnoredDuringExecution 2 []PreferredSchedulingTerm lt=atomic

@NodeSelector atomic
nodeSelectorTerms! 1 []NodeSelectorTerm lt=atomic

@NodeSelectorTerm atomic
matchExpressions 1 []NodeSelectorRequirement lt=atomic
matchFields 2 []NodeSelectorRequirement lt=atomic

@NodeSelectorRequirement
key! 1 string
operator! 2 string
values 3 []string lt=atomic

@PreferredSchedulingTerm
weight! 1 int32
preference! 2 NodeSelectorTerm

@PodAffinity
requiredDuringSchedulingIgnoredDuringExecution 1 []PodAffinityTerm lt=atomic
preferredDuringSchedulingIgnoredDuringExecution 2 []WeightedPodAffinityTerm lt=atomic

@PodAntiAffinity
requiredDuringSchedulingIgnoredDuringExecution 1 []PodAffinityTerm lt=atomic
preferredDuringSchedulingIgnoredDuringExecution 2 []WeightedPodAffinityTerm lt=atomic

@PodAffinityTerm
labelSelector 1 meta.LabelSelector
namespaces 2 []string lt=atomic
topologyKey! 3 string
namespaceSelector 4 meta.LabelSelector
matchLabelKeys 5 []string lt=atomic
mismatchLabelKeys 6 []string lt=atomic

@WeightedPodAffinityTerm
weight! 1 int32
podAffinityTerm! 2 PodAffinityTerm

@Toleration
key 1 string
operator 2 string
value 3 string
effect 4 string
tolerationSeconds 5 *int64

@TopologySpreadConstraint
maxSkew! 1 int32
topologyKey! 2 string
whenUnsatisfiable! 3 string
labelSelector 4 meta.LabelSelector
minDomains 5 *int32
nodeAffinityPolicy 6 *string
nodeTaintsPolicy 7 *string
matchLabelKeys 8 []string lt=atomic

@HostAlias
ip! 1 string
hostnames 2 []string lt=atomic

@PodDNSConfig
nameservers 1 []string lt=atomic
searches 2 []string lt=atomic
options 3 []PodDNSConfigOption lt=atomic

@PodDNSConfigOption
name 1 string
value 2 *string

@PodReadinessGate
conditionType! 1 string

@PodOS
name! 1 string

@PodSchedulingGate
name! 1 string

@PodResourceClaim
name! 1 string
resourceClaimName 3 *string
resourceClaimTemplateName 4 *string

@WorkloadReference
name! 1 string
podGroup! 2 string
podGroupReplicaKey 3 string

@PodStatus
observedGeneration 17 int64
phase 1 string
conditions 2 []PodCondition map=type
message 3 string
reason 4 string
nominatedNodeName 11 string
hostIP 5 string
hostIPs 16 []HostIP mk=ip lt=atomic
podIP 6 string
podIPs 12 []PodIP map=ip
startTime 7 time
initContainerStatuses 10 []ContainerStatus lt=atomic
containerStatuses 8 []ContainerStatus lt=atomic
qosClass 9 string
ephemeralContainerStatuses 13 []ContainerStatus lt=atomic
resize 14 string
resourceClaimStatuses 15 []PodResourceClaimStatus mk=name ps=merge,retainKeys lt=map lk=name
allocatedResources 19 {}quantity
resources 20 ResourceRequirements

@PodCondition
type! 1 string
observedGeneration 7 int64
status! 2 string
lastProbeTime 3 time
lastTransitionTime 4 time
reason 5 string
message 6 string

@HostIP
ip! 1 string

@PodIP
ip! 1 string

@PodResourceClaimStatus
name! 1 string
resourceClaimName 2 *string

@ContainerStatus
name! 1 string
state 2 ContainerState
lastState 3 ContainerState
ready! 4 bool
restartCount! 5 int32
image! 6 string
imageID! 7 string
containerID 8 string
started 9 *bool
allocatedResources 10 {}quantity
resources 11 ResourceRequirements
volumeMounts 12 []VolumeMountStatus map=mountPath
user 13 ContainerUser
allocatedResourcesStatus 14 []ResourceStatus map=name
stopSignal 15 *string

@ContainerState
waiting 1 ContainerStateWaiting
running 2 ContainerStateRunning
terminated 3 ContainerStateTerminated

@ContainerStateWaiting
reason 1 string
message 2 string

@ContainerStateRunning
startedAt 1 time

@ContainerStateTerminated
exitCode! 1 int32
signal 2 int32
reason 3 string
message 4 string
startedAt 5 time
finishedAt 6 time
containerID 7 string

@VolumeMountStatus
name! 1 string
mountPath! 2 string
readOnly 3 bool
recursiveReadOnly 4 *string

@ContainerUser
linux 1 LinuxContainerUser

@LinuxContainerUser
uid! 1 int64
gid! 2 int64
supplementalGroups 3 []int64 lt=atomic

@ResourceStatus
name! 1 string
resources 2 []ResourceHealth map=resourceID

@ResourceHealth
resourceID! 1 string
health 2 string
message 6 string
`,
);
