// The kubelet's volume manager (https://kubernetes.io/docs/concepts/storage/volumes/):
// before a pod's containers start, and again on every sync, each volume of the pod is
// set up on the host — emptyDir, configMap, secret, downwardAPI, projected (with
// service-account tokens), hostPath, persistentVolumeClaim — and each container's
// volumeMounts become CRI bind mounts (subPath / subPathExpr, readOnly, propagation).
// Pod-owned volume data lives under DATA/pods/<uid>/volumes/<plugin>/<name>, beside but
// apart from the log directories DATA/pods/<ns>_<name>_<uid>; tear-down unmounts every
// mount under DATA/pods/<uid> (found in /proc/self/mountinfo, so it also works for pods
// from before an agent restart) and removes DATA/pods/<uid>/volumes (and the pod
// directory when nothing else of the kubelet's is left in it).

import { existsSync, mkdirSync, realpathSync } from "node:fs";
import { readdir, rm, rmdir } from "node:fs/promises";
import { join, sep } from "node:path";
import type { KObject } from "../../../apimachinery/types.js";
import type { Client } from "../../../client/types.js";
import type { Logger } from "../../../client/runnable.js";
import type { Mount, MountPropagation } from "../../runtime/types.js";
import { setUpConfigMap } from "./configmap.js";
import { podFieldValue, setUpDownwardAPI } from "./downwardapi.js";
import { setUpEmptyDir } from "./emptydir.js";
import { setUpHostPath } from "./hostpath.js";
import { mountsUnder, unmountAllUnder } from "./mounts.js";
import { setUpPersistentVolumeClaim } from "./persistentvolumeclaim.js";
import { setUpProjected } from "./projected.js";
import { setUpSecret } from "./secret.js";
import { ServiceAccountTokenCache } from "./serviceaccounttoken.js";
import { VolumeSetupError, type PreparedVolume, type VolumeContext } from "./types.js";

export { FAILED_MOUNT, VolumeSetupError, type PreparedVolume } from "./types.js";
export { ServiceAccountTokenCache } from "./serviceaccounttoken.js";

export interface VolumeManagerDeps {
  client: Client;
  dataDir: string;
  nodeName: string;
  log: Logger;
  /**
   * After a complete set-up, later setUp calls for an unchanged pod (same resourceVersion)
   * re-read ConfigMaps, Secrets and tokens at most this often (default 3000 ms): pod
   * workers sync every second, and each refresh costs API reads per volume.
   */
  refreshIntervalMs?: number;
  /** Clock for the refresh interval (tests). */
  now?: () => number;
}

type SetUpFn = (ctx: VolumeContext, volume: any) => Promise<PreparedVolume>;

/** Volume source field → plugin. `ephemeral` claims are named <pod>-<volume> (generic ephemeral volumes). */
const plugins: [string, SetUpFn][] = [
  ["emptyDir", setUpEmptyDir],
  ["configMap", setUpConfigMap],
  ["secret", setUpSecret],
  ["downwardAPI", setUpDownwardAPI],
  ["projected", setUpProjected],
  ["hostPath", setUpHostPath],
  ["persistentVolumeClaim", setUpPersistentVolumeClaim],
  ["ephemeral", (ctx, v) => setUpPersistentVolumeClaim(ctx, { name: v.name, persistentVolumeClaim: { claimName: `${ctx.pod.metadata.name}-${v.name}` } })],
];

const propagations: Record<string, MountPropagation> = { None: "Private", HostToContainer: "HostToContainer", Bidirectional: "Bidirectional" };

/** A pod UID is used as a directory name: refuse anything that could climb out of DATA/pods. */
function safeUID(uid: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9-]*$/.test(uid);
}

/** $(VAR) references in subPathExpr, from the container's env ($$ escapes a dollar); unknown ones stay as written. */
export function expandSubPathExpr(expr: string, pod: any, container: any): string {
  const env = new Map<string, string>();
  for (const e of Array.isArray(container?.env) ? container.env : []) {
    if (typeof e?.value === "string") env.set(e.name, e.value);
    else if (e?.valueFrom?.fieldRef?.fieldPath) {
      try {
        env.set(e.name, podFieldValue(pod, e.valueFrom.fieldRef.fieldPath, ""));
      } catch {
        // not a pod field this node can resolve here; the reference stays literal
      }
    }
  }
  return expr.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name?: string) => (m === "$$" ? "$" : env.has(name!) ? env.get(name!)! : m));
}

function checkSubPath(volume: string, subPath: string): void {
  if (subPath.startsWith("/")) throw new VolumeSetupError(volume, `subPath ${JSON.stringify(subPath)} must be a relative path`);
  if (subPath.split("/").includes("..")) throw new VolumeSetupError(volume, `subPath ${JSON.stringify(subPath)} must not contain '..'`);
}

export class VolumeManager {
  /** Pod UID → volume name → where it is on the host. */
  private readonly prepared = new Map<string, Map<string, PreparedVolume>>();
  /** Pod UID → when its volumes were last all set up, and for which pod resourceVersion. */
  private readonly fresh = new Map<string, { at: number; resourceVersion: string | undefined }>();
  /** Pod UID → the tail of its set-up/tear-down chain: one operation per pod at a time. */
  private readonly chains = new Map<string, Promise<unknown>>();
  readonly tokens: ServiceAccountTokenCache;

  constructor(private readonly deps: VolumeManagerDeps) {
    this.tokens = new ServiceAccountTokenCache(deps.client, deps.log);
  }

  /** DATA/pods/<uid>: everything the volume manager keeps for one pod. */
  podDir(uid: string): string {
    return join(this.deps.dataDir, "pods", uid);
  }

