// configMap volumes (https://kubernetes.io/docs/concepts/storage/volumes/#configmap and
// https://kubernetes.io/docs/concepts/configuration/configmap/#using-configmaps-as-files-from-a-pod):
// every key of data and binaryData becomes a file, or only the listed `items` (key →
// path, with their own mode), with defaultMode (0644) otherwise. A missing ConfigMap or
// key fails the mount unless `optional`. Files are written by the atomic writer and
// rewritten on each sync when the ConfigMap changed, so running containers see updates.

import { mkdir } from "node:fs/promises";
import { writeAtomically } from "./atomicwriter.js";
import { fileMode, isNotFoundError, PLUGIN_DIRS, VolumeSetupError, type Payload, type PreparedVolume, type VolumeContext } from "./types.js";

export const DEFAULT_FILE_MODE = 0o644;

/** The keys and contents of a ConfigMap or Secret, as files would hold them. */
export type KeyData = Map<string, Buffer>;

/**
 * Files for a key/value source (configMap or secret, volume or projected): `items` map
 * keys to paths, otherwise every key is a file. `what` is "configmap" or "secret" for messages.
 */
export function keyPayload(what: string, volume: string, data: KeyData | undefined, source: any, defaultMode: number, optional: boolean): Payload {
  const out: Payload = new Map();
  if (!data) return out;
  const items: any[] | undefined = Array.isArray(source.items) && source.items.length ? source.items : undefined;
  if (!items) {
    for (const [k, v] of data) out.set(k, { data: v, mode: defaultMode });
    return out;
  }
  for (const it of items) {
    const key = String(it?.key ?? "");
    const v = data.get(key);
    if (v === undefined) {
      if (optional) continue;
      throw new VolumeSetupError(volume, `${what} references non-existent config key: ${key}`);
    }
    out.set(String(it.path ?? key), { data: v, mode: fileMode(it.mode, defaultMode, volume, "items.mode") });
  }
  return out;
}

/** A ConfigMap's keys (data as UTF-8, binaryData decoded), or undefined when it does not exist. */
export async function fetchConfigMap(ctx: VolumeContext, namespace: string, name: string): Promise<KeyData | undefined> {
  try {
    const cm: any = await ctx.client.get("v1/configmaps", namespace, name);
    const out: KeyData = new Map();
    for (const [k, v] of Object.entries(cm.data ?? {})) out.set(k, Buffer.from(String(v), "utf8"));
    for (const [k, v] of Object.entries(cm.binaryData ?? {})) out.set(k, Buffer.from(String(v), "base64"));
    return out;
  } catch (e) {
    if (isNotFoundError(e)) return undefined;
    throw e;
  }
}

/** The payload of a configMap source; `defaultMode` comes from the volume (or projected volume). */
export async function configMapPayload(ctx: VolumeContext, volume: string, source: any, defaultMode: number): Promise<Payload> {
  const name = String(source?.name ?? "");
  const optional = source?.optional === true;
  const data = await fetchConfigMap(ctx, ctx.pod.metadata.namespace ?? "default", name);
  if (!data && !optional) throw new VolumeSetupError(volume, `configmap "${name}" not found`);
  return keyPayload("configmap", volume, data, source, defaultMode, optional);
}

export async function setUpConfigMap(ctx: VolumeContext, volume: any): Promise<PreparedVolume> {
  const src = volume.configMap ?? {};
  const payload = await configMapPayload(ctx, volume.name, src, fileMode(src.defaultMode, DEFAULT_FILE_MODE, volume.name, "configMap.defaultMode"));
  const dir = ctx.dirFor(PLUGIN_DIRS.configMap, volume.name);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await writeAtomically(dir, payload, { gid: fsGroupOf(ctx) });
  return { path: dir, readOnly: true };
}

export function fsGroupOf(ctx: VolumeContext): number | undefined {
  const g = ctx.pod.spec?.securityContext?.fsGroup;
  return typeof g === "number" && Number.isInteger(g) && g >= 0 ? g : undefined;
}
