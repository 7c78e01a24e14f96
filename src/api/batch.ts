// batch/v1: Job and CronJob, with upstream's defaulting (pkg/apis/batch/v1/defaults.go),
// selector generation and validation (pkg/apis/batch/validation, pkg/registry/batch/job)
// and `kubectl get` columns. Reference:
// https://kubernetes.io/docs/concepts/workloads/controllers/job/ and
// https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ (schedule syntax,
// time zones). Schedules are checked with robfig/cron's standard grammar, which is what
// the API server accepts, and must also be understood by cron-parser (our controller's).

import { CronExpressionParser } from "cron-parser";
import { fieldError, type StatusCause } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";
import { labelSelectorToString, selectorFromLabelSelector } from "../apimachinery/labels.js";
import { ageSince, column, formatAge, list, obj, workloadCells, workloadColumns } from "./table.js";
import type { ResourceDef, TableSpec, ValidationContext } from "./types.js";
import { asBool, asObject, asString, immutableField, isPlainObject, jsonEqual, validateLabelSelector, validateObjectMeta, validateObjectMetaUpdate } from "./validation.js";
import { count, defaultPodTemplate, nonNegativeInt, templateLabels, validatePodTemplate } from "./apps.js";

export const JOB_NAME_LABEL = "batch.kubernetes.io/job-name";
export const CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid";
export const LEGACY_JOB_NAME_LABEL = "job-name";
export const LEGACY_CONTROLLER_UID_LABEL = "controller-uid";

// ---------------------------------------------------------------------------------------
// Job

/**
 * generateSelector (pkg/registry/batch/job/strategy.go): unless manualSelector, label the
 * template with the job's name and uid and select on the uid. User-set labels are kept;
 * a conflict is then reported by validation.
 */
function generateJobSelector(o: KObject, spec: Record<string, any>): void {
  if (spec.manualSelector === true) return;
  const uid = o.metadata?.uid;
  if (typeof uid !== "string" || uid === "") return;
  if (!isPlainObject(spec.template)) return;
  const t = spec.template;
  if (t.metadata === undefined || t.metadata === null) t.metadata = {};
  if (!isPlainObject(t.metadata)) return;
  if (t.metadata.labels === undefined || t.metadata.labels === null) t.metadata.labels = {};
  const labels = t.metadata.labels;
  if (!isPlainObject(labels)) return;
  const name = o.metadata.name ?? "";
  for (const k of [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL]) if (!(k in labels)) labels[k] = name;
  for (const k of [LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL]) if (!(k in labels)) labels[k] = uid;
  if (spec.selector === undefined || spec.selector === null) spec.selector = {};
  if (!isPlainObject(spec.selector)) return;
  if (spec.selector.matchLabels === undefined || spec.selector.matchLabels === null) spec.selector.matchLabels = {};
  if (isPlainObject(spec.selector.matchLabels) && !(CONTROLLER_UID_LABEL in spec.selector.matchLabels)) {
    spec.selector.matchLabels[CONTROLLER_UID_LABEL] = uid;
  }
}

function defaultJobSpec(spec: Record<string, any>): void {
  // Both unset: a non-parallel job. Parallelism alone leaves completions null (work queue).
  if ((spec.completions === undefined || spec.completions === null) && (spec.parallelism === undefined || spec.parallelism === null)) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  if (spec.backoffLimit === undefined || spec.backoffLimit === null) {
    spec.backoffLimit = spec.backoffLimitPerIndex !== undefined && spec.backoffLimitPerIndex !== null ? 2147483647 : 6;
  }
  spec.completionMode ??= "NonIndexed";
  spec.suspend ??= false;
  if (isPlainObject(spec.podFailurePolicy)) {
    for (const rule of list(spec.podFailurePolicy.rules)) {
      for (const pattern of list(obj(rule).onPodConditions)) if (isPlainObject(pattern) && !pattern.status) pattern.status = "True";
    }
  }
  spec.podReplacementPolicy ??= isPlainObject(spec.podFailurePolicy) ? "Failed" : "TerminatingOrFailed";
  defaultPodTemplate(spec.template);
}

