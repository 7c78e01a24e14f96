// networking.k8s.io/v1: Ingress and IngressClass
// (https://kubernetes.io/docs/reference/kubernetes-api/service-resources/ingress-v1/).
// Field numbers follow k8s.io/api/networking/v1/generated.proto.

import { defineTypes, PACKAGES } from "./builder.js";

export const networkingTypes = defineTypes(
  PACKAGES.networking!,
  `
@Ingress gvk=networking.k8s.io/v1/Ingress
metadata 1 meta.ObjectMeta
spec 2 IngressSpec
status 3 IngressStatus

@IngressSpec
ingressClassName 4 *string
defaultBackend 1 IngressBackend
tls 2 []IngressTLS lt=atomic
rules 3 []IngressRule lt=atomic

@IngressBackend
service 4 IngressServiceBackend
resource 3 core.TypedLocalObjectReference

@IngressServiceBackend
name! 1 string
port 2 ServiceBackendPort

@ServiceBackendPort atomic
name 1 string
number 2 int32

@IngressTLS
hosts 1 []string lt=atomic
secretName 2 string

@IngressRule
host 1 string
... 2 IngressRuleValue

@IngressRuleValue
http 1 HTTPIngressRuleValue

@HTTPIngressRuleValue
paths! 1 []HTTPIngressPath lt=atomic

@HTTPIngressPath
path 1 string
pathType! 3 string
backend! 2 IngressBackend

@IngressStatus
loadBalancer 1 IngressLoadBalancerStatus

@IngressLoadBalancerStatus
ingress 1 []IngressLoadBalancerIngress lt=atomic

@IngressLoadBalancerIngress
ip 1 string
hostname 2 string
ports 4 []IngressPortStatus lt=atomic

@IngressPortStatus
port! 1 int32
protocol! 2 string
error 3 *string

@IngressClass gvk=networking.k8s.io/v1/IngressClass
metadata 1 meta.ObjectMeta
spec 2 IngressClassSpec

@IngressClassSpec
controller 1 string
parameters 2 IngressClassParametersReference

@IngressClassParametersReference
apiGroup 1 *string
kind! 2 string
name! 3 string
scope 4 *string
namespace 5 *string
`,
);
