// events.k8s.io/v1: Event, the structured successor of core/v1 Event
// (https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1/).
// Field numbers follow k8s.io/api/events/v1/generated.proto.

import { defineTypes, PACKAGES } from "./builder.js";

export const eventsTypes = defineTypes(
  PACKAGES.events!,
  `
@Event gvk=events.k8s.io/v1/Event
metadata 1 meta.ObjectMeta
eventTime! 2 microtime
series 3 EventSeries
reportingController 4 string
reportingInstance 5 string
action 6 string
reason 7 string
regarding 8 core.ObjectReference
related 9 core.ObjectReference
note 10 string
type 11 string
deprecatedSource 12 core.EventSource
deprecatedFirstTimestamp 13 time
deprecatedLastTimestamp 14 time
deprecatedCount 15 int32

@EventSeries
count! 1 int32
lastObservedTime! 2 microtime
`,
);