function defaultJob(o: KObject): void {
  if (!isPlainObject(o.spec)) return;
  generateJobSelector(o, o.spec);
  defaultJobSpec(o.spec);
  // A job without labels takes its template's (which by now include the generated ones).
  const tl = obj(obj(o.spec.template).metadata).labels;
  if (isPlainObject(tl) && isPlainObject(o.metadata) && Object.keys(o.metadata.labels ?? {}).length === 0) {
    o.metadata.labels = { ...tl };
  }
}

const COMPLETION_MODES = ["NonIndexed", "Indexed"];
const MAX_INDEXED_COMPLETIONS = 100000;

/** validateJobSpec: the parts shared by Jobs and CronJob job templates. */
function validateJobSpecCommon(spec: Record<string, any>, path: string, errs: StatusCause[]): void {
  const parallelism = nonNegativeInt(spec.parallelism, `${path}.parallelism`, errs);
  const completions = nonNegativeInt(spec.completions, `${path}.completions`, errs);
  nonNegativeInt(spec.activeDeadlineSeconds, `${path}.activeDeadlineSeconds`, errs);
  nonNegativeInt(spec.backoffLimit, `${path}.backoffLimit`, errs);
  nonNegativeInt(spec.ttlSecondsAfterFinished, `${path}.ttlSecondsAfterFinished`, errs);
  nonNegativeInt(spec.backoffLimitPerIndex, `${path}.backoffLimitPerIndex`, errs);
  asBool(spec.suspend, `${path}.suspend`, errs);
  asBool(spec.manualSelector, `${path}.manualSelector`, errs);
  const mode = spec.completionMode;
  if (mode !== undefined && mode !== null) {
    if (!COMPLETION_MODES.includes(mode)) errs.push(fieldError.notSupported(`${path}.completionMode`, mode, COMPLETION_MODES));
    else if (mode === "Indexed") {
      if (completions === undefined) errs.push(fieldError.required(`${path}.completions`, "Required value: when completion mode is Indexed"));
      else if (completions > MAX_INDEXED_COMPLETIONS) errs.push(fieldError.invalid(`${path}.completions`, completions, `must be less than or equal to ${MAX_INDEXED_COMPLETIONS} when completion mode is Indexed`));
      if (parallelism !== undefined && parallelism > MAX_INDEXED_COMPLETIONS) errs.push(fieldError.invalid(`${path}.parallelism`, parallelism, `must be less than or equal to ${MAX_INDEXED_COMPLETIONS} when completion mode is Indexed`));
    }
  }
  const prp = spec.podReplacementPolicy;
  if (prp !== undefined && prp !== null && prp !== "TerminatingOrFailed" && prp !== "Failed") {
    errs.push(fieldError.notSupported(`${path}.podReplacementPolicy`, prp, ["Failed", "TerminatingOrFailed"]));
  }
  errs.push(...validatePodTemplate(spec.template, `${path}.template`));
  const tspec = obj(obj(spec.template).spec);
  const rp = tspec.restartPolicy;
  const rpPath = `${path}.template.spec.restartPolicy`;
  // Pod defaulting turns an empty restartPolicy into Always, so both mean "not chosen".
  if (rp === undefined || rp === null || rp === "" || rp === "Always") errs.push(fieldError.required(rpPath, 'Required value: valid values: "OnFailure", "Never"'));
  else if (rp !== "OnFailure" && rp !== "Never") errs.push(fieldError.notSupported(rpPath, rp, ["OnFailure", "Never"]));
  else if (isPlainObject(spec.podFailurePolicy) && rp !== "Never") errs.push(fieldError.invalid(rpPath, rp, 'only "Never" is supported when podFailurePolicy is specified'));
}

