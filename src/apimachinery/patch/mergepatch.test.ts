// Tests for mergepatch.ts: behaviour checked against the upstream semantics its header cites.
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyMergePatch } from "./mergepatch.js";
import { StatusError } from "../errors.js";

test("RFC 7386 appendix A examples (object patches)", () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [doc, patch, want] of cases) assert.deepEqual(applyMergePatch(doc, patch), want, JSON.stringify([doc, patch]));
});

test("kubectl scale body; arrays replace; input not mutated", () => {
  const doc = { spec: { replicas: 1, template: { spec: { containers: [{ name: "a" }, { name: "b" }] } } } };
  const copy = structuredClone(doc);
  assert.deepEqual(applyMergePatch(doc, { spec: { replicas: 5 } }), { spec: { replicas: 5, template: doc.spec.template } });
  assert.deepEqual(applyMergePatch(doc, { spec: { template: { spec: { containers: [{ name: "c" }] } } } }), {
    spec: { replicas: 1, template: { spec: { containers: [{ name: "c" }] } } },
  });
  assert.deepEqual(doc, copy);
});

test("a non-object patch is a 400", () => {
  for (const p of [["a"], "x", 1, null]) {
    assert.throws(() => applyMergePatch({}, p), (e: unknown) => e instanceof StatusError && e.code === 400);
  }
});

test("__proto__ in a patch is data, never the prototype", () => {
  const out = applyMergePatch({ a: {} }, JSON.parse('{"a":{"__proto__":{"polluted":true}},"__proto__":{"y":1}}')) as any;
  assert.equal(({} as any).polluted, undefined);
  assert.equal(({} as any).y, undefined);
  assert.deepEqual(Object.keys(out.a), ["__proto__"]);
});
