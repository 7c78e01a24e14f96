// hostPath volumes (https://kubernetes.io/docs/concepts/storage/volumes/#hostpath): a
// file or directory of the node mounted into the pod, after the check its `type` asks
// for — "" (none), DirectoryOrCreate (made 0755 when missing), Directory, FileOrCreate
// (an empty 0644 file when missing; the parent must exist), File, Socket, CharDevice,
// BlockDevice. A PersistentVolume with a hostPath or local source goes through the
// same check.

import { constants } from "node:fs";
import { mkdir, open, stat } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { VolumeSetupError, type PreparedVolume, type VolumeContext } from "./types.js";

export const HOST_PATH_TYPES = ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"] as const;

async function statOf(path: string) {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}

/** Applies the hostPath type check (creating what the *OrCreate types create); throws VolumeSetupError. */
export async function checkHostPath(volume: string, path: string, type: string): Promise<void> {
  if (!path || !isAbsolute(path)) throw new VolumeSetupError(volume, `hostPath.path: ${JSON.stringify(path)} must be an absolute path`);
  if (!(HOST_PATH_TYPES as readonly string[]).includes(type)) throw new VolumeSetupError(volume, `hostPath.type: unsupported value ${JSON.stringify(type)}`);
  const fail = (what: string) => new VolumeSetupError(volume, `hostPath type check failed: ${path} is not ${what}`);
  let st = await statOf(path);
  switch (type) {
    case "":
      return;
    case "DirectoryOrCreate":
      if (!st) {
        await mkdir(path, { recursive: true, mode: 0o755 });
        st = await statOf(path);
      }
      if (!st?.isDirectory()) throw fail("a directory");
      return;
    case "Directory":
      if (!st?.isDirectory()) throw fail("a directory");
      return;
    case "FileOrCreate":
      if (!st) {
        try {
          // O_EXCL: a racing creator's file is fine; never truncate an existing one.
          const fh = await open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
          await fh.close();
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new VolumeSetupError(volume, `hostPath: creating file ${path}: ${(e as Error).message}`);
        }
        st = await statOf(path);
      }
      if (!st?.isFile()) throw fail("a file");
      return;
    case "File":
      if (!st?.isFile()) throw fail("a file");
      return;
    case "Socket":
      if (!st?.isSocket()) throw fail("a socket file");
      return;
    case "CharDevice":
      if (!st?.isCharacterDevice()) throw fail("a character device");
      return;
    case "BlockDevice":
      if (!st?.isBlockDevice()) throw fail("a block device");
      return;
  }
}

export async function setUpHostPath(_ctx: VolumeContext, volume: any): Promise<PreparedVolume> {
  const src = volume.hostPath ?? {};
  const path = String(src.path ?? "");
  await checkHostPath(volume.name, path, String(src.type ?? ""));
  return { path, readOnly: false };
}
