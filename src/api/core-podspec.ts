// PodSpec defaulting and validation, shared by Pods and every pod template (Deployments,
// Jobs, DaemonSets…). Follows upstream's SetDefaults_PodSpec/Container/Probe/Volume and
// ValidatePodSpec (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/,
// pkg/apis/core/validation). Every field is read defensively: a wrong JSON type yields a
// FieldValueTypeInvalid cause naming the field, never a TypeError.

import { fieldError, type StatusCause } from "../apimachinery/errors.js";
import { parseQuantity, tryParseQuantity, compareQuantity, formatQuantity, type Quantity } from "../apimachinery/quantity.js";
import {
  asArray, asBool, asInt, asObject, asString, invalidEach, isDNS1123Label, isDNS1123Subdomain, isEnvVarName,
  isPlainObject, isQualifiedName, isValidLabelValue, isValidPortName, isValidPortNum, inclusiveRangeError,
  objectItems, validateAnnotations, validateEnum, validateLabels, validateNonnegative, type JSONObject,
} from "./validation.js";

// ---------------------------------------------------------------------------------------
// Defaults

/** Upstream ParseImageName's tag: "latest" when neither tag nor digest is given. */
export function imageTag(image: string): string {
  const at = image.indexOf("@");
  const hasDigest = at >= 0;
  const ref = hasDigest ? image.slice(0, at) : image;
  const last = ref.slice(ref.lastIndexOf("/") + 1);
  const colon = last.indexOf(":");
  if (colon >= 0) return last.slice(colon + 1);
  return hasDigest ? "" : "latest";
}

function defaultHTTPGet(h: unknown): void {
  if (!isPlainObject(h)) return;
  if (h.path === undefined || h.path === "") h.path = "/";
  if (h.scheme === undefined || h.scheme === "") h.scheme = "HTTP";
}

function defaultProbe(p: unknown): void {
  if (!isPlainObject(p)) return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  defaultHTTPGet(p.httpGet);
}

function defaultFieldRef(ref: unknown): void {
  if (isPlainObject(ref) && !ref.apiVersion) ref.apiVersion = "v1";
}

/** SetDefaults_Container (also used for init containers). */
export function defaultContainer(c: unknown): void {
  if (!isPlainObject(c)) return;
  if (!c.imagePullPolicy && typeof c.image === "string") c.imagePullPolicy = imageTag(c.image) === "latest" ? "Always" : "IfNotPresent";
  if (!c.terminationMessagePath) c.terminationMessagePath = "/dev/termination-log";
  if (!c.terminationMessagePolicy) c.terminationMessagePolicy = "File";
  for (const p of Array.isArray(c.ports) ? c.ports : []) if (isPlainObject(p) && !p.protocol) p.protocol = "TCP";
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) defaultProbe(probe);
  if (isPlainObject(c.lifecycle)) for (const h of [c.lifecycle.postStart, c.lifecycle.preStop]) if (isPlainObject(h)) defaultHTTPGet(h.httpGet);
  for (const e of Array.isArray(c.env) ? c.env : []) if (isPlainObject(e) && isPlainObject(e.valueFrom)) defaultFieldRef(e.valueFrom.fieldRef);
}

const VOLUME_SOURCES = [
  "hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs", "iscsi",
  "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "downwardAPI", "fc",
  "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "projected",
  "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral", "image",
];

/** 0644, the default file mode of projected files. */
const DEFAULT_MODE = 0o644;

export function defaultVolume(v: unknown): void {
  if (!isPlainObject(v)) return;
  if (!VOLUME_SOURCES.some((k) => v[k] !== undefined && v[k] !== null)) v.emptyDir = {};
  for (const k of ["secret", "configMap", "downwardAPI", "projected"]) if (isPlainObject(v[k])) v[k].defaultMode ??= DEFAULT_MODE;
  if (isPlainObject(v.hostPath)) v.hostPath.type ??= "";
  if (isPlainObject(v.downwardAPI)) for (const i of Array.isArray(v.downwardAPI.items) ? v.downwardAPI.items : []) if (isPlainObject(i)) defaultFieldRef(i.fieldRef);
  if (isPlainObject(v.projected)) {
    for (const s of Array.isArray(v.projected.sources) ? v.projected.sources : []) {
      if (!isPlainObject(s)) continue;
      if (isPlainObject(s.serviceAccountToken)) s.serviceAccountToken.expirationSeconds ??= 3600;
      if (isPlainObject(s.downwardAPI)) for (const i of Array.isArray(s.downwardAPI.items) ? s.downwardAPI.items : []) if (isPlainObject(i)) defaultFieldRef(i.fieldRef);
    }
  }
}

