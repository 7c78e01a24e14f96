// Shared vocabulary of the kubelet's volume plugins
// (https://kubernetes.io/docs/concepts/storage/volumes/): a volume of a pod is set up
// on the host under DATA/pods/<uid>/volumes/<plugin>/<name> (the kubelet's own layout,
// with the plugin names it uses, e.g. kubernetes.io~configmap) or is a host directory
// (hostPath, a PersistentVolume's path); containers then bind-mount it. A volume that
// cannot be set up yet fails with reason FailedMount, which the pod worker reports as
// an event and retries on the next sync.

import type { KObject } from "../../../apimachinery/types.js";
import type { Client } from "../../../client/types.js";
import type { Logger } from "../../../client/runnable.js";
import type { ServiceAccountTokenCache } from "./serviceaccounttoken.js";

/** The reason the kubelet gives volume set-up failures (event reason and waiting message). */
export const FAILED_MOUNT = "FailedMount";

/** A volume that cannot be set up yet; `reason` is always "FailedMount". */
export class VolumeSetupError extends Error {
  readonly reason = FAILED_MOUNT;
  constructor(
    readonly volume: string,
    message: string,
  ) {
    super(`MountVolume.SetUp failed for volume "${volume}" : ${message}`);
    this.name = "VolumeSetupError";
  }
}

/** Plugin directory names, as the upstream kubelet spells them under pods/<uid>/volumes. */
export const PLUGIN_DIRS = {
  emptyDir: "kubernetes.io~empty-dir",
  configMap: "kubernetes.io~configmap",
  secret: "kubernetes.io~secret",
  downwardAPI: "kubernetes.io~downward-api",
  projected: "kubernetes.io~projected",
} as const;

/** What a set-up volume offers to containers. */
export interface PreparedVolume {
  /** Host path containers bind-mount (a directory, or a file for some hostPath volumes). */
  path: string;
  /** The volume itself is read-only (configMap/secret/downwardAPI/projected, readOnly claims). */
  readOnly: boolean;
}

/** Everything a plugin needs to set up one volume of one pod. */
export interface VolumeContext {
  client: Client;
  log: Logger;
  pod: KObject;
  nodeName: string;
  /** DATA/pods/<uid>/volumes/<plugin>/<name> for plugins that own a directory. */
  dirFor(plugin: string, volumeName: string): string;
  tokens: ServiceAccountTokenCache;
}

/** One file of a configMap/secret/downwardAPI/projected volume, relative to the volume root. */
export interface FileProjection {
  data: Buffer;
  /** Permission bits (e.g. 0o644). */
  mode: number;
}

export type Payload = Map<string, FileProjection>;

/** API `mode` fields are decimal integers of permission bits; anything else is refused. */
export function fileMode(v: unknown, fallback: number, volume: string, field: string): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0o777) throw new VolumeSetupError(volume, `${field}: must be a number between 0 and 0777 (octal), both inclusive`);
  return v;
}

export function isNotFoundError(e: unknown): boolean {
  return (e as { code?: number })?.code === 404;
}