function validateJobCreateSelector(o: KObject, spec: Record<string, any>, errs: StatusCause[]): void {
  if (spec.manualSelector === true) return;
  const tmeta = obj(obj(spec.template).metadata);
  const labels = obj(tmeta.labels);
  const uid = o.metadata?.uid ?? "";
  if (spec.selector === undefined || spec.selector === null) return;
  if (!uid) errs.push(fieldError.required("metadata.uid"));
  const want: [string, string][] = [
    [LEGACY_CONTROLLER_UID_LABEL, uid],
    [LEGACY_JOB_NAME_LABEL, o.metadata?.name ?? ""],
    [CONTROLLER_UID_LABEL, uid],
    [JOB_NAME_LABEL, o.metadata?.name ?? ""],
  ];
  for (const [k, v] of want) {
    const p = `spec.template.metadata.labels[${k}]`;
    if (!(k in labels)) errs.push(fieldError.required(p, `Required value: ${v}`));
    else if (labels[k] !== v) errs.push(fieldError.invalid(p, labels, `must be '${v}'`));
  }
  try {
    if (!selectorFromLabelSelector(spec.selector).matches({ [CONTROLLER_UID_LABEL]: uid })) {
      errs.push(fieldError.invalid("spec.selector", spec.selector, "`selector` not auto-generated"));
    }
  } catch {
    // reported by validateLabelSelector
  }
}

/** On a suspended job that never started, scheduling directives and template labels may change. */
function jobTemplateForCompare(template: unknown, mutable: boolean): unknown {
  if (!mutable || !isPlainObject(template)) return template;
  const t = { ...template, metadata: { ...obj(template.metadata) }, spec: { ...obj(template.spec) } };
  delete t.metadata.labels;
  delete t.metadata.annotations;
  for (const f of ["nodeSelector", "affinity", "tolerations", "schedulingGates"]) delete t.spec[f];
  return t;
}

function validateJob(o: KObject, ctx: ValidationContext): StatusCause[] {
  const errs: StatusCause[] = [];
  const old = ctx.operation === "update" ? ctx.old : undefined;
  if (old) errs.push(...validateObjectMetaUpdate(o.metadata, old.metadata));
  else errs.push(...validateObjectMeta(o.metadata, { namespaced: true }));
  if (ctx.subresource === "status") {
    const st = asObject(o.status, "status", errs) ?? {};
    for (const f of ["active", "succeeded", "failed", "ready", "terminating"]) nonNegativeInt(st[f], `status.${f}`, errs);
    return errs;
  }
  if (o.spec === undefined || o.spec === null) return [...errs, fieldError.required("spec.template")];
  const spec = asObject(o.spec, "spec", errs);
  if (!spec) return errs;
  if (!old) validateJobCreateSelector(o, spec, errs);
  if (spec.selector === undefined || spec.selector === null) errs.push(fieldError.required("spec.selector"));
  else {
    const selErrs = validateLabelSelector(spec.selector, "spec.selector");
    errs.push(...selErrs);
    if (!selErrs.length && isPlainObject(spec.template)) {
      try {
        if (!selectorFromLabelSelector(spec.selector).matches(templateLabels(spec.template))) {
          errs.push(fieldError.invalid("spec.template.metadata.labels", obj(spec.template.metadata).labels ?? null, "`selector` does not match template `labels`"));
        }
      } catch {
        // malformed selector already reported
      }
    }
  }
  validateJobSpecCommon(spec, "spec", errs);
  if (old) {
    const os = obj(old.spec);
    for (const f of ["completions", "selector", "completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy"]) {
      errs.push(...immutableField(spec[f], os[f], `spec.${f}`));
    }
    const mutable = os.suspend === true && !obj(old.status).startTime;
    if (!jsonEqual(jobTemplateForCompare(spec.template, mutable), jobTemplateForCompare(os.template, mutable))) {
      errs.push(fieldError.invalid("spec.template", spec.template, "field is immutable"));
    }
  }
  return errs;
}

function hasCondition(o: KObject, type: string): boolean {
  const c = list(obj(o.status).conditions).map(obj).find((x) => x.type === type);
  return c?.status === "True";
}

/** The STATUS column, in upstream's precedence order. */
export function jobStatusCell(o: KObject): string {
  if (hasCondition(o, "Complete")) return "Complete";
  if (hasCondition(o, "Failed")) return "Failed";
  if (o.metadata?.deletionTimestamp) return "Terminating";
  if (hasCondition(o, "Suspended")) return "Suspended";
  if (hasCondition(o, "FailureTarget")) return "FailureTarget";
  return "Running";
}

