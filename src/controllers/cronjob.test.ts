import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import { nowRFC3339 } from "../apimachinery/types.js";
import { FakeClock } from "../client/clock.js";
import { CRONJOB_SCHEDULED_TIMESTAMP, cronJobController, missedRuns, parseSchedule } from "./cronjob.js";
import { type AfterHook, sleep, startControllers, until } from "./testing.js";

function cronJob(name: string, spec: Record<string, unknown>): KObject {
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name, namespace: "default" },
    spec: {
      schedule: "*/1 * * * *",
      jobTemplate: { spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox" }] } } } },
      ...spec,
    },
  };
}

async function setup(t: AfterHook) {
  // Fake time starts just after real time: creationTimestamp comes from the real clock.
  const clock = new FakeClock(Math.ceil(Date.now() / 1000) * 1000 + 1000);
  const { api, recorder } = await startControllers(t, cronJobController, { clock });
  const jobs = async () => (await api.client.list("batch/v1/jobs", { namespace: "default" })).items;
  /** Moves fake time to just past the next minute boundary. */
  const toNextMinute = async () => {
    await sleep(100);
    await clock.advance(60_000 - (clock.now() % 60_000) + 500);
  };
  return { api, clock, recorder, jobs, toNextMinute };
}

test("schedules: macros, time zones, missed runs", () => {
  const t0 = Date.UTC(2026, 0, 1, 10, 30, 0);
  assert.equal(parseSchedule("@hourly").next(t0), Date.UTC(2026, 0, 1, 11, 0, 0));
  assert.equal(parseSchedule("@daily").next(t0), Date.UTC(2026, 0, 2, 0, 0, 0));
  // Midnight in New York is 05:00 UTC in January.
  assert.equal(parseSchedule("0 0 * * *", "America/New_York").next(t0), Date.UTC(2026, 0, 2, 5, 0, 0));
  assert.equal(parseSchedule("CRON_TZ=America/New_York 0 0 * * *").next(t0), Date.UTC(2026, 0, 2, 5, 0, 0));
  assert.equal(parseSchedule("@every 90s").next(t0), t0 + 90_000);
  const r = missedRuns(parseSchedule("*/1 * * * *"), t0, t0 + 3 * 60_000 + 5000);
  assert.deepEqual(r, { latest: t0 + 180_000, count: 3, next: t0 + 240_000 });
  const many = missedRuns(parseSchedule("*/1 * * * *"), t0, t0 + 1000 * 60_000);
  assert.ok(many.count > 100);
  assert.equal(many.latest, t0 + 1000 * 60_000);
  assert.throws(() => parseSchedule("not a schedule"));
});

test("*/1 creates a job at the minute boundary, named by minutes since epoch", async (t) => {
  const { api, clock, jobs, toNextMinute } = await setup(t);
  await api.client.create("batch/v1/cronjobs", cronJob("tick", {}));
  await sleep(100);
  assert.equal((await jobs()).length, 0, "nothing before the first boundary");
  await toNextMinute();
  const [job] = await until("job", async () => {
    const js = await jobs();
    return js.length > 0 && js;
  });
  const minute = Math.floor(clock.now() / 60_000);
  assert.equal(job.metadata.name, `tick-${minute}`);
  assert.equal(job.metadata.annotations?.[CRONJOB_SCHEDULED_TIMESTAMP], nowRFC3339(new Date(minute * 60_000)));
  assert.equal(job.metadata.ownerReferences?.[0]?.kind, "CronJob");
  const cj = await until("status", async () => {
    const c = await api.client.get("batch/v1/cronjobs", "default", "tick");
    return c.status?.lastScheduleTime && c;
  });
  assert.equal(cj.status.lastScheduleTime, nowRFC3339(new Date(minute * 60_000)));
  assert.equal(cj.status.active?.[0]?.name, job.metadata.name);
});

test("Forbid skips a run while a job is active, then runs once it finishes", async (t) => {
  const { api, clock, recorder, jobs, toNextMinute } = await setup(t);
  await api.client.create("batch/v1/cronjobs", cronJob("solo", { concurrencyPolicy: "Forbid" }));
  await toNextMinute();
  const [first] = await until("first job", async () => {
    const js = await jobs();
    return js.length > 0 && js;
  });
  await toNextMinute();
  await until("JobAlreadyActive", async () => recorder.events.some((e) => e.reason === "JobAlreadyActive"));
  assert.equal((await jobs()).length, 1, "no second job while the first is active");
  // The first job finishes: the skipped run starts.
  const now = nowRFC3339(new Date(clock.now()));
  await api.client.updateStatus("batch/v1/jobs", {
    ...first,
    status: {
      startTime: now,
      completionTime: now,
      succeeded: 1,
      conditions: [
        { type: "SuccessCriteriaMet", status: "True", lastProbeTime: now, lastTransitionTime: now },
        { type: "Complete", status: "True", lastProbeTime: now, lastTransitionTime: now },
      ],
    },
  });
  const js = await until("second job", async () => {
    const x = await jobs();
    return x.length === 2 && x;
  });
  assert.ok(js.some((j) => j.metadata.name === `solo-${Math.floor(clock.now() / 60_000)}`));
  const cj = await until("lastSuccessfulTime", async () => {
    const c = await api.client.get("batch/v1/cronjobs", "default", "solo");
    return c.status?.lastSuccessfulTime && c;
  });
  assert.equal(cj.status.lastSuccessfulTime, now);
});
