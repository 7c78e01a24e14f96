import { test } from "node:test";
import assert from "node:assert/strict";
import { Snapshot } from "../snapshot.js";
import { runFilterPlugin, runScorePlugin } from "../framework.js";
import { interPodAffinity } from "./interpodaffinity.js";

const nodes: { metadata: { name: string; labels: Record<string, string> } }[] = [
  { metadata: { name: "a1", labels: { zone: "a", "kubernetes.io/hostname": "a1" } } },
  { metadata: { name: "a2", labels: { zone: "a", "kubernetes.io/hostname": "a2" } } },
  { metadata: { name: "b1", labels: { zone: "b", "kubernetes.io/hostname": "b1" } } },
  { metadata: { name: "x", labels: { "kubernetes.io/hostname": "x" } } },
];
const pod = (name: string, labels: Record<string, string>, spec: Record<string, unknown> = {}, nodeName?: string, namespace = "default") => ({
  metadata: { name, namespace, labels },
  spec: { ...spec, ...(nodeName ? { nodeName } : {}) },
});
const term = (app: string, topologyKey: string, extra: Record<string, unknown> = {}) => ({ labelSelector: { matchLabels: { app } }, topologyKey, ...extra });
const affinity = (kind: "podAffinity" | "podAntiAffinity", ...terms: unknown[]) => ({ affinity: { [kind]: { requiredDuringSchedulingIgnoredDuringExecution: terms } } });

function fits(p: ReturnType<typeof pod>, existing: ReturnType<typeof pod>[]): Record<string, string | undefined> {
  const snap = Snapshot.fromObjects(nodes, existing);
  const out: Record<string, string | undefined> = {};
  for (const n of nodes) out[n.metadata.name] = runFilterPlugin(interPodAffinity, p, snap, n.metadata.name)?.reasons[0];
  return out;
}

const AFF = "node(s) didn't match pod affinity rules";
const ANTI = "node(s) didn't match pod anti-affinity rules";
const EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules";

test("InterPodAffinity filter", async (t) => {
  const cases: { name: string; pod: ReturnType<typeof pod>; existing: ReturnType<typeof pod>[]; want: Record<string, string | undefined> }[] = [
    {
      name: "no affinity anywhere",
      pod: pod("p", { app: "web" }),
      existing: [pod("db", { app: "db" }, {}, "a1")],
      want: { a1: undefined, a2: undefined, b1: undefined, x: undefined },
    },
    {
      name: "required affinity by zone",
      pod: pod("p", { app: "web" }, affinity("podAffinity", term("db", "zone"))),
      existing: [pod("db", { app: "db" }, {}, "a1")],
      want: { a1: undefined, a2: undefined, b1: AFF, x: AFF },
    },
    {
      name: "affinity to pods in another namespace needs namespaces",
      pod: pod("p", { app: "web" }, affinity("podAffinity", term("db", "zone"))),
      existing: [pod("db", { app: "db" }, {}, "a1", "other")],
      want: { a1: AFF, a2: AFF, b1: AFF, x: AFF },
    },
    {
      name: "namespaceSelector {} matches all namespaces",
      pod: pod("p", { app: "web" }, affinity("podAffinity", term("db", "zone", { namespaceSelector: {} }))),
      existing: [pod("db", { app: "db" }, {}, "a1", "other")],
      want: { a1: undefined, a2: undefined, b1: AFF, x: AFF },
    },
    {
      name: "first pod of a self-affine group goes anywhere with the key",
      pod: pod("p", { app: "web" }, affinity("podAffinity", term("web", "zone"))),
      existing: [],
      want: { a1: undefined, a2: undefined, b1: undefined, x: AFF },
    },
    {
      name: "required anti-affinity by hostname",
      pod: pod("p", { app: "web" }, affinity("podAntiAffinity", term("web", "kubernetes.io/hostname"))),
      existing: [pod("w1", { app: "web" }, {}, "a1")],
      want: { a1: ANTI, a2: undefined, b1: undefined, x: undefined },
    },
    {
      name: "anti-affinity by zone",
      pod: pod("p", { app: "web" }, affinity("podAntiAffinity", term("web", "zone"))),
      existing: [pod("w1", { app: "web" }, {}, "a1")],
      want: { a1: ANTI, a2: ANTI, b1: undefined, x: undefined },
    },
    {
      name: "existing pod's anti-affinity keeps the pod away",
      pod: pod("p", { app: "web" }),
      existing: [pod("loner", { app: "loner" }, affinity("podAntiAffinity", term("web", "zone")), "b1")],
      want: { a1: undefined, a2: undefined, b1: EXISTING, x: undefined },
    },
  ];
  for (const c of cases) await t.test(c.name, () => assert.deepEqual(fits(c.pod, c.existing), c.want));
});

test("InterPodAffinity scores preferred terms per topology domain", () => {
  const snap = Snapshot.fromObjects(nodes, [pod("db", { app: "db" }, {}, "a1"), pod("cache", { app: "cache" }, {}, "b1")]);
  const spec = {
    affinity: {
      podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: term("db", "zone") }] },
      podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: term("cache", "zone") }] },
    },
  };
  // zone a: +10, zone b: -10, x (no zone): 0 → normalized min..max
  assert.deepEqual(runScorePlugin(interPodAffinity, pod("p", { app: "web" }, spec), snap), { a1: 100, a2: 100, b1: 0, x: 50 });
});