const jobTable: TableSpec = {
  columns: [
    column("Status", "Status of the job."),
    column("Completions", "The number of pods which reached phase Succeeded."),
    column("Duration", "Time required to complete the job."),
    ...workloadColumns("A label query over pods that should match the pod count."),
  ],
  cells(o, now) {
    const spec = obj(o.spec);
    const st = obj(o.status);
    const succeeded = count(st.succeeded);
    let completions: string;
    if (typeof spec.completions === "number") completions = `${succeeded}/${spec.completions}`;
    else completions = count(spec.parallelism) > 1 ? `${succeeded}/1 of ${spec.parallelism}` : `${succeeded}/1`;
    const start = typeof st.startTime === "string" ? Date.parse(st.startTime) : NaN;
    const end = typeof st.completionTime === "string" ? Date.parse(st.completionTime) : NaN;
    const duration = Number.isNaN(start) ? "" : formatAge((Number.isNaN(end) ? now.getTime() : end) - start);
    return [jobStatusCell(o), completions, duration, ...workloadCells(o, now, spec.template, labelSelectorToString(spec.selector))];
  },
};

// ---------------------------------------------------------------------------------------
// CronJob schedules: robfig/cron's ParseStandard grammar, with its error texts.

const DESCRIPTORS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const FIELDS: { min: number; max: number; names?: Record<string, number> }[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: Object.fromEntries(MONTHS.map((m, i) => [m, i + 1])) },
  { min: 0, max: 6, names: Object.fromEntries(DAYS.map((d, i) => [d, i])) },
];