/** SetDefaults_PodSpec plus the nested container/volume defaults. */
export function defaultPodSpec(spec: unknown): void {
  if (!isPlainObject(spec)) return;
  if (!spec.dnsPolicy) spec.dnsPolicy = "ClusterFirst";
  if (!spec.restartPolicy) spec.restartPolicy = "Always";
  if (spec.securityContext === undefined || spec.securityContext === null) spec.securityContext = {};
  if (spec.terminationGracePeriodSeconds === undefined || spec.terminationGracePeriodSeconds === null) spec.terminationGracePeriodSeconds = 30;
  if (!spec.schedulerName) spec.schedulerName = "default-scheduler";
  for (const key of ["containers", "initContainers", "ephemeralContainers"]) {
    for (const c of Array.isArray(spec[key]) ? spec[key] : []) defaultContainer(c);
  }
  for (const v of Array.isArray(spec.volumes) ? spec.volumes : []) defaultVolume(v);
}

// ---------------------------------------------------------------------------------------
// Validation

const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const RESTART_POLICIES = ["Always", "OnFailure", "Never"];
const DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
const PULL_POLICIES = ["Always", "IfNotPresent", "Never"];
const TERMINATION_MESSAGE_POLICIES = ["File", "FallbackToLogsOnError"];
const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];
const STANDARD_CONTAINER_RESOURCES = new Set(["cpu", "memory", "ephemeral-storage"]);
const MAX_INT32 = 2147483647;

/** "Required value" when empty, NotSupported when outside `allowed`. */
function requiredEnum(v: unknown, allowed: readonly string[], path: string): StatusCause[] {
  if (v === undefined || v === null || v === "") return [fieldError.required(path)];
  return validateEnum(v, allowed, path);
}

export function notFound(path: string, v: unknown): StatusCause {
  return { reason: "FieldValueNotFound", field: path, message: `Not found: ${JSON.stringify(v)}` };
}

/** Resource list values; returns the parsed quantities by name. */
function validateResourceList(v: unknown, path: string, errs: StatusCause[]): Map<string, Quantity> {
  const out = new Map<string, Quantity>();
  const m = asObject(v, path, errs);
  if (!m) return out;
  for (const [name, raw] of Object.entries(m)) {
    const p = `${path}[${name}]`;
    if (!name.includes("/")) {
      if (!STANDARD_CONTAINER_RESOURCES.has(name) && !name.startsWith("hugepages-")) errs.push(fieldError.invalid(p, name, "must be a standard resource for containers"));
    } else {
      errs.push(...invalidEach(name, isQualifiedName(name), p));
    }
    if (typeof raw !== "string" && typeof raw !== "number") {
      errs.push(fieldError.typeInvalid(p, raw, "must be of type string"));
      continue;
    }
    try {
      const q = parseQuantity(String(raw));
      if (q.nanos < 0n) errs.push(fieldError.invalid(p, formatQuantity(q), "must be greater than or equal to 0"));
      out.set(name, q);
    } catch (e) {
      errs.push(fieldError.invalid(p, raw, (e as Error).message));
    }
  }
  return out;
}

export function validateResourceRequirements(r: unknown, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const res = asObject(r, path, errs);
  if (!res) return errs;
  const limits = validateResourceList(res.limits, `${path}.limits`, errs);
  const requests = validateResourceList(res.requests, `${path}.requests`, errs);
  for (const [name, req] of requests) {
    const lim = limits.get(name);
    // Extended resources and hugepages cannot be overcommitted: request must equal limit.
    const overcommit = STANDARD_CONTAINER_RESOURCES.has(name);
    if (lim) {
      if (!overcommit && compareQuantity(req, lim) !== 0) {
        errs.push(fieldError.invalid(`${path}.requests`, formatQuantity(req), `must be equal to ${name} limit of ${formatQuantity(lim)}`));
      } else if (compareQuantity(req, lim) > 0) {
        errs.push(fieldError.invalid(`${path}.requests`, formatQuantity(req), `must be less than or equal to ${name} limit of ${formatQuantity(lim)}`));
      }
    } else if (!overcommit) {
      errs.push(fieldError.required(`${path}.limits`, "Required value: Limit must be set for non overcommitable resources"));
    }
  }
  return errs;
}

