// The local-path provisioner, node side: dynamic provisioning
// (https://kubernetes.io/docs/concepts/storage/dynamic-provisioning/) of node-local
// directories for the built-in StorageClass `local-path` (provisioner
// tugboat.io/local-path, WaitForFirstConsumer), in the spirit of k3s's local-path
// provisioner (https://docs.k3s.io/storage). Every agent runs one for its own node:
// - a claim of such a class whose volume.kubernetes.io/selected-node (set by the
//   scheduler's VolumeBinding plugin) is this node gets DATA/storage/<pv-name> (mode 0777,
//   so any container user can write) and a PersistentVolume `pvc-<claim uid>`: hostPath
//   to that directory, nodeAffinity kubernetes.io/hostname=<node>, capacity = the request,
//   the class's reclaim policy and mount options, and claimRef to the claim — the PV
//   controller then binds the two;
// - a volume it provisioned that is Released with reclaimPolicy Delete has its directory
//   removed, is marked tugboat.io/local-path-removed and deleted. Retain keeps both.
// Runs on every node (needsLeader false); it only ever touches its own node's volumes.
// A hollow fleet runs one for all its nodes with `hollow` set: the same objects, no
// directories, so StatefulSets' claims bind on simulated nodes too.

import { chmod, mkdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { KObject } from "../../apimachinery/types.js";
import type { Client } from "../../client/types.js";
import { runController, type Controller } from "../../client/controller.js";
import { SharedInformerFactory } from "../../client/sharedinformers.js";
import { ClientEventRecorder } from "../../client/events.js";
import { silentLogger, type Logger, type Runnable } from "../../client/runnable.js";
import { LOCAL_PATH_PROVISIONER, LOCAL_PATH_REMOVED_ANNOTATION, PROVISIONED_BY_ANNOTATION, SELECTED_NODE_ANNOTATION, STORAGE_CLASSES } from "../../api/storage.js";
import { classOf, PVCS, PVS, volumeNode } from "../../controllers/persistentvolume.js";

export interface LocalPathOptions {
  client: Client;
  /** This node's name: only claims selected for it are provisioned here. */
  nodeName: string;
  /** The agent's data dir; volumes live in DATA/storage/<pv-name>. */
  dataDir: string;
  log?: Logger;
  /**
   * Hollow nodes: serve every node this returns true for (default: nodeName only) and
   * write only the API objects, creating and removing no directories.
   */
  hollow?: { servesNode(name: string): boolean };
}

/** The PV name for a claim (upstream's external provisioners use pvc-<claim uid>). */
export function volumeNameFor(claim: KObject): string {
  return `pvc-${claim.metadata.uid}`;
}

function codeOf(err: unknown): number | undefined {
  return (err as { code?: number })?.code;
}

/** The PersistentVolume the provisioner creates for a claim on this node. */
export function localPathVolume(claim: KObject, sc: KObject, nodeName: string, path: string): KObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: volumeNameFor(claim), annotations: { [PROVISIONED_BY_ANNOTATION]: LOCAL_PATH_PROVISIONER } },
    spec: {
      capacity: { storage: claim.spec?.resources?.requests?.storage },
      accessModes: claim.spec?.accessModes ?? ["ReadWriteOnce"],
      volumeMode: claim.spec?.volumeMode ?? "Filesystem",
      persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? "Delete",
      storageClassName: sc.metadata.name,
      ...(Array.isArray(sc.mountOptions) && sc.mountOptions.length ? { mountOptions: sc.mountOptions } : {}),
      hostPath: { path, type: "DirectoryOrCreate" },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [nodeName] }] }] } },
      claimRef: { kind: "PersistentVolumeClaim", apiVersion: "v1", namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid, resourceVersion: claim.metadata.resourceVersion },
    },
  };
}

