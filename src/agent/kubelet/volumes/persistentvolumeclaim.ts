// persistentVolumeClaim volumes (https://kubernetes.io/docs/concepts/storage/persistent-volumes/#claims-as-volumes):
// the claim (in the pod's namespace) must be Bound to a PersistentVolume, whose node-
// local source — hostPath (type-checked like a hostPath volume) or local — is the host
// directory the containers mount. `readOnly` on the claim reference makes every mount
// of it read-only. Claims being deleted still serve pods that already use them.

import { checkHostPath } from "./hostpath.js";
import { isNotFoundError, VolumeSetupError, type PreparedVolume, type VolumeContext } from "./types.js";

export async function setUpPersistentVolumeClaim(ctx: VolumeContext, volume: any): Promise<PreparedVolume> {
  const src = volume.persistentVolumeClaim ?? {};
  const claimName = String(src.claimName ?? "");
  const ns = ctx.pod.metadata.namespace ?? "default";
  let pvc: any;
  try {
    pvc = await ctx.client.get("v1/persistentvolumeclaims", ns, claimName);
  } catch (e) {
    if (isNotFoundError(e)) throw new VolumeSetupError(volume.name, `persistentvolumeclaim "${claimName}" not found`);
    throw e;
  }
  const pvName: string | undefined = pvc.spec?.volumeName;
  if (pvc.status?.phase !== "Bound" || !pvName) throw new VolumeSetupError(volume.name, `persistentvolumeclaim "${claimName}" is not bound (phase ${pvc.status?.phase ?? "Pending"})`);
  let pv: any;
  try {
    pv = await ctx.client.get("v1/persistentvolumes", undefined, pvName);
  } catch (e) {
    if (isNotFoundError(e)) throw new VolumeSetupError(volume.name, `persistentvolume "${pvName}" of claim "${claimName}" not found`);
    throw e;
  }
  const ref = pv.spec?.claimRef;
  if (ref && (ref.name !== claimName || ref.namespace !== ns || (ref.uid && pvc.metadata?.uid && ref.uid !== pvc.metadata.uid))) {
    throw new VolumeSetupError(volume.name, `persistentvolume "${pvName}" is bound to another claim (${ref.namespace}/${ref.name})`);
  }
  let path: string;
  if (pv.spec?.hostPath) {
    path = String(pv.spec.hostPath.path ?? "");
    await checkHostPath(volume.name, path, String(pv.spec.hostPath.type ?? ""));
  } else if (pv.spec?.local) {
    path = String(pv.spec.local.path ?? "");
    // A local volume must already exist on this node; nothing creates it for us.
    await checkHostPath(volume.name, path, "Directory");
  } else {
    throw new VolumeSetupError(volume.name, `persistentvolume "${pvName}" has no hostPath or local source this node can mount`);
  }
  return { path, readOnly: src.readOnly === true };
}