const PROBE_HANDLERS = ["exec", "httpGet", "tcpSocket", "grpc"];

function validateProbe(p: unknown, path: string, mustSucceedOnce: boolean): StatusCause[] {
  const errs: StatusCause[] = [];
  const probe = asObject(p, path, errs);
  if (!probe) return errs;
  const handlers = PROBE_HANDLERS.filter((h) => probe[h] !== undefined && probe[h] !== null);
  if (handlers.length === 0) errs.push(fieldError.required(path, "Required value: must specify a handler type"));
  for (const h of handlers.slice(1)) errs.push(fieldError.forbidden(`${path}.${h}`, "may not specify more than 1 handler type"));
  for (const k of ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"]) {
    const n = asInt(probe[k], `${path}.${k}`, errs);
    if (n !== undefined) errs.push(...validateNonnegative(n, `${path}.${k}`));
  }
  if (mustSucceedOnce && probe.successThreshold !== undefined && probe.successThreshold !== 1) {
    errs.push(fieldError.invalid(`${path}.successThreshold`, probe.successThreshold, "must be 1"));
  }
  const hg = asObject(probe.httpGet, `${path}.httpGet`, errs);
  if (hg) errs.push(...validatePortOrName(hg.port, `${path}.httpGet.port`));
  const tcp = asObject(probe.tcpSocket, `${path}.tcpSocket`, errs);
  if (tcp) errs.push(...validatePortOrName(tcp.port, `${path}.tcpSocket.port`));
  return errs;
}

/** IntOrString ports of probes and service targetPorts. */
export function validatePortOrName(v: unknown, path: string): StatusCause[] {
  if (typeof v === "number") return isValidPortNum(v).map((m) => fieldError.invalid(path, v, m));
  if (typeof v === "string") {
    if (v === "") return [fieldError.required(path)];
    return invalidEach(v, isValidPortName(v), path);
  }
  if (v === undefined || v === null) return [fieldError.required(path)];
  return [fieldError.typeInvalid(path, v, "must be of type int-or-string")];
}

interface ContainerOpts {
  volumes: Set<string>;
  names: Set<string>;
  hostNetwork: boolean;
  init: boolean;
}

