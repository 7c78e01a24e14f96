// Tests for jsonpatch.ts: behaviour checked against the upstream semantics its header cites.
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyJsonPatch, JsonPatchRejected } from "./jsonpatch.js";
import { StatusError } from "../errors.js";

const doc = () => ({ metadata: { name: "web", labels: { app: "web" } }, spec: { replicas: 1, list: ["a", "b", "c"] } });

function rejected(fn: () => unknown, detail: string | RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof JsonPatchRejected, `got ${String(e)}`);
    assert.equal(e.code, 422);
    assert.equal(e.reason, "Invalid");
    assert.equal(e.message, "the server rejected our request due to an error in our request");
    const msg = e.details?.causes?.[0]?.message ?? "";
    if (typeof detail === "string") assert.equal(msg, detail);
    else assert.match(msg, detail);
    return true;
  });
}

function badRequest(fn: () => unknown, re: RegExp) {
  assert.throws(fn, (e: unknown) => e instanceof StatusError && e.code === 400 && re.test(e.message));
}

test("add, remove, replace on objects and arrays", () => {
  const d = doc();
  const out = applyJsonPatch(d, [
    { op: "add", path: "/metadata/labels/tier", value: "front" },
    { op: "replace", path: "/spec/replicas", value: 3 },
    { op: "add", path: "/spec/list/1", value: "x" },
    { op: "add", path: "/spec/list/-", value: "z" },
    { op: "remove", path: "/spec/list/0" },
  ]);
  assert.deepEqual(out, { metadata: { name: "web", labels: { app: "web", tier: "front" } }, spec: { replicas: 3, list: ["x", "b", "c", "z"] } });
  assert.deepEqual(d, doc(), "input not mutated");
});

test("~0 and ~1 escapes (label keys with slashes)", () => {
  const out = applyJsonPatch({ metadata: { annotations: { "a/b": "1", "m~n": "2" } } }, [
    { op: "replace", path: "/metadata/annotations/a~1b", value: "x" },
    { op: "remove", path: "/metadata/annotations/m~0n" },
    { op: "add", path: "/metadata/annotations/kubectl.kubernetes.io~1restartedAt", value: "now" },
  ]);
  assert.deepEqual(out, { metadata: { annotations: { "a/b": "x", "kubectl.kubernetes.io/restartedAt": "now" } } });
});

test("move and copy", () => {
  const out = applyJsonPatch(doc(), [
    { op: "copy", from: "/metadata/labels", path: "/spec/selector" },
    { op: "move", from: "/spec/list/2", path: "/spec/list/0" },
    { op: "move", from: "/metadata/name", path: "/spec/name" },
  ]) as any;
  assert.deepEqual(out.spec.selector, { app: "web" });
  assert.deepEqual(out.spec.list, ["c", "a", "b"]);
  assert.equal(out.spec.name, "web");
  assert.equal(out.metadata.name, undefined);
  // copy is deep: changing the copy does not touch the source
  const out2 = applyJsonPatch(doc(), [
    { op: "copy", from: "/metadata/labels", path: "/spec/sel" },
    { op: "add", path: "/spec/sel/x", value: "y" },
  ]) as any;
  assert.deepEqual(out2.metadata.labels, { app: "web" });
});

test("test op passes and fails with 422", () => {
  assert.deepEqual(
    applyJsonPatch(doc(), [
      { op: "test", path: "/spec/replicas", value: 1 },
      { op: "test", path: "/metadata/labels", value: { app: "web" } },
      { op: "replace", path: "/spec/replicas", value: 2 },
    ]),
    { ...doc(), spec: { replicas: 2, list: ["a", "b", "c"] } },
  );
  rejected(() => applyJsonPatch(doc(), [{ op: "test", path: "/spec/replicas", value: 2 }]), "testing value /spec/replicas failed: test failed");
  rejected(() => applyJsonPatch(doc(), [{ op: "test", path: "/spec/nope", value: 2 }]), /^testing value \/spec\/nope failed/);
});

test("ops that do not apply are 422 with upstream-shaped detail", () => {
  rejected(() => applyJsonPatch(doc(), [{ op: "replace", path: "/spec/foo", value: 1 }]), "jsonpatch replace operation does not apply: doc is missing key: /spec/foo");
  rejected(() => applyJsonPatch(doc(), [{ op: "remove", path: "/spec/foo" }]), "jsonpatch remove operation does not apply: doc is missing key: /spec/foo");
  rejected(() => applyJsonPatch(doc(), [{ op: "add", path: "/spec/a/b", value: 1 }]), "jsonpatch add operation does not apply: doc is missing path: /spec/a/b");
  rejected(() => applyJsonPatch(doc(), [{ op: "move", from: "/spec/nope", path: "/spec/x" }]), "jsonpatch move operation does not apply: doc is missing key: /spec/nope");
  rejected(() => applyJsonPatch(doc(), [{ op: "move", from: "/spec", path: "/spec/inner" }]), /cannot move \/spec into its own child/);
  rejected(() => applyJsonPatch(doc(), [{ op: "add", path: "/spec/list/4", value: 1 }]), /index out of bounds/);
  rejected(() => applyJsonPatch(doc(), [{ op: "remove", path: "/spec/list/-" }]), /invalid array index/);
  rejected(() => applyJsonPatch(doc(), [{ op: "replace", path: "/spec/list/01", value: 1 }]), /invalid array index/);
  rejected(() => applyJsonPatch(doc(), [{ op: "add", path: "spec", value: 1 }]), /must start with "\/"/);
  rejected(() => applyJsonPatch(doc(), [{ op: "remove", path: "" }]), /whole document/);
});

test("a failing op leaves nothing half-applied (input untouched)", () => {
  const d = doc();
  assert.throws(() => applyJsonPatch(d, [{ op: "replace", path: "/spec/replicas", value: 9 }, { op: "test", path: "/spec/replicas", value: 1 }]));
  assert.deepEqual(d, doc());
});

test("malformed bodies are 400", () => {
  badRequest(() => applyJsonPatch(doc(), { op: "add" }), /must be a JSON array/);
  badRequest(() => applyJsonPatch(doc(), ["x"]), /operation 0: must be an object/);
  badRequest(() => applyJsonPatch(doc(), [{ path: "/a" }]), /missing "op"/);
  badRequest(() => applyJsonPatch(doc(), [{ op: "frob", path: "/a" }]), /unexpected op "frob"/);
  badRequest(() => applyJsonPatch(doc(), [{ op: "add", path: "/a" }]), /missing "value"/);
  badRequest(() => applyJsonPatch(doc(), [{ op: "move", path: "/a" }]), /missing "from"/);
  badRequest(() => applyJsonPatch(doc(), [{ op: "remove" }]), /missing "path"/);
});

test("root operations and null values", () => {
  assert.deepEqual(applyJsonPatch(doc(), [{ op: "replace", path: "", value: { a: 1 } }]), { a: 1 });
  assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: "add", path: "/b", value: null }]), { a: 1, b: null });
});

test("__proto__ keys stay data", () => {
  const out = applyJsonPatch({}, [{ op: "add", path: "/__proto__", value: { polluted: true } }]) as Record<string, unknown>;
  assert.equal(({} as any).polluted, undefined);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out), ["__proto__"]);
});

test("RFC 6902 appendix A.16: adding an array value", () => {
  assert.deepEqual(applyJsonPatch({ foo: ["bar"] }, [{ op: "add", path: "/foo/-", value: ["abc", "def"] }]), { foo: ["bar", ["abc", "def"]] });
});
