import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import { batchResources, cronScheduleError, isValidTimeZone } from "./batch.js";
import type { ResourceDef } from "./types.js";

const def = (kind: string): ResourceDef => batchResources.find((d) => d.kind === kind)!;
const now = new Date("2024-01-01T01:00:00Z");

function job(): KObject {
  return {
    metadata: { name: "pi", namespace: "default", uid: "u-1", creationTimestamp: "2024-01-01T00:00:00Z" },
    spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "pi", image: "perl" }] } } },
  };
}

test("job defaults and generated selector", () => {
  const j = job();
  def("Job").defaults!(j);
  assert.equal(j.spec.parallelism, 1);
  assert.equal(j.spec.completions, 1);
  assert.equal(j.spec.backoffLimit, 6);
  assert.equal(j.spec.completionMode, "NonIndexed");
  assert.equal(j.spec.suspend, false);
  assert.equal(j.spec.podReplacementPolicy, "TerminatingOrFailed");
  assert.deepEqual(j.spec.selector, { matchLabels: { "batch.kubernetes.io/controller-uid": "u-1" } });
  assert.deepEqual(j.spec.template.metadata.labels, {
    "job-name": "pi",
    "batch.kubernetes.io/job-name": "pi",
    "controller-uid": "u-1",
    "batch.kubernetes.io/controller-uid": "u-1",
  });
  assert.deepEqual(j.metadata.labels, j.spec.template.metadata.labels);
  assert.equal(j.spec.manualSelector, undefined);
  assert.deepEqual(def("Job").validate!(j, { operation: "create" }), []);

  const par = job();
  par.spec.parallelism = 3;
  def("Job").defaults!(par);
  assert.equal(par.spec.completions, undefined);
});

test("job validation", () => {
  const v = (mut: (j: KObject) => void) => {
    const j = job();
    mut(j);
    def("Job").defaults!(j);
    return def("Job").validate!(j, { operation: "create" });
  };
  const always = v((j) => (j.spec.template.spec.restartPolicy = "Always"));
  assert.equal(always[0].field, "spec.template.spec.restartPolicy");
  assert.equal(always[0].message, 'Required value: valid values: "OnFailure", "Never"');
  assert.equal(v((j) => (j.spec.backoffLimit = -1))[0].field, "spec.backoffLimit");
  assert.equal(v((j) => (j.spec.completionMode = "Sometimes"))[0].reason, "FieldValueNotSupported");
  assert.equal(v((j) => (j.spec.parallelism = "two"))[0].reason, "FieldValueTypeInvalid");
  const wrongUid = v((j) => (j.spec.template.metadata = { labels: { "controller-uid": "other" } }));
  assert.ok(wrongUid.some((e) => e.field === "spec.template.metadata.labels[controller-uid]" && /must be 'u-1'/.test(e.message)));
  // Manual selector: the user's selector must match the template.
  const manual = v((j) => {
    j.spec.manualSelector = true;
    j.spec.selector = { matchLabels: { a: "b" } };
  });
  assert.match(manual[0].message, /`selector` does not match template `labels`/);
});

test("job template is immutable unless suspended and never started", () => {
  const old = job();
  def("Job").defaults!(old);
  old.metadata.resourceVersion = "1";
  const upd = structuredClone(old);
  upd.spec.template.spec.nodeSelector = { zone: "a" };
  assert.equal(def("Job").validate!(upd, { operation: "update", old })[0].field, "spec.template");
  old.spec.suspend = true;
  assert.deepEqual(def("Job").validate!(upd, { operation: "update", old }), []);
  upd.spec.template.spec.containers[0].image = "other";
  assert.equal(def("Job").validate!(upd, { operation: "update", old })[0].field, "spec.template");
});

test("job table", () => {
  const j = job();
  def("Job").defaults!(j);
  j.status = { succeeded: 1, startTime: "2024-01-01T00:00:00Z", completionTime: "2024-01-01T00:00:10Z", conditions: [{ type: "Complete", status: "True" }] };
  const cells = def("Job").table!.cells(j, now);
  assert.deepEqual(cells.slice(0, 6), ["Complete", "1/1", "10s", "60m", "pi", "perl"]);
  assert.equal(cells[6], "batch.kubernetes.io/controller-uid=u-1");
  const p: KObject = { metadata: {}, spec: { parallelism: 3 }, status: {} };
  assert.deepEqual(def("Job").table!.cells(p, now).slice(0, 3), ["Running", "0/1 of 3", ""]);
  assert.equal(def("Job").fieldSelectors!["status.successful"](j), "1");
});

