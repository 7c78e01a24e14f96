// What is left of a pod on the node once its sandboxes are gone, and its removal
// (the kubelet's pod housekeeping, https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-garbage-collection
// covers the API side): the pod's log directory, the kubelet's own files under the pod
// directory, and the pod-level cgroup.

import { readdir, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { KObject } from "../../apimachinery/types.js";
import { podLogDirectory } from "./sandboxconfig.js";
import { podDir } from "./termination.js";

/**
 * The kubelet's own files of a pod: the log directory, the managed /etc/hosts and the
 * termination message files. The pod directory itself only goes when empty: whatever
 * the volume manager left there (a mount that failed to come down) must not be deleted
 * through.
 */
export async function removePodFiles(dataDir: string, pod: KObject): Promise<void> {
  const dir = podDir(dataDir, pod.metadata.uid!);
  await rm(join(dir, "etc-hosts"), { force: true });
  await rm(join(dir, "containers"), { recursive: true, force: true });
  await rmdir(dir).catch(() => {});
  await rm(podLogDirectory(dataDir, pod), { recursive: true, force: true });
}

export const CGROUP_ROOT = "/sys/fs/cgroup";

/**
 * The pod-level cgroup (cgroupParent /tugboat/pod<uid>) outlives its containers: runc only
 * removes the container cgroups below it. Like the kubelet's pod container manager we
 * delete it once the pod's sandboxes are gone, in every hierarchy (v1 controllers and the
 * unified one). Best effort: missing directories and non-Linux hosts are fine.
 */
export async function removePodCgroup(uid: string, root = CGROUP_ROOT): Promise<void> {
  let hierarchies: string[];
  try {
    hierarchies = await readdir(root);
  } catch {
    return;
  }
  await Promise.all(
    hierarchies.map(async (h) => {
      // The shim may still be removing the last container cgroup below (slow under load): retry up to 10 s.
      for (let i = 0; i < 100; i++) {
        try {
          await rmdir(join(root, h, "tugboat", `pod${uid}`));
          return;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== "EBUSY" && code !== "ENOTEMPTY") return;
          await sleep(100);
        }
      }
    }),
  );
}