export function localPathProvisioner(o: LocalPathOptions): Runnable {
  const log = o.log ?? silentLogger;
  const root = resolve(o.dataDir, "storage");
  const dirOf = (pvName: string) => join(root, pvName);
  const serves = (node: string | undefined) => node !== undefined && (o.hollow ? o.hollow.servesNode(node) : node === o.nodeName);

  const provision: Controller = {
    name: `local-path-provisioner/${o.nodeName}`,
    for: PVCS,
    reads: [STORAGE_CLASSES, PVS],
    needsLeader: false,
    workers: 2,
    async reconcile(ctx, key) {
      const claim = ctx.reader.get(PVCS, key.namespace, key.name);
      if (!claim || claim.metadata.deletionTimestamp || claim.spec?.volumeName) return;
      const node = claim.metadata.annotations?.[SELECTED_NODE_ANNOTATION];
      if (!serves(node)) return;
      const sc = ctx.reader.get(STORAGE_CLASSES, undefined, classOf(claim));
      if (sc?.provisioner !== LOCAL_PATH_PROVISIONER) return;
      const name = volumeNameFor(claim);
      if (ctx.reader.get(PVS, undefined, name)) return; // provisioned already; the PV controller binds
      if (claim.spec?.volumeMode === "Block") {
        ctx.recorder.event(claim, "Warning", "ProvisioningFailed", "local-path volumes are directories: volumeMode Block is not supported");
        return;
      }
      const path = dirOf(name);
      if (!o.hollow) {
        await mkdir(path, { recursive: true });
        await chmod(path, 0o777); // mkdir's mode is filtered by the umask
      }
      try {
        await ctx.client.create(PVS, localPathVolume(claim, sc, node!, path));
      } catch (err) {
        if (codeOf(err) !== 409) throw err;
        return;
      }
      log.info("provisioned volume", { claim: `${key.namespace}/${key.name}`, volume: name, path });
      ctx.recorder.event(claim, "Normal", "ProvisioningSucceeded", `Successfully provisioned volume ${name}`);
    },
  };

  const deprovision: Controller = {
    name: `local-path-deprovisioner/${o.nodeName}`,
    for: PVS,
    needsLeader: false,
    async reconcile(ctx, key) {
      const pv = ctx.reader.get(PVS, undefined, key.name);
      if (!pv || pv.metadata.deletionTimestamp) return;
      if (pv.metadata.annotations?.[PROVISIONED_BY_ANNOTATION] !== LOCAL_PATH_PROVISIONER || !serves(volumeNode(pv))) return;
      if (pv.status?.phase !== "Released" || pv.spec?.persistentVolumeReclaimPolicy !== "Delete") return;
      const path = dirOf(pv.metadata.name!);
      // Only a directory this provisioner made (under DATA/storage) is ever removed.
      if (!o.hollow && pv.spec?.hostPath?.path === path) await rm(path, { recursive: true, force: true });
      if (!pv.metadata.annotations?.[LOCAL_PATH_REMOVED_ANNOTATION]) {
        await ctx.client.patch(PVS, undefined, pv.metadata.name!, "merge", { metadata: { annotations: { [LOCAL_PATH_REMOVED_ANNOTATION]: "true" } } });
      }
      try {
        await ctx.client.delete(PVS, undefined, pv.metadata.name!, { preconditions: { uid: pv.metadata.uid } });
      } catch (err) {
        if (codeOf(err) !== 404 && codeOf(err) !== 409) throw err;
      }
      log.info("deleted volume", { volume: pv.metadata.name, path });
    },
  };

  return {
    name: `local-path-provisioner/${o.nodeName}`,
    needsLeader: false,
    async start(signal) {
      const informers = new SharedInformerFactory(o.client, {});
      // Events name the provisioner, as external provisioners' do.
      const deps = { client: o.client, informers, log, recorder: new ClientEventRecorder(o.client, { component: `${LOCAL_PATH_PROVISIONER}_${o.nodeName}` }) };
      const runs = [runController(provision, deps, signal), runController(deprovision, deps, signal)];
      informers.start(signal);
      await Promise.all(runs);
      await informers.stopped();
    },
  };
}
