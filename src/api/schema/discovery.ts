// discovery.k8s.io/v1: EndpointSlice
// (https://kubernetes.io/docs/reference/kubernetes-api/service-resources/endpoint-slice-v1/).
// Field numbers follow k8s.io/api/discovery/v1/generated.proto.

import { defineTypes, PACKAGES } from "./builder.js";

export const discoveryTypes = defineTypes(
  PACKAGES.discovery!,
  `
@EndpointSlice gvk=discovery.k8s.io/v1/EndpointSlice
metadata 1 meta.ObjectMeta
addressType! 4 string
endpoints! 2 []Endpoint lt=atomic
ports 3 []EndpointPort lt=atomic

@Endpoint
addresses! 1 []string lt=set
conditions 2 EndpointConditions
hostname 3 *string
targetRef 4 core.ObjectReference
deprecatedTopology 5 {}string
nodeName 6 *string
zone 7 *string
hints 8 EndpointHints

@EndpointConditions
ready 1 *bool
serving 2 *bool
terminating 3 *bool

@EndpointHints
forZones 1 []ForZone lt=atomic
forNodes 2 []ForNode lt=atomic

@ForZone
name! 1 string

@ForNode
name! 1 string

@EndpointPort atomic
name 1 *string
protocol 2 *string
port 3 *int32
appProtocol 4 *string
`,
);
