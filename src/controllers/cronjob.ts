// The CronJob controller (https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/):
// creates a Job for each scheduled time of `spec.schedule` (standard 5-field cron, the
// @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly macros and @every, in
// `spec.timeZone` or the CRON_TZ= prefix, default UTC), named `<cronjob>-<minutes since
// epoch>` so a retry can never start the same run twice. Honours concurrencyPolicy
// (Allow/Forbid/Replace), startingDeadlineSeconds, suspend and the jobs-history limits,
// keeps status.active/lastScheduleTime/lastSuccessfulTime, and requeues itself for the
// next scheduled time on ctx.clock (so tests run on a FakeClock).

import { CronExpressionParser } from "cron-parser";
import { AlreadyExists, isStatusError } from "../apimachinery/errors.js";
import { deepCopy, nowRFC3339, type KObject } from "../apimachinery/types.js";
import { normalizeCronSchedule } from "../api/batch.js";
import type { Controller, ReconcileContext, ReconcileResult } from "../client/controller.js";
import { jobFinished } from "./job.js";

export const CRONJOBS = "batch/v1/cronjobs";
const JOBS = "batch/v1/jobs";
export const CRONJOB_SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp";
/** More missed start times than this and upstream warns and only starts the latest. */
const MAX_MISSED = 100;

const ms = (t: string | undefined): number | undefined => (t ? Date.parse(t) : undefined);

export interface Schedule {
  /** The first scheduled time strictly after `t` (ms). */
  next(t: number): number;
}

