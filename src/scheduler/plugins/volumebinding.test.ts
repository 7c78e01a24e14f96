import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../../apimachinery/types.js";
import { Snapshot, podInfoFromPod } from "../snapshot.js";
import { Framework, fitErrorMessage, runFilterPlugin } from "../framework.js";
import { SELECTED_NODE_ANNOTATION, UNBOUND_IMMEDIATE_CLAIMS, VOLUME_NODE_AFFINITY_CONFLICT, volumeBinding } from "./volumebinding.js";

const node = (name: string): KObject => ({ metadata: { name, labels: { "kubernetes.io/hostname": name } } });
const claim = (name: string, spec: Record<string, unknown>, extra: Record<string, unknown> = {}): KObject => ({ metadata: { name, namespace: "default", ...extra }, spec });
const pv = (name: string, host?: string): KObject => ({
  metadata: { name },
  spec: host ? { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [host] }] }] } } } : {},
});
const classes: Record<string, KObject> = {
  "local-path": { metadata: { name: "local-path" }, provisioner: "tugboat.io/local-path", volumeBindingMode: "WaitForFirstConsumer" },
  fast: { metadata: { name: "fast" }, provisioner: "example.com/fast", volumeBindingMode: "Immediate" },
};

function snapshot(claims: KObject[], pvs: KObject[]): Snapshot {
  const s = Snapshot.fromObjects([node("a"), node("b")]);
  s.volumes = {
    claim: (ns, name) => claims.find((c) => c.metadata.namespace === ns && c.metadata.name === name),
    volume: (name) => pvs.find((v) => v.metadata.name === name),
    storageClass: (name) => classes[name],
  };
  return s;
}

const podWith = (...claimNames: string[]): KObject => ({
  metadata: { name: "p", namespace: "default" },
  spec: { containers: [{ name: "c", image: "x" }], volumes: claimNames.map((c, i) => ({ name: `v${i}`, persistentVolumeClaim: { claimName: c } })) },
});

test("VolumeBinding filter", async (t) => {
  const snap = snapshot(
    [
      claim("bound-a", { volumeName: "pv-a" }),
      claim("bound-any", { volumeName: "pv-any" }),
      claim("wait", { storageClassName: "local-path" }),
      claim("now", { storageClassName: "fast" }),
      claim("noclass", {}),
      claim("gone", { storageClassName: "local-path" }, { deletionTimestamp: "2024-01-01T00:00:00Z" }),
    ],
    [pv("pv-a", "a"), pv("pv-any")],
  );
  const cases: [string, string[], string, string | undefined, boolean?][] = [
    ["no claims: any node", [], "b", undefined],
    ["bound PV with node affinity: its node", ["bound-a"], "a", undefined],
    ["bound PV with node affinity: other node", ["bound-a"], "b", VOLUME_NODE_AFFINITY_CONFLICT],
    ["bound PV without node affinity: any node", ["bound-any"], "b", undefined],
    ["unbound WaitForFirstConsumer claim: any node", ["wait"], "b", undefined],
    ["unbound Immediate claim: nowhere", ["now"], "a", UNBOUND_IMMEDIATE_CLAIMS, true],
    ["unbound claim without class: nowhere", ["noclass"], "a", UNBOUND_IMMEDIATE_CLAIMS, true],
    ["missing claim", ["nope"], "a", 'persistentvolumeclaim "nope" not found', true],
    ["terminating claim", ["gone"], "a", 'persistentvolumeclaim "gone" is being deleted', true],
    ["bound and waiting together", ["bound-a", "wait"], "b", VOLUME_NODE_AFFINITY_CONFLICT],
  ];
  for (const [name, claims, on, reason, unresolvable] of cases) {
    await t.test(name, () => {
      const got = runFilterPlugin(volumeBinding, podWith(...claims), snap, on);
      assert.deepEqual(got?.reasons, reason ? [reason] : undefined);
      if (reason) assert.equal(Boolean(got?.unresolvable), Boolean(unresolvable));
    });
  }
});

test("VolumeBinding: the upstream message for unbound immediate claims; preBind selects the node", () => {
  const snap = snapshot([claim("now", { storageClassName: "fast" }), claim("wait", { storageClassName: "local-path" }), claim("chosen", { storageClassName: "local-path" }, { annotations: { [SELECTED_NODE_ANNOTATION]: "b" } })], []);
  const fw = new Framework([volumeBinding]);
  const r = fw.schedule(podInfoFromPod(podWith("now")), snap);
  assert.equal(r.node, undefined);
  assert.equal(fitErrorMessage(2, r.metric), "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims.");
  assert.deepEqual(volumeBinding.preBind!(podInfoFromPod(podWith("wait", "chosen")), "b", snap), [
    { gvr: "v1/persistentvolumeclaims", namespace: "default", name: "wait", patch: { metadata: { annotations: { [SELECTED_NODE_ANNOTATION]: "b" } } } },
  ]);
  assert.deepEqual(volumeBinding.preBind!(podInfoFromPod(podWith()), "b", snap), []);
  // Without storage informers (plain snapshots) the plugin stays out of the way.
  assert.equal(runFilterPlugin(volumeBinding, podWith("now"), Snapshot.fromObjects([node("a")]), "a"), undefined);
});
