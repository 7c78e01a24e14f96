import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import { coreToEventsV1, eventsResources, eventsV1ToCore } from "./events.js";

const def = eventsResources[0];
const now = new Date("2024-01-01T01:00:00Z");

function ev(): KObject {
  return {
    apiVersion: "events.k8s.io/v1",
    kind: "Event",
    metadata: { name: "web.1", namespace: "default" },
    eventTime: "2024-01-01T00:59:00.000000Z",
    reportingController: "tugboat.io/deployment-controller",
    reportingInstance: "tug-1",
    action: "Scaling",
    reason: "ScalingReplicaSet",
    regarding: { kind: "Deployment", namespace: "default", name: "web", uid: "u" },
    note: "Scaled up replica set web-1 to 3",
    type: "Normal",
    series: { count: 2, lastObservedTime: "2024-01-01T00:59:30.000000Z" },
  };
}

test("events.k8s.io ↔ core conversion", () => {
  const core = eventsV1ToCore(ev());
  assert.equal(core.apiVersion, "v1");
  assert.deepEqual(core.involvedObject, ev().regarding);
  assert.equal(core.message, ev().note);
  assert.equal(core.reportingComponent, "tugboat.io/deployment-controller");
  assert.equal(core.reportingInstance, "tug-1");
  assert.deepEqual(core.series, ev().series);
  assert.equal(core.regarding, undefined);
  assert.deepEqual(coreToEventsV1(core), ev());

  const legacy: KObject = {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: "p.1", namespace: "default" },
    involvedObject: { kind: "Pod", name: "p" },
    reason: "Pulled",
    message: "Pulled image",
    source: { component: "kubelet", host: "node1" },
    firstTimestamp: "2024-01-01T00:00:00Z",
    lastTimestamp: "2024-01-01T00:30:00Z",
    count: 4,
    type: "Normal",
  };
  const v1 = coreToEventsV1(legacy);
  assert.deepEqual(v1.deprecatedSource, { component: "kubelet", host: "node1" });
  assert.equal(v1.deprecatedCount, 4);
  assert.equal(v1.deprecatedFirstTimestamp, "2024-01-01T00:00:00Z");
  assert.equal(v1.deprecatedLastTimestamp, "2024-01-01T00:30:00Z");
  assert.deepEqual(eventsV1ToCore(v1), legacy);
  assert.deepEqual(def.table!.cells(legacy, now), ["30m", "Normal", "Pulled", "pod/p", "", "kubelet, node1", "Pulled image", "60m", 4]);
});

test("events.k8s.io create/update validation", () => {
  assert.deepEqual(def.validate!(ev(), { operation: "create" }), []);
  const bad = ev();
  delete bad.eventTime;
  delete bad.action;
  bad.type = "Info";
  bad.deprecatedCount = 3;
  assert.deepEqual(def.validate!(bad, { operation: "create" }).map((e) => e.field), ["action", "eventTime", "type", "deprecatedCount"]);
  const old: KObject = { ...ev(), metadata: { ...ev().metadata, resourceVersion: "1" } };
  const upd: KObject = structuredClone(old);
  upd.series = { count: 3, lastObservedTime: "2024-01-01T00:59:40.000000Z" };
  assert.deepEqual(def.validate!(upd, { operation: "update", old }), []);
  upd.note = "changed";
  assert.deepEqual(def.validate!(upd, { operation: "update", old }).map((e) => e.field), ["note"]);
  assert.equal(def.storageResource!.plural, "events");
  assert.equal(def.fieldSelectors!["regarding.name"](eventsV1ToCore(ev())), "web");
  assert.equal(def.fieldSelectors!["regarding.name"](ev()), "web");
});
