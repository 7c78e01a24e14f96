// emptyDir volumes (https://kubernetes.io/docs/concepts/storage/volumes/#emptydir): a
// directory created empty for the pod and removed with it, world-writable (0777) so any
// container user can write, as the kubelet makes it. medium "Memory" puts a tmpfs there,
// capped at sizeLimit (or, without one, at the pod's memory limit when all containers
// set one, else the kernel default of half the node's RAM).

import { chmod, mkdir } from "node:fs/promises";
import { toBytes } from "../../../apimachinery/quantity.js";
import { mountTmpfs } from "./mounts.js";
import { PLUGIN_DIRS, VolumeSetupError, type PreparedVolume, type VolumeContext } from "./types.js";

function bytesOf(q: unknown, volume: string, field: string): number {
  try {
    return toBytes(q as string);
  } catch {
    throw new VolumeSetupError(volume, `${field}: invalid quantity ${JSON.stringify(q)}`);
  }
}

/** Sum of the containers' memory limits when every container has one (what upstream caps memory emptyDirs at). */
function podMemoryLimit(pod: any): number {
  const cs: any[] = pod.spec?.containers ?? [];
  if (!cs.length) return 0;
  let sum = 0;
  for (const c of cs) {
    const lim = c.resources?.limits?.memory;
    if (lim === undefined) return 0;
    try {
      sum += toBytes(lim);
    } catch {
      return 0;
    }
  }
  return sum;
}

export async function setUpEmptyDir(ctx: VolumeContext, volume: any): Promise<PreparedVolume> {
  const src = volume.emptyDir ?? {};
  const dir = ctx.dirFor(PLUGIN_DIRS.emptyDir, volume.name);
  await mkdir(dir, { recursive: true });
  const medium = src.medium ?? "";
  if (medium === "Memory") {
    const size = src.sizeLimit !== undefined && src.sizeLimit !== null ? bytesOf(src.sizeLimit, volume.name, "emptyDir.sizeLimit") : podMemoryLimit(ctx.pod);
    try {
      await mountTmpfs(dir, { sizeBytes: size, mode: 0o777 });
    } catch (e) {
      throw new VolumeSetupError(volume.name, `mounting tmpfs: ${String((e as Error).message ?? e).trim()}`);
    }
  } else if (medium !== "") {
    throw new VolumeSetupError(volume.name, `emptyDir.medium: unsupported value ${JSON.stringify(medium)}: supported values: "", "Memory"`);
  }
  await chmod(dir, 0o777);
  return { path: dir, readOnly: false };
}
