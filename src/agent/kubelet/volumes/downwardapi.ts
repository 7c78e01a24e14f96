// downwardAPI volumes (https://kubernetes.io/docs/concepts/workloads/pods/downward-api/
// and https://kubernetes.io/docs/concepts/storage/volumes/#downwardapi): files holding
// the pod's own fields (fieldRef: metadata.name, namespace, uid, labels, annotations,
// one label or annotation) and its containers' resources (resourceFieldRef: limits.* /
// requests.* over a divisor, rounded up; an unset limit reads as the node's allocatable).
// Labels and annotations are refreshed on each sync like configMap files.

import { cpus, totalmem } from "node:os";
import { statfsSync } from "node:fs";
import { toBytes, toMillis } from "../../../apimachinery/quantity.js";
import { writeAtomically } from "./atomicwriter.js";
import { DEFAULT_FILE_MODE, fsGroupOf } from "./configmap.js";
import { fileMode, PLUGIN_DIRS, VolumeSetupError, type Payload, type PreparedVolume, type VolumeContext } from "./types.js";

/** Upstream's FormatMap: sorted `key="value"` lines (Go %q quoting), no trailing newline. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(String(m![k]))}`)
    .join("\n");
}

/** The value of a fieldRef.fieldPath a downwardAPI volume may name. */
export function podFieldValue(pod: any, fieldPath: string, volume: string): string {
  const md = pod.metadata ?? {};
  const sub = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (sub) return String((md[sub[1]!] ?? {})[sub[2]!] ?? "");
  switch (fieldPath) {
    case "metadata.name":
      return md.name ?? "";
    case "metadata.namespace":
      return md.namespace ?? "";
    case "metadata.uid":
      return md.uid ?? "";
    case "metadata.labels":
      return formatMap(md.labels);
    case "metadata.annotations":
      return formatMap(md.annotations);
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "";
    case "status.hostIP":
      return pod.status?.hostIP ?? "";
    case "status.podIP":
      return pod.status?.podIP ?? "";
    default:
      throw new VolumeSetupError(volume, `fieldRef.fieldPath: unsupported value ${JSON.stringify(fieldPath)}`);
  }
}

function nodeAllocatable(resource: string): number {
  if (resource === "cpu") return cpus().length * 1000;
  if (resource === "memory") return totalmem();
  try {
    const s = statfsSync("/");
    return s.bsize * s.blocks;
  } catch {
    return 0;
  }
}

/** resourceFieldRef as upstream computes it: CPU in millicores over the divisor, others in bytes, rounded up. */
export function resourceFieldValue(pod: any, ref: any, defaultContainer: string | undefined, volume: string): string {
  const containerName = ref?.containerName || defaultContainer;
  const c = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((x: any) => x.name === containerName);
  if (!c) throw new VolumeSetupError(volume, `resourceFieldRef: container ${JSON.stringify(containerName ?? "")} not found in the pod`);
  const m = /^(limits|requests)\.(cpu|memory|ephemeral-storage)$/.exec(String(ref?.resource ?? ""));
  if (!m) throw new VolumeSetupError(volume, `resourceFieldRef.resource: unsupported value ${JSON.stringify(ref?.resource)}`);
  const [, kind, resource] = m as unknown as [string, "limits" | "requests", string];
  const raw = c.resources?.[kind]?.[resource];
  const divisor = ref?.divisor ?? "1";
  try {
    if (resource === "cpu") {
      const have = raw !== undefined ? toMillis(raw) : kind === "limits" ? nodeAllocatable("cpu") : 0;
      return String(Math.ceil(have / Math.max(1, toMillis(divisor))));
    }
    const have = raw !== undefined ? toBytes(raw) : kind === "limits" ? nodeAllocatable(resource) : 0;
    return String(Math.ceil(have / Math.max(1, toBytes(divisor))));
  } catch (e) {
    if (e instanceof VolumeSetupError) throw e;
    throw new VolumeSetupError(volume, `resourceFieldRef: invalid quantity: ${String((e as Error).message ?? e)}`);
  }
}

/** Files of a downwardAPI source (volume or projected). */
export function downwardAPIPayload(pod: any, volume: string, source: any, defaultMode: number): Payload {
  const out: Payload = new Map();
  for (const it of Array.isArray(source?.items) ? source.items : []) {
    let value: string;
    if (it?.fieldRef) value = podFieldValue(pod, String(it.fieldRef.fieldPath ?? ""), volume);
    else if (it?.resourceFieldRef) value = resourceFieldValue(pod, it.resourceFieldRef, undefined, volume);
    else throw new VolumeSetupError(volume, `downwardAPI item ${JSON.stringify(it?.path)}: one of fieldRef or resourceFieldRef is required`);
    out.set(String(it.path ?? ""), { data: Buffer.from(value, "utf8"), mode: fileMode(it.mode, defaultMode, volume, "items.mode") });
  }
  return out;
}

export async function setUpDownwardAPI(ctx: VolumeContext, volume: any): Promise<PreparedVolume> {
  const src = volume.downwardAPI ?? {};
  const payload = downwardAPIPayload(ctx.pod, volume.name, src, fileMode(src.defaultMode, DEFAULT_FILE_MODE, volume.name, "downwardAPI.defaultMode"));
  const dir = ctx.dirFor(PLUGIN_DIRS.downwardAPI, volume.name);
  await writeAtomically(dir, payload, { gid: fsGroupOf(ctx) });
  return { path: dir, readOnly: true };
}