function validateContainer(c: JSONObject, path: string, opts: ContainerOpts): StatusCause[] {
  const errs: StatusCause[] = [];
  const name = asString(c.name, `${path}.name`, errs);
  if (c.name === undefined || c.name === null || c.name === "") errs.push(fieldError.required(`${path}.name`));
  else if (name !== undefined) {
    const msgs = isDNS1123Label(name);
    errs.push(...invalidEach(name, msgs, `${path}.name`));
    if (opts.names.has(name)) errs.push(fieldError.duplicate(`${path}.name`, name));
    opts.names.add(name);
  }
  const image = asString(c.image, `${path}.image`, errs);
  if (c.image === undefined || c.image === null || c.image === "") errs.push(fieldError.required(`${path}.image`));
  else if (image !== undefined && image.trim() !== image) errs.push(fieldError.invalid(`${path}.image`, image, "must not have leading or trailing whitespace"));
  asArray(c.command, `${path}.command`, errs);
  asArray(c.args, `${path}.args`, errs);

  const portNames = new Set<string>();
  for (const [p, pp] of objectItems(c.ports, `${path}.ports`, errs)) {
    const pname = asString(p.name, `${pp}.name`, errs);
    if (pname) {
      const msgs = isValidPortName(pname);
      if (msgs.length) errs.push(...invalidEach(pname, msgs, `${pp}.name`));
      else if (portNames.has(pname)) errs.push(fieldError.duplicate(`${pp}.name`, pname));
      else portNames.add(pname);
    }
    const cp = asInt(p.containerPort, `${pp}.containerPort`, errs);
    if (p.containerPort === undefined || p.containerPort === 0) errs.push(fieldError.required(`${pp}.containerPort`));
    else if (cp !== undefined) errs.push(...isValidPortNum(cp).map((m) => fieldError.invalid(`${pp}.containerPort`, cp, m)));
    const hp = asInt(p.hostPort, `${pp}.hostPort`, errs);
    if (hp) {
      errs.push(...isValidPortNum(hp).map((m) => fieldError.invalid(`${pp}.hostPort`, hp, m)));
      if (opts.hostNetwork && hp !== cp) errs.push(fieldError.invalid(`${pp}.containerPort`, cp, "must match `hostPort` when `hostNetwork` is true"));
    }
    errs.push(...requiredEnum(p.protocol, PROTOCOLS, `${pp}.protocol`));
  }

  for (const [e, ep] of objectItems(c.env, `${path}.env`, errs)) {
    const en = asString(e.name, `${ep}.name`, errs);
    if (!e.name) errs.push(fieldError.required(`${ep}.name`));
    else if (en !== undefined) errs.push(...invalidEach(en, isEnvVarName(en), `${ep}.name`));
    asString(e.value, `${ep}.value`, errs);
    const vf = asObject(e.valueFrom, `${ep}.valueFrom`, errs);
    if (vf) {
      if (e.value) errs.push(fieldError.invalid(`${ep}.valueFrom`, "", "may not be specified when `value` is not empty"));
      const kinds = ["fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef"].filter((k) => vf[k] != null);
      if (kinds.length === 0) errs.push(fieldError.invalid(`${ep}.valueFrom`, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
      else if (kinds.length > 1) errs.push(fieldError.invalid(`${ep}.valueFrom`, "", "may not have more than one field specified at a time"));
    }
  }
  objectItems(c.envFrom, `${path}.envFrom`, errs);

  const mountPaths = new Set<string>();
  for (const [m, mp] of objectItems(c.volumeMounts, `${path}.volumeMounts`, errs)) {
    const mname = asString(m.name, `${mp}.name`, errs);
    if (!m.name) errs.push(fieldError.required(`${mp}.name`));
    if (mname !== undefined && !opts.volumes.has(mname)) errs.push(notFound(`${mp}.name`, mname));
    const mpath = asString(m.mountPath, `${mp}.mountPath`, errs);
    if (!m.mountPath) errs.push(fieldError.required(`${mp}.mountPath`));
    if (mpath !== undefined) {
      if (mountPaths.has(mpath)) errs.push(fieldError.invalid(`${mp}.mountPath`, mpath, "must be unique"));
      mountPaths.add(mpath);
    }
    const sub = asString(m.subPath, `${mp}.subPath`, errs);
    if (sub) {
      if (sub.startsWith("/")) errs.push(fieldError.invalid(`${mp}.subPath`, sub, "must be a relative path"));
      if (sub.split("/").includes("..")) errs.push(fieldError.invalid(`${mp}.subPath`, sub, "must not contain '..'"));
    }
  }

  errs.push(...validateResourceRequirements(c.resources, `${path}.resources`));
  errs.push(...requiredEnum(c.imagePullPolicy, PULL_POLICIES, `${path}.imagePullPolicy`));
  errs.push(...requiredEnum(c.terminationMessagePolicy, TERMINATION_MESSAGE_POLICIES, `${path}.terminationMessagePolicy`));
  if (c.restartPolicy !== undefined) {
    if (!opts.init) errs.push(fieldError.forbidden(`${path}.restartPolicy`, "may not be set for non-init containers"));
    else errs.push(...validateEnum(c.restartPolicy, ["Always"], `${path}.restartPolicy`));
  }
  const sidecar = opts.init && c.restartPolicy === "Always";
  if (opts.init && !sidecar) {
    for (const k of ["livenessProbe", "readinessProbe", "startupProbe", "lifecycle"]) {
      if (c[k] != null) errs.push(fieldError.forbidden(`${path}.${k}`, `may not be set for init containers without restartPolicy=Always`));
    }
  } else {
    errs.push(...validateProbe(c.livenessProbe, `${path}.livenessProbe`, true));
    errs.push(...validateProbe(c.readinessProbe, `${path}.readinessProbe`, false));
    errs.push(...validateProbe(c.startupProbe, `${path}.startupProbe`, true));
  }
  asObject(c.securityContext, `${path}.securityContext`, errs);
  return errs;
}

function validateVolumes(v: unknown, path: string, errs: StatusCause[]): Set<string> {
  const names = new Set<string>();
  for (const [vol, vp] of objectItems(v, path, errs)) {
    const name = asString(vol.name, `${vp}.name`, errs);
    if (!vol.name) errs.push(fieldError.required(`${vp}.name`));
    else if (name !== undefined) {
      errs.push(...invalidEach(name, isDNS1123Label(name), `${vp}.name`));
      if (names.has(name)) errs.push(fieldError.duplicate(`${vp}.name`, name));
      names.add(name);
    }
    const sources = VOLUME_SOURCES.filter((k) => vol[k] !== undefined && vol[k] !== null);
    if (sources.length === 0) errs.push(fieldError.required(vp, "Required value: must specify a volume type"));
    for (const s of sources.slice(1)) errs.push(fieldError.forbidden(`${vp}.${s}`, "may not specify more than 1 volume type"));
    for (const s of sources) {
      const src = asObject(vol[s], `${vp}.${s}`, errs);
      if (!src) continue;
      const req = (k: string) => {
        if (!src[k]) errs.push(fieldError.required(`${vp}.${s}.${k}`));
        else asString(src[k], `${vp}.${s}.${k}`, errs);
      };
      if (s === "hostPath") req("path");
      if (s === "secret") req("secretName");
      if (s === "configMap") req("name");
      if (s === "persistentVolumeClaim") req("claimName");
      if (s === "nfs") { req("server"); req("path"); }
      if (s === "csi") req("driver");
      if (s === "emptyDir" && src.sizeLimit !== undefined) {
        const q = tryParseQuantity(src.sizeLimit);
        if (!q) errs.push(fieldError.invalid(`${vp}.${s}.sizeLimit`, src.sizeLimit, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
        else if (compareQuantity(q, "0") < 0) errs.push(fieldError.invalid(`${vp}.${s}.sizeLimit`, src.sizeLimit, "must be greater than or equal to 0"));
      }
      for (const k of ["defaultMode"]) {
        const mode = asInt(src[k], `${vp}.${s}.${k}`, errs);
        if (mode !== undefined && (mode < 0 || mode > 0o777)) errs.push(fieldError.invalid(`${vp}.${s}.${k}`, mode, "must be a number between 0 and 0777 (octal), both inclusive"));
      }
    }
  }
  return names;
}

export function validateTolerations(v: unknown, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  for (const [t, tp] of objectItems(v, path, errs)) {
    const key = asString(t.key, `${tp}.key`, errs) ?? "";
    if (key) errs.push(...invalidEach(key, isQualifiedName(key), `${tp}.key`));
    const op = t.operator ?? "";
    if (!key && op !== "Exists") errs.push(fieldError.invalid(`${tp}.operator`, op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    if (t.tolerationSeconds != null && t.effect !== "NoExecute") errs.push(fieldError.invalid(`${tp}.effect`, t.effect ?? "", "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    asInt(t.tolerationSeconds, `${tp}.tolerationSeconds`, errs);
    const value = asString(t.value, `${tp}.value`, errs) ?? "";
    if (op === "Equal" || op === "") {
      const msgs = isValidLabelValue(value);
      if (msgs.length) errs.push(fieldError.invalid(`${tp}.operator`, value, msgs.join(";")));
    } else if (op === "Exists") {
      if (value) errs.push(fieldError.invalid(`${tp}.operator`, t, "value must be empty when `operator` is 'Exists'"));
    } else errs.push(fieldError.notSupported(`${tp}.operator`, op, ["Equal", "Exists"]));
    if (t.effect) errs.push(...validateEnum(t.effect, TAINT_EFFECTS, `${tp}.effect`));
  }
  return errs;
}

/**
 * ValidatePodSpec. `path` is where the spec sits ("spec" or "spec.template.spec").
 * `extraVolumeNames` are volumes supplied from outside the spec: a StatefulSet's
 * volumeClaimTemplates become pod volumes of those names.
 */
export function validatePodSpec(s: unknown, path = "spec", extraVolumeNames: readonly string[] = []): StatusCause[] {
  const errs: StatusCause[] = [];
  if (s === undefined || s === null) return [fieldError.required(`${path}.containers`)];
  const spec = asObject(s, path, errs);
  if (!spec) return errs;
  const volumes = validateVolumes(spec.volumes, `${path}.volumes`, errs);
  for (const n of extraVolumeNames) volumes.add(n);
  const hostNetwork = asBool(spec.hostNetwork, `${path}.hostNetwork`, errs) ?? false;
  const names = new Set<string>();
  const containers = asArray(spec.containers, `${path}.containers`, errs);
  if (spec.containers !== undefined && spec.containers !== null && !containers) {
    // type error already reported
  } else if (!containers || containers.length === 0) errs.push(fieldError.required(`${path}.containers`));
  // Regular containers first: a name clash is reported on the init container, as upstream.
  for (const [c, cp] of objectItems(containers, `${path}.containers`, errs)) errs.push(...validateContainer(c, cp, { volumes, names, hostNetwork, init: false }));
  for (const [c, cp] of objectItems(spec.initContainers, `${path}.initContainers`, errs)) errs.push(...validateContainer(c, cp, { volumes, names, hostNetwork, init: true }));
  objectItems(spec.ephemeralContainers, `${path}.ephemeralContainers`, errs);

  errs.push(...requiredEnum(spec.restartPolicy, RESTART_POLICIES, `${path}.restartPolicy`));
  errs.push(...requiredEnum(spec.dnsPolicy, DNS_POLICIES, `${path}.dnsPolicy`));
  if (spec.dnsPolicy === "None") {
    const cfg = asObject(spec.dnsConfig, `${path}.dnsConfig`, errs);
    if (!cfg) errs.push(fieldError.required(`${path}.dnsConfig`, "Required value: must provide `dnsConfig` when `dnsPolicy` is None"));
    else if (!Array.isArray(cfg.nameservers) || cfg.nameservers.length === 0) errs.push(fieldError.required(`${path}.dnsConfig.nameservers`, "Required value: must provide at least one DNS nameserver when `dnsPolicy` is None"));
  }
  const grace = asInt(spec.terminationGracePeriodSeconds, `${path}.terminationGracePeriodSeconds`, errs);
  if (grace !== undefined) errs.push(...validateNonnegative(grace, `${path}.terminationGracePeriodSeconds`));
  const ads = asInt(spec.activeDeadlineSeconds, `${path}.activeDeadlineSeconds`, errs);
  if (ads !== undefined && (ads < 1 || ads > MAX_INT32)) errs.push(fieldError.invalid(`${path}.activeDeadlineSeconds`, ads, inclusiveRangeError(1, MAX_INT32)));
  errs.push(...validateLabels(spec.nodeSelector, `${path}.nodeSelector`));
  for (const k of ["serviceAccountName", "nodeName"]) {
    const v = asString(spec[k], `${path}.${k}`, errs);
    if (v) errs.push(...invalidEach(v, isDNS1123Subdomain(v), `${path}.${k}`));
  }
  for (const k of ["hostname", "subdomain"]) {
    const v = asString(spec[k], `${path}.${k}`, errs);
    if (v) errs.push(...invalidEach(v, isDNS1123Label(v), `${path}.${k}`));
  }
  asString(spec.schedulerName, `${path}.schedulerName`, errs);
  asString(spec.priorityClassName, `${path}.priorityClassName`, errs);
  for (const k of ["hostPID", "hostIPC", "enableServiceLinks", "automountServiceAccountToken", "shareProcessNamespace"]) asBool(spec[k], `${path}.${k}`, errs);
  for (const k of ["securityContext", "affinity", "dnsConfig"]) asObject(spec[k], `${path}.${k}`, errs);
  errs.push(...validateTolerations(spec.tolerations, `${path}.tolerations`));
  for (const [g, gp] of objectItems(spec.readinessGates, `${path}.readinessGates`, errs)) {
    const ct = asString(g.conditionType, `${gp}.conditionType`, errs) ?? "";
    errs.push(...invalidEach(ct, isQualifiedName(ct), `${gp}.conditionType`));
  }
  objectItems(spec.imagePullSecrets, `${path}.imagePullSecrets`, errs);
  return errs;
}

/** ValidatePodTemplateSpec: template labels/annotations plus the spec. */
export function validatePodTemplateSpec(t: unknown, path = "spec.template", extraVolumeNames: readonly string[] = []): StatusCause[] {
  const errs: StatusCause[] = [];
  const tpl = asObject(t, path, errs);
  if (!tpl) return t === undefined || t === null ? [fieldError.required(path)] : errs;
  const meta = asObject(tpl.metadata, `${path}.metadata`, errs) ?? {};
  errs.push(...validateLabels(meta.labels, `${path}.metadata.labels`));
  errs.push(...validateAnnotations(meta.annotations, `${path}.metadata.annotations`));
  errs.push(...validatePodSpec(tpl.spec, `${path}.spec`, extraVolumeNames));
  return errs;
}

/** Pod template defaults (SetDefaults_PodSpec applies to templates too). */
export function defaultPodTemplateSpec(t: unknown): void {
  if (isPlainObject(t)) defaultPodSpec(t.spec);
}