test("cron schedules: robfig grammar and messages", () => {
  for (const ok of ["*/5 * * * *", "0 0 * * MON-FRI", "@hourly", "@daily", "@midnight", "@yearly", "@every 1h30m", "0 9 1-7 * 1", "? * * * *", "5 4 * jan,jul sun"]) {
    assert.equal(cronScheduleError(ok), undefined, ok);
  }
  assert.equal(cronScheduleError("foo"), "expected exactly 5 fields, found 1: [foo]");
  assert.equal(cronScheduleError("* * * *"), "expected exactly 5 fields, found 4: [* * * *]");
  assert.equal(cronScheduleError("61 * * * *"), "end of range (61) above maximum (59): 61");
  assert.equal(cronScheduleError("0-70 * * * *"), "end of range (70) above maximum (59): 0-70");
  assert.equal(cronScheduleError("x * * * *"), 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax');
  assert.equal(cronScheduleError("*/0 * * * *"), "step of range should be a positive number: */0");
  assert.equal(cronScheduleError("@fortnightly"), "unrecognized descriptor: @fortnightly");
  assert.ok(isValidTimeZone("Europe/Paris"));
  assert.ok(!isValidTimeZone("Mars/Olympus"));
  assert.ok(!isValidTimeZone("europe/paris"));
});

test("cronjob defaults, validation and table", () => {
  const cj: KObject = {
    metadata: { name: "hello", namespace: "default", creationTimestamp: "2024-01-01T00:00:00Z" },
    spec: { schedule: "*/1 * * * *", jobTemplate: { spec: { template: { spec: { restartPolicy: "OnFailure", containers: [{ name: "hello", image: "busybox" }] } } } } },
  };
  def("CronJob").defaults!(cj);
  assert.equal(cj.spec.concurrencyPolicy, "Allow");
  assert.equal(cj.spec.suspend, false);
  assert.equal(cj.spec.successfulJobsHistoryLimit, 3);
  assert.equal(cj.spec.failedJobsHistoryLimit, 1);
  assert.equal(cj.spec.jobTemplate.spec.backoffLimit, undefined);
  assert.deepEqual(def("CronJob").validate!(cj, { operation: "create" }), []);
  const bad = (mut: (o: KObject) => void) => {
    const c = structuredClone(cj);
    mut(c);
    return def("CronJob").validate!(c, { operation: "create" });
  };
  assert.match(bad((c) => (c.spec.schedule = "TZ=UTC 0 * * * *"))[0].message, /cannot use TZ or CRON_TZ in schedule, use timeZone field instead/);
  assert.match(bad((c) => (c.spec.timeZone = "Nowhere/Land"))[0].message, /unknown time zone Nowhere\/Land/);
  assert.match(bad((c) => (c.spec.timeZone = "Local"))[0].message, /must be an explicit time zone/);
  assert.equal(bad((c) => (c.spec.concurrencyPolicy = "Sometimes"))[0].field, "spec.concurrencyPolicy");
  assert.match(bad((c) => (c.spec.jobTemplate.spec.selector = { matchLabels: { a: "b" } }))[0].message, /will be auto-generated/);
  assert.equal(bad((c) => (c.spec.schedule = 5))[0].reason, "FieldValueTypeInvalid");
  assert.equal(bad((c) => (c.metadata.name = "x".repeat(53)))[0].field, "metadata.name");
  cj.status = { active: [{ name: "hello-1" }], lastScheduleTime: "2024-01-01T00:59:00Z" };
  cj.spec.timeZone = "Etc/UTC";
  assert.deepEqual(def("CronJob").table!.cells(cj, now), ["*/1 * * * *", "Etc/UTC", "False", 1, "60s", "60m", "hello", "busybox", "<none>"]);
});
