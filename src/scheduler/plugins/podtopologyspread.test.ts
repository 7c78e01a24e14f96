import { test } from "node:test";
import assert from "node:assert/strict";
import { Snapshot } from "../snapshot.js";
import { runFilterPlugin, runScorePlugin } from "../framework.js";
import { podTopologySpread, SPREAD_MISMATCH, SPREAD_MISSING_LABEL } from "./podtopologyspread.js";

const node = (name: string, zone?: string, extra: Record<string, string> = {}) => ({ metadata: { name, labels: { ...(zone ? { zone } : {}), ...extra } } });
const nodes = [node("a1", "a"), node("a2", "a"), node("b1", "b"), node("c1", "c"), node("nolabel")];
const web = (name: string, nodeName?: string, spec: Record<string, unknown> = {}) => ({
  metadata: { name, namespace: "default", labels: { app: "web" } },
  spec: { ...spec, ...(nodeName ? { nodeName } : {}) },
});
const constraint = (c: Record<string, unknown> = {}) => ({
  topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "DoNotSchedule", labelSelector: { matchLabels: { app: "web" } }, ...c }],
});

function filterAll(spec: Record<string, unknown>, existing: ReturnType<typeof web>[], ns = nodes): Record<string, string | undefined> {
  const snap = Snapshot.fromObjects(ns, existing);
  const out: Record<string, string | undefined> = {};
  for (const n of ns) out[n.metadata.name] = runFilterPlugin(podTopologySpread, web("p", undefined, spec), snap, n.metadata.name)?.reasons[0];
  return out;
}

test("PodTopologySpread filter", async (t) => {
  const cases: { name: string; spec: Record<string, unknown>; existing: ReturnType<typeof web>[]; want: Record<string, string | undefined>; nodes?: typeof nodes }[] = [
    {
      name: "empty cluster: any zone",
      spec: constraint(),
      existing: [],
      want: { a1: undefined, a2: undefined, b1: undefined, c1: undefined, nolabel: SPREAD_MISSING_LABEL },
    },
    {
      name: "zone a has one: a would make skew 2",
      spec: constraint(),
      existing: [web("w1", "a1")],
      want: { a1: SPREAD_MISMATCH, a2: SPREAD_MISMATCH, b1: undefined, c1: undefined, nolabel: SPREAD_MISSING_LABEL },
    },
    {
      name: "maxSkew 2 allows it",
      spec: constraint({ maxSkew: 2 }),
      existing: [web("w1", "a1")],
      want: { a1: undefined, a2: undefined, b1: undefined, c1: undefined, nolabel: SPREAD_MISSING_LABEL },
    },
    {
      name: "ScheduleAnyway does not filter",
      spec: constraint({ whenUnsatisfiable: "ScheduleAnyway" }),
      existing: [web("w1", "a1"), web("w2", "a2")],
      want: { a1: undefined, a2: undefined, b1: undefined, c1: undefined, nolabel: undefined },
    },
    {
      name: "minDomains beyond existing domains forces min 0",
      spec: constraint({ minDomains: 5 }),
      existing: [web("w1", "a1"), web("w2", "b1"), web("w3", "c1")],
      want: { a1: SPREAD_MISMATCH, a2: SPREAD_MISMATCH, b1: SPREAD_MISMATCH, c1: SPREAD_MISMATCH, nolabel: SPREAD_MISSING_LABEL },
    },
    {
      name: "nodeAffinityPolicy Honor: zones outside nodeSelector don't count",
      spec: { ...constraint(), nodeSelector: { pool: "x" } },
      existing: [web("w1", "a1")],
      nodes: [node("a1", "a", { pool: "x" }), node("b1", "b", { pool: "y" })],
      // b is excluded, so zone a is the only domain and min is its own count.
      want: { a1: undefined, b1: undefined },
    },
    {
      name: "nodeAffinityPolicy Ignore: every zone counts",
      spec: { ...constraint({ nodeAffinityPolicy: "Ignore" }), nodeSelector: { pool: "x" } },
      existing: [web("w1", "a1")],
      nodes: [node("a1", "a", { pool: "x" }), node("b1", "b", { pool: "y" })],
      want: { a1: SPREAD_MISMATCH, b1: undefined },
    },
    {
      name: "pods not matching the selector are ignored",
      spec: constraint({ labelSelector: { matchLabels: { app: "other" } } }),
      existing: [web("w1", "a1")],
      want: { a1: undefined, a2: undefined, b1: undefined, c1: undefined, nolabel: SPREAD_MISSING_LABEL },
    },
  ];
  for (const c of cases) await t.test(c.name, () => assert.deepEqual(filterAll(c.spec, c.existing, c.nodes), c.want));
});

test("PodTopologySpread ScheduleAnyway scores emptier domains higher", () => {
  const snap = Snapshot.fromObjects(nodes, [web("w1", "a1"), web("w2", "a2"), web("w3", "b1")]);
  const s = runScorePlugin(podTopologySpread, web("p", undefined, constraint({ whenUnsatisfiable: "ScheduleAnyway" })), snap);
  assert.equal(s.nolabel, 0);
  assert.ok(s.c1! > s.b1! && s.b1! > s.a1!, JSON.stringify(s));
  assert.equal(s.c1, 100);
  assert.equal(s.a1, s.a2);
});
