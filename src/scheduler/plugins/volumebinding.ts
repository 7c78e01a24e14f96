// VolumeBinding: a pod's PersistentVolumeClaims constrain where it can run
// (https://kubernetes.io/docs/concepts/storage/storage-classes/#volume-binding-mode,
// https://kubernetes.io/docs/concepts/scheduling-eviction/scheduling-framework/).
// preFilter: every claim must exist and not be terminating; an unbound claim whose class
// binds Immediately (or that has no class) makes the pod unschedulable until the PV
// controller binds it ("pod has unbound immediate PersistentVolumeClaims"); unbound
// WaitForFirstConsumer claims wait for this pod. filter: the nodeAffinity of every bound
// PersistentVolume must match the node ("node(s) had volume node affinity conflict").
// preBind: each unbound WaitForFirstConsumer claim gets the annotation
// volume.kubernetes.io/selected-node=<node>, which tells the provisioner where to create
// the volume. Unlike upstream, the Binding does not wait for the claims to become Bound
// (hollow nodes have no provisioner); the kubelet waits before mounting instead.

import { unresolvable, unschedulable, type Plugin, type PreBindPatch } from "../framework.js";
import type { NodeInfo, PodInfo, Snapshot } from "../snapshot.js";
import { termMatches, type NodeSelectorTerm } from "./nodeaffinity.js";
import { SELECTED_NODE_ANNOTATION } from "../../api/storage.js";

export { SELECTED_NODE_ANNOTATION };
export const UNBOUND_IMMEDIATE_CLAIMS = "pod has unbound immediate PersistentVolumeClaims";
export const VOLUME_NODE_AFFINITY_CONFLICT = "node(s) had volume node affinity conflict";
const BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class";
const STATE_KEY = "VolumeBinding";

interface PodVolumes {
  /** Required node-selector terms of each bound PV (ORed within one PV, ANDed across PVs). */
  boundTerms: NodeSelectorTerm[][];
  /** Unbound WaitForFirstConsumer claims: "namespace/name". */
  delayed: { namespace: string; name: string; selected?: string }[];
}

function claimNames(p: PodInfo): string[] {
  const out: string[] = [];
  for (const v of p.pod.spec?.volumes ?? []) {
    const name = v?.persistentVolumeClaim?.claimName;
    if (typeof name === "string" && name) out.push(name);
    // Generic ephemeral volumes become a claim named <pod>-<volume>.
    else if (v?.ephemeral) out.push(`${p.name}-${v.name}`);
  }
  return out;
}

function classOf(claim: any): string {
  const ann = claim.metadata?.annotations?.[BETA_CLASS_ANNOTATION];
  return typeof ann === "string" ? ann : typeof claim.spec?.storageClassName === "string" ? claim.spec.storageClassName : "";
}

/** Reads the pod's claims from the snapshot; a string is the reason the pod cannot run anywhere. */
export function podVolumes(p: PodInfo, snapshot: Snapshot): PodVolumes | string | undefined {
  const lister = snapshot.volumes;
  const names = claimNames(p);
  if (!lister || names.length === 0) return undefined;
  const out: PodVolumes = { boundTerms: [], delayed: [] };
  let unboundImmediate = false;
  for (const name of names) {
    const claim = lister.claim(p.namespace, name);
    if (!claim) return `persistentvolumeclaim "${name}" not found`;
    if (claim.metadata.deletionTimestamp) return `persistentvolumeclaim "${name}" is being deleted`;
    const volumeName = claim.spec?.volumeName;
    if (volumeName) {
      const pv = lister.volume(volumeName);
      if (!pv) return `pvc(s) bound to non-existent pv(s)`;
      const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
      if (Array.isArray(terms)) out.boundTerms.push(terms);
      continue;
    }
    const className = classOf(claim);
    const sc = className ? lister.storageClass(className) : undefined;
    if (sc?.volumeBindingMode === "WaitForFirstConsumer") out.delayed.push({ namespace: p.namespace, name, selected: claim.metadata.annotations?.[SELECTED_NODE_ANNOTATION] });
    else unboundImmediate = true;
  }
  return unboundImmediate ? UNBOUND_IMMEDIATE_CLAIMS : out;
}

export const volumeBinding: Plugin = {
  name: "VolumeBinding",
  preFilter(ctx) {
    const v = podVolumes(ctx.pod, ctx.snapshot);
    if (v === undefined) return "skip";
    if (typeof v === "string") return unresolvable(v);
    if (v.boundTerms.length === 0) return "skip";
    ctx.state.set(STATE_KEY, v);
    return undefined;
  },
  filter(ctx, node: NodeInfo) {
    const v = ctx.state.get(STATE_KEY) as PodVolumes | undefined;
    if (!v) return undefined;
    for (const terms of v.boundTerms) {
      if (!terms.some((t) => termMatches(t, node))) return unschedulable(VOLUME_NODE_AFFINITY_CONFLICT);
    }
    return undefined;
  },
  preBind(pod, node, snapshot): PreBindPatch[] {
    const v = podVolumes(pod, snapshot);
    if (!v || typeof v === "string") return [];
    return v.delayed
      .filter((c) => c.selected !== node)
      .map((c) => ({ gvr: "v1/persistentvolumeclaims", namespace: c.namespace, name: c.name, patch: { metadata: { annotations: { [SELECTED_NODE_ANNOTATION]: node } } } }));
  },
};
