import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import { autoscalingResources, formatHPAMetrics, hpaV1ToV2, hpaV2ToV1, METRICS_ANNOTATION } from "./autoscaling.js";

const v2 = autoscalingResources.find((d) => d.version === "v2")!;
const v1 = autoscalingResources.find((d) => d.version === "v1")!;
const now = new Date("2024-01-01T01:00:00Z");

const base = (): KObject => ({
  metadata: { name: "web", namespace: "default", creationTimestamp: "2024-01-01T00:00:00Z" },
  spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, maxReplicas: 5 },
});

test("v2 defaults: minReplicas, cpu 80%, behavior only when given", () => {
  const h = base();
  v2.defaults!(h);
  assert.equal(h.spec.minReplicas, 1);
  assert.deepEqual(h.spec.metrics, [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } }]);
  assert.equal(h.spec.behavior, undefined);
  const b = base();
  b.spec.behavior = { scaleDown: { stabilizationWindowSeconds: 60 } };
  v2.defaults!(b);
  assert.deepEqual(b.spec.behavior.scaleUp, {
    stabilizationWindowSeconds: 0,
    selectPolicy: "Max",
    policies: [
      { type: "Pods", value: 4, periodSeconds: 15 },
      { type: "Percent", value: 100, periodSeconds: 15 },
    ],
  });
  assert.deepEqual(b.spec.behavior.scaleDown, { stabilizationWindowSeconds: 60, selectPolicy: "Max", policies: [{ type: "Percent", value: 100, periodSeconds: 15 }] });
  assert.deepEqual(v2.validate!(b, { operation: "create" }), []);
});

test("v1 ↔ v2 round trip", () => {
  const h1: KObject = { apiVersion: "autoscaling/v1", kind: "HorizontalPodAutoscaler", ...base() };
  h1.spec.minReplicas = 2;
  h1.spec.targetCPUUtilizationPercentage = 50;
  h1.status = { currentReplicas: 2, desiredReplicas: 3, currentCPUUtilizationPercentage: 70 };
  const stored = hpaV1ToV2(h1);
  assert.equal(stored.apiVersion, "autoscaling/v2");
  assert.deepEqual(stored.spec.metrics, [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }]);
  assert.deepEqual(stored.status.currentMetrics, [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 70 } } }]);
  const back = hpaV2ToV1(stored);
  assert.equal(back.spec.targetCPUUtilizationPercentage, 50);
  assert.equal(back.status.currentCPUUtilizationPercentage, 70);
  assert.equal(back.spec.minReplicas, 2);
  assert.equal(back.status.desiredReplicas, 3);

  // A v2 object with extra metrics and behavior survives a trip through v1.
  const h2 = base();
  h2.spec.metrics = [
    { type: "Pods", pods: { metric: { name: "qps" }, target: { type: "AverageValue", averageValue: "10" } } },
    { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } } },
  ];
  h2.spec.behavior = { scaleUp: { policies: [{ type: "Pods", value: 1, periodSeconds: 60 }] } };
  v2.defaults!(h2);
  const asV1 = hpaV2ToV1(h2);
  assert.equal(asV1.spec.targetCPUUtilizationPercentage, 60);
  assert.ok(asV1.metadata.annotations![METRICS_ANNOTATION]);
  const again = hpaV1ToV2(asV1);
  assert.deepEqual(again.spec, h2.spec);
  assert.equal(again.metadata.annotations, undefined);

  // No target in v1 reads back as the 80% default, as upstream.
  const plain = hpaV1ToV2({ ...base(), apiVersion: "autoscaling/v1" });
  assert.equal(hpaV2ToV1(plain).spec.targetCPUUtilizationPercentage, 80);
});

test("validation (v1 errors use v2 paths, as upstream)", () => {
  const h = base();
  h.spec.minReplicas = 6;
  assert.match(v2.validate!(h, { operation: "create" })[0].message, /must be greater than or equal to `minReplicas`/);
  const h1 = base();
  h1.spec.targetCPUUtilizationPercentage = 0;
  v1.defaults!(h1);
  const errs = v1.validate!(h1, { operation: "create" });
  assert.deepEqual(errs.map((e) => e.field), ["spec.metrics[0].resource.target.averageUtilization"]);
  assert.equal(v1.validate!({ ...base(), spec: { ...base().spec, targetCPUUtilizationPercentage: "50" } }, { operation: "create" })[0].reason, "FieldValueTypeInvalid");
  const noRef = base();
  delete noRef.spec.scaleTargetRef;
  assert.deepEqual(v2.validate!(noRef, { operation: "create" }).map((e) => e.field), ["spec.scaleTargetRef.kind", "spec.scaleTargetRef.name"]);
  const badMetric = base();
  badMetric.spec.metrics = [{ type: "Resource", pods: {} }];
  assert.deepEqual(v2.validate!(badMetric, { operation: "create" }).map((e) => e.field), ["spec.metrics[0].resource", "spec.metrics[0].pods"]);
  const badPolicy = base();
  badPolicy.spec.behavior = { scaleUp: { policies: [{ type: "Pods", value: 0, periodSeconds: 2000 }] } };
  assert.deepEqual(v2.validate!(badPolicy, { operation: "create" }).map((e) => e.message), [
    "Invalid value: 0: must be greater than zero",
    "Invalid value: 2000: must be less than or equal to 1800",
  ]);
});

test("table", () => {
  const h = base();
  v2.defaults!(h);
  h.status = { currentReplicas: 2, currentMetrics: [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 35 } } }] };
  assert.deepEqual(v2.table!.cells(h, now), ["Deployment/web", "cpu: 35%/80%", "1", 5, 2, "60m"]);
  const h1 = { ...base(), apiVersion: "autoscaling/v1" };
  assert.deepEqual(v1.table!.cells(h1, now), ["Deployment/web", "cpu: <unknown>/80%", "1", 5, 0, "60m"]);
  assert.equal(formatHPAMetrics([], []), "<none>");
  const m = { type: "Pods", pods: { metric: { name: "q" }, target: { averageValue: "1000m" } } };
  assert.equal(formatHPAMetrics([m, m, m], []), "<unknown>/1, <unknown>/1 + 1 more...");
});