function parseCronInt(s: string): number {
  if (!/^[+-]?\d+$/.test(s)) throw new Error(`failed to parse int from ${s}: strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = Number(s);
  if (n < 0) throw new Error(`negative number (${n}) not allowed: ${s}`);
  return n;
}

function checkCronRange(expr: string, f: (typeof FIELDS)[number]): void {
  const [rangePart, stepPart, ...more] = expr.split("/");
  if (more.length) throw new Error(`too many slashes: ${expr}`);
  const bounds = rangePart.split("-");
  let start: number;
  let end: number;
  const named = (s: string) => f.names?.[s.toLowerCase()] ?? parseCronInt(s);
  if (rangePart === "*" || rangePart === "?") {
    start = f.min;
    end = f.max;
  } else {
    if (bounds.length > 2) throw new Error(`too many hyphens: ${expr}`);
    start = named(bounds[0]);
    end = bounds.length === 2 ? named(bounds[1]) : start;
  }
  if (stepPart !== undefined) {
    const step = parseCronInt(stepPart);
    if (step === 0) throw new Error(`step of range should be a positive number: ${expr}`);
    if (bounds.length === 1 && rangePart !== "*" && rangePart !== "?") end = f.max;
  }
  if (start < f.min) throw new Error(`beginning of range (${start}) below minimum (${f.min}): ${expr}`);
  if (end > f.max) throw new Error(`end of range (${end}) above maximum (${f.max}): ${expr}`);
  if (start > end) throw new Error(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
}

/** Go's time.ParseDuration subset used by "@every 1h30m". */
function isGoDuration(s: string): boolean {
  return /^([0-9]*\.?[0-9]+(ns|us|µs|ms|s|m|h))+$/.test(s);
}

/** Returns robfig/cron's error message for an unparsable schedule, or undefined. */
export function cronScheduleError(schedule: string): string | undefined {
  let spec = schedule.trim();
  if (spec === "") return "empty spec string";
  const tz = /^(?:CRON_TZ|TZ)=(\S*)\s*/.exec(spec);
  if (tz) {
    if (!isValidTimeZone(tz[1])) return `provided bad location ${tz[1]}: unknown time zone ${tz[1]}`;
    spec = spec.slice(tz[0].length);
  }
  if (spec.startsWith("@")) {
    if (spec.startsWith("@every ")) {
      const d = spec.slice("@every ".length).trim();
      return isGoDuration(d) ? undefined : `failed to parse duration ${spec}: time: invalid duration ${JSON.stringify(d)}`;
    }
    return DESCRIPTORS[spec] ? undefined : `unrecognized descriptor: ${spec}`;
  }
  const fields = spec.split(/\s+/);
  if (fields.length !== 5) return `expected exactly 5 fields, found ${fields.length}: [${fields.join(" ")}]`;
  try {
    fields.forEach((field, i) => field.split(",").forEach((expr) => checkCronRange(expr, FIELDS[i])));
  } catch (e) {
    return (e as Error).message;
  }
  // The controller evaluates schedules with cron-parser: refuse what it cannot run.
  try {
    CronExpressionParser.parse(spec.replace(/\?/g, "*"));
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

/** A schedule in plain 5-field form for cron-parser (descriptors expanded); @every is left as is. */
export function normalizeCronSchedule(schedule: string): string {
  const s = schedule.trim();
  return DESCRIPTORS[s] ?? s;
}

/** Whether the platform knows an IANA zone; case must match, as on a Linux server. */
export function isValidTimeZone(tz: string): boolean {
  try {
    const resolved = new Intl.DateTimeFormat("en-US", { timeZone: tz }).resolvedOptions().timeZone;
    return !(resolved.toLowerCase() === tz.toLowerCase() && resolved !== tz && tz !== "UTC");
  } catch {
    return false;
  }
}

function validateTimeZone(tz: unknown, path: string, errs: StatusCause[]): void {
  const s = asString(tz, path, errs);
  if (s === undefined) return;
  if (s === "") return void errs.push(fieldError.invalid(path, s, "timeZone must be nil or non-empty string"));
  for (const part of s.split("/")) {
    if (part === "." || part === ".." || part.startsWith("-") || !/^[A-Za-z.\-_0-9+]{1,14}$/.test(part)) {
      return void errs.push(fieldError.invalid(path, s, `unknown time zone ${s}`));
    }
  }
  if (s.toLowerCase() === "local") errs.push(fieldError.invalid(path, s, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"));
  else if (!isValidTimeZone(s)) errs.push(fieldError.invalid(path, s, `unknown time zone ${s}`));
}

// ---------------------------------------------------------------------------------------
// CronJob

function defaultCronJob(o: KObject): void {
  const spec = isPlainObject(o.spec) ? o.spec : undefined;
  if (!spec) return;
  if (!spec.concurrencyPolicy) spec.concurrencyPolicy = "Allow";
  spec.suspend ??= false;
  spec.successfulJobsHistoryLimit ??= 3;
  spec.failedJobsHistoryLimit ??= 1;
  // Only the pod template is defaulted inside jobTemplate (not the Job spec itself).
  defaultPodTemplate(obj(obj(spec.jobTemplate).spec).template);
}

const CONCURRENCY = ["Allow", "Forbid", "Replace"];

function validateCronJob(o: KObject, ctx: ValidationContext): StatusCause[] {
  const errs: StatusCause[] = [];
  const old = ctx.operation === "update" ? ctx.old : undefined;
  if (old) errs.push(...validateObjectMetaUpdate(o.metadata, old.metadata));
  else errs.push(...validateObjectMeta(o.metadata, { namespaced: true }));
  // Job names get an 11-character suffix: the CronJob name must leave room for it.
  const name = o.metadata?.name;
  if (!old && typeof name === "string" && name.length > 52) errs.push(fieldError.invalid("metadata.name", name, "must be no more than 52 characters"));
  if (ctx.subresource === "status") return errs;
  if (o.spec === undefined || o.spec === null) return [...errs, fieldError.required("spec.schedule")];
  const spec = asObject(o.spec, "spec", errs);
  if (!spec) return errs;

  const schedule = asString(spec.schedule, "spec.schedule", errs);
  if (schedule === undefined || schedule === "") {
    if (typeof spec.schedule !== "string" && spec.schedule !== undefined && spec.schedule !== null) {
      // wrong type reported above
    } else errs.push(fieldError.required("spec.schedule"));
  } else {
    const e = cronScheduleError(schedule);
    if (e) errs.push(fieldError.invalid("spec.schedule", schedule, e));
    const allowTZ = typeof obj(old?.spec).schedule === "string" && obj(old?.spec).schedule.includes("TZ");
    const hasTZ = schedule.includes("TZ");
    if (allowTZ && hasTZ && spec.timeZone !== undefined && spec.timeZone !== null) {
      errs.push(fieldError.invalid("spec.schedule", schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"));
    } else if (!allowTZ && hasTZ) {
      errs.push(fieldError.invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"));
    }
  }
  const cp = spec.concurrencyPolicy;
  if (cp === undefined || cp === null || cp === "") errs.push(fieldError.required("spec.concurrencyPolicy"));
  else if (!CONCURRENCY.includes(cp)) errs.push(fieldError.notSupported("spec.concurrencyPolicy", cp, CONCURRENCY));
  asBool(spec.suspend, "spec.suspend", errs);
  nonNegativeInt(spec.startingDeadlineSeconds, "spec.startingDeadlineSeconds", errs);
  nonNegativeInt(spec.successfulJobsHistoryLimit, "spec.successfulJobsHistoryLimit", errs);
  nonNegativeInt(spec.failedJobsHistoryLimit, "spec.failedJobsHistoryLimit", errs);
  validateTimeZone(spec.timeZone, "spec.timeZone", errs);

  const jt = asObject(spec.jobTemplate, "spec.jobTemplate", errs);
  if (spec.jobTemplate === undefined || spec.jobTemplate === null) errs.push(fieldError.required("spec.jobTemplate.spec.template"));
  else if (jt) {
    asObject(jt.metadata, "spec.jobTemplate.metadata", errs);
    const js = asObject(jt.spec, "spec.jobTemplate.spec", errs);
    if (jt.spec === undefined || jt.spec === null) errs.push(fieldError.required("spec.jobTemplate.spec.template"));
    else if (js) {
      validateJobSpecCommon(js, "spec.jobTemplate.spec", errs);
      if (js.selector !== undefined && js.selector !== null) errs.push(fieldError.invalid("spec.jobTemplate.spec.selector", js.selector, "`selector` will be auto-generated"));
      if (js.manualSelector === true) errs.push(fieldError.notSupported("spec.jobTemplate.spec.manualSelector", true, ["nil", "false"]));
    }
  }
  return errs;
}

const cronJobTable: TableSpec = {
  columns: [
    column("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
    column("Timezone", "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones."),
    column("Suspend", "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.", { type: "boolean" }),
    column("Active", "A list of pointers to currently running jobs.", { type: "integer" }),
    column("Last Schedule", "Information when was the last time the job was successfully scheduled."),
    ...workloadColumns("A label query over pods that should match the pod count."),
  ],
  cells(o, now) {
    const spec = obj(o.spec);
    const st = obj(o.status);
    const jspec = obj(obj(spec.jobTemplate).spec);
    const suspend = typeof spec.suspend === "boolean" ? (spec.suspend ? "True" : "False") : "<unset>";
    const last = st.lastScheduleTime ? ageSince(st.lastScheduleTime, now) : "<none>";
    const tz = typeof spec.timeZone === "string" ? spec.timeZone : "<none>";
    return [typeof spec.schedule === "string" ? spec.schedule : "", tz, suspend, list(st.active).length, last, ...workloadCells(o, now, jspec.template, labelSelectorToString(jspec.selector))];
  },
};

// ---------------------------------------------------------------------------------------

export const batchResources: ResourceDef[] = [
  {
    group: "batch",
    version: "v1",
    kind: "Job",
    plural: "jobs",
    singular: "job",
    namespaced: true,
    categories: ["all"],
    subresources: ["status"],
    defaults: defaultJob,
    validate: validateJob,
    table: jobTable,
    fieldSelectors: { "status.successful": (o) => String(count(obj(o.status).succeeded)) },
  },
  {
    group: "batch",
    version: "v1",
    kind: "CronJob",
    plural: "cronjobs",
    singular: "cronjob",
    namespaced: true,
    shortNames: ["cj"],
    categories: ["all"],
    subresources: ["status"],
    defaults: defaultCronJob,
    validate: validateCronJob,
    table: cronJobTable,
  },
];