  private serialize<T>(uid: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(uid) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.chains.set(uid, tail);
    void tail.then(() => {
      if (this.chains.get(uid) === tail) this.chains.delete(uid);
    });
    return next;
  }

  /**
   * Sets up (or refreshes) every volume of the pod. Idempotent. Throws a VolumeSetupError
   * (reason "FailedMount") naming the first volume that cannot be set up yet; the others
   * are still set up, so the next sync only retries what failed.
   */
  setUp(pod: KObject): Promise<void> {
    const uid = pod.metadata.uid ?? "";
    if (!safeUID(uid)) return Promise.reject(new VolumeSetupError("", `pod UID ${JSON.stringify(uid)} is not usable as a directory name`));
    return this.serialize(uid, async () => {
      const now = (this.deps.now ?? Date.now)();
      const last = this.fresh.get(uid);
      if (last && last.resourceVersion === pod.metadata.resourceVersion && now - last.at < (this.deps.refreshIntervalMs ?? 3000)) return;
      const base = this.podDir(uid);
      const ctx: VolumeContext = {
        client: this.deps.client,
        log: this.deps.log,
        pod,
        nodeName: this.deps.nodeName,
        dirFor: (plugin, name) => join(base, "volumes", plugin, name),
        tokens: this.tokens,
      };
      let vols = this.prepared.get(uid);
      if (!vols) this.prepared.set(uid, (vols = new Map()));
      const failures: VolumeSetupError[] = [];
      for (const v of (pod.spec?.volumes ?? []) as any[]) {
        const name = String(v?.name ?? "");
        const plugin = plugins.find(([field]) => v?.[field] !== undefined && v?.[field] !== null);
        try {
          if (!plugin) throw new VolumeSetupError(name, `unsupported volume type (fields: ${Object.keys(v ?? {}).filter((k) => k !== "name").join(", ") || "none"})`);
          vols.set(name, await plugin[1](ctx, v));
        } catch (e) {
          const err = e instanceof VolumeSetupError ? e : new VolumeSetupError(name, String((e as Error)?.message ?? e));
          failures.push(err);
        }
      }
      if (failures.length) {
        this.fresh.delete(uid);
        for (const f of failures.slice(1)) this.deps.log.error("volume set-up failed", { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, error: f.message });
        throw failures[0];
      }
      this.fresh.set(uid, { at: now, resourceVersion: pod.metadata.resourceVersion });
    });
  }

  /** CRI mounts for one container's volumeMounts. Only valid after a successful setUp of the pod. */
  mountsFor(pod: KObject, container: any): Mount[] {
    const uid = pod.metadata.uid ?? "";
    const vols = this.prepared.get(uid);
    const out: Mount[] = [];
    for (const vm of (container?.volumeMounts ?? []) as any[]) {
      const name = String(vm?.name ?? "");
      const p = vols?.get(name);
      if (!p) throw new VolumeSetupError(name, `volume is not set up for container ${JSON.stringify(container?.name ?? "")}`);
      const subPath: string = vm.subPath ? String(vm.subPath) : vm.subPathExpr ? expandSubPathExpr(String(vm.subPathExpr), pod, container) : "";
      let hostPath = p.path;
      if (subPath) {
        checkSubPath(name, subPath);
        hostPath = join(p.path, subPath);
        // Missing subPaths of writable volumes are created as directories, as the kubelet does.
        if (!existsSync(hostPath)) {
          if (p.readOnly) throw new VolumeSetupError(name, `subPath ${JSON.stringify(subPath)} does not exist in the volume`);
          mkdirSync(hostPath, { recursive: true, mode: 0o755 });
        }
        // A symlink inside the volume must not lead the bind mount outside it.
        const root = realpathSync(p.path);
        const real = realpathSync(hostPath);
        if (real !== root && !real.startsWith(root + sep)) throw new VolumeSetupError(name, `subPath ${JSON.stringify(subPath)} resolves outside the volume`);
      }
      out.push({
        containerPath: String(vm.mountPath ?? ""),
        hostPath,
        readOnly: vm.readOnly === true || p.readOnly,
        propagation: propagations[vm.mountPropagation ?? "None"] ?? "Private",
      });
    }
    return out;
  }

  /** Unmounts and removes everything of the pod. Safe to repeat and for UIDs never seen. */
  tearDown(podUID: string): Promise<void> {
    if (!safeUID(podUID)) return Promise.resolve();
    return this.serialize(podUID, async () => {
      const dir = this.podDir(podUID);
      await unmountAllUnder(dir);
      // Never delete through a mount (a Bidirectional volume may have gained one from a container).
      const left = mountsUnder(dir);
      if (left.length) throw new Error(`volumes of pod ${podUID} are still mounted: ${left.join(", ")}`);
      await rm(join(dir, "volumes"), { recursive: true, force: true });
      // The pod directory also holds other kubelet files (etc-hosts, …): it goes only once empty.
      await rmdir(dir).catch(() => {});
      this.prepared.delete(podUID);
      this.fresh.delete(podUID);
      this.tokens.forget(podUID);
    });
  }

  /** UIDs with volume directories on disk (for cleaning up pods deleted while the agent was down). */
  async podUIDsOnDisk(): Promise<string[]> {
    try {
      const entries = await readdir(join(this.deps.dataDir, "pods"), { withFileTypes: true });
      // Log directories are <ns>_<name>_<uid>; volume directories are bare UIDs.
      return entries.filter((e) => e.isDirectory() && safeUID(e.name) && !e.name.includes("_")).map((e) => e.name);
    } catch {
      return [];
    }
  }
}
