// secret volumes (https://kubernetes.io/docs/concepts/storage/volumes/#secret and
// https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-files-from-a-pod):
// like configMap volumes (items, defaultMode 0644, optional, atomic updates) with the
// Secret's base64 data decoded. The volume directory is a tmpfs, as the kubelet makes
// it, so secret bytes never reach the node's disk; without permission to mount (not
// root) it falls back to a plain directory.

import { mkdir } from "node:fs/promises";
import { writeAtomically } from "./atomicwriter.js";
import { DEFAULT_FILE_MODE, fsGroupOf, keyPayload, type KeyData } from "./configmap.js";
import { mountTmpfs } from "./mounts.js";
import { fileMode, isNotFoundError, PLUGIN_DIRS, VolumeSetupError, type Payload, type PreparedVolume, type VolumeContext } from "./types.js";

/** A Secret's keys (base64 data decoded), or undefined when it does not exist. */
export async function fetchSecret(ctx: VolumeContext, namespace: string, name: string): Promise<KeyData | undefined> {
  try {
    const s: any = await ctx.client.get("v1/secrets", namespace, name);
    const out: KeyData = new Map();
    for (const [k, v] of Object.entries(s.data ?? {})) out.set(k, Buffer.from(String(v), "base64"));
    return out;
  } catch (e) {
    if (isNotFoundError(e)) return undefined;
    throw e;
  }
}

export async function secretPayload(ctx: VolumeContext, volume: string, secretName: string, source: any, defaultMode: number): Promise<Payload> {
  const optional = source?.optional === true;
  const data = await fetchSecret(ctx, ctx.pod.metadata.namespace ?? "default", secretName);
  if (!data && !optional) throw new VolumeSetupError(volume, `secret "${secretName}" not found`);
  return keyPayload("secret", volume, data, source, defaultMode, optional);
}

/** Mounts a small tmpfs for volumes holding credentials; logs and carries on where mounting is not allowed. */
export async function memoryBacked(ctx: VolumeContext, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  try {
    await mountTmpfs(dir, { mode: 0o755 });
  } catch (e) {
    ctx.log.debug?.("volume: tmpfs unavailable, using a plain directory", { dir, error: String((e as Error).message ?? e) });
  }
}

export async function setUpSecret(ctx: VolumeContext, volume: any): Promise<PreparedVolume> {
  const src = volume.secret ?? {};
  const payload = await secretPayload(ctx, volume.name, String(src.secretName ?? ""), src, fileMode(src.defaultMode, DEFAULT_FILE_MODE, volume.name, "secret.defaultMode"));
  const dir = ctx.dirFor(PLUGIN_DIRS.secret, volume.name);
  await memoryBacked(ctx, dir);
  await writeAtomically(dir, payload, { gid: fsGroupOf(ctx) });
  return { path: dir, readOnly: true };
}