/** Go's time.ParseDuration, as @every uses it. */
function goDurationMs(s: string): number {
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of s.matchAll(/([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * unit[m[2]];
  return total;
}

/** Parses a schedule in a time zone; throws on a bad schedule. */
export function parseSchedule(schedule: string, timeZone?: string): Schedule {
  let s = schedule.trim();
  let tz = timeZone || "UTC";
  const m = /^(?:CRON_TZ|TZ)=(\S+)\s+/.exec(s);
  if (m) {
    tz = m[1];
    s = s.slice(m[0].length);
  }
  if (s.startsWith("@every ")) {
    // robfig's ConstantDelaySchedule: at least 1 s, whole seconds, from the given time.
    const every = Math.max(1000, Math.floor(goDurationMs(s.slice(7).trim()) / 1000) * 1000);
    return { next: (t) => Math.floor(t / 1000) * 1000 + every };
  }
  const expr = normalizeCronSchedule(s).replace(/\?/g, "*");
  CronExpressionParser.parse(expr, { tz });
  return {
    next(t) {
      // Cron has minute resolution: start from the second containing t, strictly after it.
      return CronExpressionParser.parse(expr, { currentDate: new Date(Math.floor(t / 1000) * 1000), tz }).next().getTime();
    },
  };
}

/**
 * The scheduled times in (earliest, now]: the most recent one, how many there were
 * (capped just above MAX_MISSED) and the next one after now.
 */
export function missedRuns(sched: Schedule, earliest: number, now: number): { latest?: number; count: number; next: number } {
  let latest: number | undefined;
  let count = 0;
  let t = sched.next(earliest);
  while (t <= now) {
    latest = t;
    count++;
    // Past the cap only the latest matters: jump close to now instead of walking every tick.
    if (count > MAX_MISSED) {
      let probe = Math.max(t, now - 7 * 24 * 3_600_000);
      let n = sched.next(probe);
      while (n <= now) {
        latest = n;
        probe = n;
        n = sched.next(probe);
      }
      return { latest, count, next: n };
    }
    t = sched.next(t);
  }
  return { latest, count, next: t };
}

function isOwnedBy(job: KObject, cj: KObject): boolean {
  return !!job.metadata.ownerReferences?.some((r) => r.controller && r.uid === cj.metadata.uid);
}

function jobRef(j: KObject) {
  return { apiVersion: "batch/v1", kind: "Job", name: j.metadata.name, namespace: j.metadata.namespace, uid: j.metadata.uid, resourceVersion: j.metadata.resourceVersion };
}

/** The RFC 3339 timestamp in the schedule's zone, as upstream's annotation carries it. */
function zonedRFC3339(t: number, tz: string): string {
  try {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat("en-CA", { timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
        .formatToParts(new Date(t))
        .map((p) => [p.type, p.value]),
    );
    const local = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
    const off = Math.round((local - Math.floor(t / 1000) * 1000) / 60_000);
    if (off === 0) return nowRFC3339(new Date(t));
    const sign = off < 0 ? "-" : "+";
    const a = Math.abs(off);
    return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${sign}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
  } catch {
    return nowRFC3339(new Date(t));
  }
}

function newJob(cj: KObject, scheduled: number, tz: string): KObject {
  const tmpl = deepCopy(cj.spec.jobTemplate ?? {});
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: `${cj.metadata.name}-${Math.floor(scheduled / 60_000)}`,
      namespace: cj.metadata.namespace,
      labels: { ...(tmpl.metadata?.labels ?? {}) },
      annotations: { ...(tmpl.metadata?.annotations ?? {}), [CRONJOB_SCHEDULED_TIMESTAMP]: zonedRFC3339(scheduled, tz) },
      ownerReferences: [{ apiVersion: "batch/v1", kind: "CronJob", name: cj.metadata.name!, uid: cj.metadata.uid!, controller: true, blockOwnerDeletion: true }],
    },
    spec: tmpl.spec ?? {},
  };
}

async function deleteJob(ctx: ReconcileContext, cj: KObject, j: KObject, reason: string): Promise<void> {
  try {
    await ctx.client.delete(JOBS, j.metadata.namespace, j.metadata.name!, { propagationPolicy: "Background" });
    ctx.recorder.event(cj, "Normal", reason, `Deleted job ${j.metadata.name}`);
  } catch (err) {
    if (!(isStatusError(err) && err.code === 404)) throw err;
  }
}

export const cronJobController: Controller = {
  name: "cronjob",
  for: CRONJOBS,
  owns: [JOBS],
  async reconcile(ctx, key): Promise<ReconcileResult> {
    // Read fresh: lastScheduleTime from a stale cache would replay a run (or conflict).
    let cached: KObject;
    try {
      cached = await ctx.client.get(CRONJOBS, key.namespace, key.name);
    } catch (err) {
      if (isStatusError(err) && err.code === 404) return;
      throw err;
    }
    if (cached.metadata.deletionTimestamp) return;
    const cj = deepCopy(cached);
    const now = ctx.clock.now();
    const jobs = ctx.reader.ownedBy(JOBS, cj.metadata.uid!).filter((j) => isOwnedBy(j, cj));
    const status: Record<string, any> = deepCopy(cj.status ?? {});

    // Status from the jobs themselves: which are active, when the last one succeeded.
    const active = jobs.filter((j) => !jobFinished(j) && !j.metadata.deletionTimestamp);
    let lastSuccess = ms(status.lastSuccessfulTime);
    for (const j of jobs) {
      const done = ms(j.status?.completionTime);
      if (jobFinished(j) === "Complete" && done !== undefined && (lastSuccess === undefined || done > lastSuccess)) lastSuccess = done;
    }
    if (lastSuccess !== undefined) status.lastSuccessfulTime = nowRFC3339(new Date(lastSuccess));

    // History limits: oldest finished jobs beyond the limits go.
    const byStart = (a: KObject, b: KObject) =>
      (ms(a.status?.startTime) ?? ms(a.metadata.creationTimestamp) ?? 0) - (ms(b.status?.startTime) ?? ms(b.metadata.creationTimestamp) ?? 0);
    for (const [kind, limit] of [
      ["Complete", cj.spec?.successfulJobsHistoryLimit ?? 3],
      ["Failed", cj.spec?.failedJobsHistoryLimit ?? 1],
    ] as const) {
      const done = jobs.filter((j) => jobFinished(j) === kind && !j.metadata.deletionTimestamp).sort(byStart);
      for (const j of done.slice(0, Math.max(0, done.length - limit))) await deleteJob(ctx, cj, j, "SuccessfulDelete");
    }

    const tz: string = cj.spec?.timeZone || /^(?:CRON_TZ|TZ)=(\S+)/.exec(cj.spec?.schedule ?? "")?.[1] || "UTC";
    let sched: Schedule;
    try {
      sched = parseSchedule(cj.spec?.schedule ?? "", cj.spec?.timeZone);
    } catch (err) {
      status.active = active.map(jobRef);
      await writeStatus(ctx, cached, status);
      ctx.recorder.event(cj, "Warning", "UnparseableSchedule", `unparseable schedule: ${JSON.stringify(cj.spec?.schedule)} : ${(err as Error).message}`);
      return;
    }

    let requeue: number | undefined;
    if (!cj.spec?.suspend) {
      let earliest = ms(status.lastScheduleTime) ?? ms(cj.metadata.creationTimestamp) ?? now;
      const sds: number | undefined = cj.spec?.startingDeadlineSeconds ?? undefined;
      if (typeof sds === "number") earliest = Math.max(earliest, now - sds * 1000);
      const runs = missedRuns(sched, earliest, now);
      requeue = runs.next - now;
      if (runs.count > MAX_MISSED) {
        ctx.recorder.event(cj, "Warning", "TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew");
      }
      const t = runs.latest;
      if (t !== undefined) {
        const tooLate = typeof sds === "number" && t + sds * 1000 < now;
        const name = `${cj.metadata.name}-${Math.floor(t / 60_000)}`;
        const policy = cj.spec?.concurrencyPolicy ?? "Allow";
        if (tooLate) {
          ctx.recorder.event(cj, "Warning", "MissSchedule", `Missed scheduled time to start a job: ${nowRFC3339(new Date(t))}`);
        } else if (active.some((j) => j.metadata.name === name)) {
          // Already running (cache caught up before status did).
          status.lastScheduleTime = nowRFC3339(new Date(t));
        } else if (policy === "Forbid" && active.length > 0) {
          // Upstream leaves lastScheduleTime alone: the run starts once the active job ends, if still within the deadline.
          ctx.recorder.event(cj, "Normal", "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid");
        } else {
          if (policy === "Replace") for (const j of active) await deleteJob(ctx, cj, j, "SuccessfulDelete");
          try {
            const created = await ctx.client.create(JOBS, newJob(cj, t, tz));
            ctx.recorder.event(cj, "Normal", "SuccessfulCreate", `Created job ${created.metadata.name}`);
            if (policy === "Replace") active.length = 0;
            active.push(created);
          } catch (err) {
            if (!(err instanceof AlreadyExists)) throw err;
          }
          status.lastScheduleTime = nowRFC3339(new Date(t));
        }
      }
    }
    status.active = active.map(jobRef);
    if (status.active.length === 0) delete status.active;
    await writeStatus(ctx, cached, status);
    // A little past the instant, so the schedule sees it as due.
    return requeue !== undefined ? { requeueAfter: Math.max(0, requeue) + 100 } : undefined;
  },
};

async function writeStatus(ctx: ReconcileContext, cj: KObject, status: Record<string, any>): Promise<void> {
  if (JSON.stringify(cj.status ?? {}) === JSON.stringify(status)) return;
  await ctx.client.updateStatus(CRONJOBS, { ...deepCopy(cj), status });
}
