import { test } from "node:test";
import assert from "node:assert/strict";
import {
  isDNS1123Label, isDNS1123Subdomain, isDNS1035Label, isQualifiedName, isValidLabelValue, isConfigMapKey,
  validateObjectMeta, validateObjectMetaUpdate, validateLabelSelector, immutableField, validateNonnegative,
  validatePortNumber, validateEnum, isValidPortName,
} from "./validation.js";

const SUBDOMAIN_MSG = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

test("name predicates use upstream wording", () => {
  assert.deepEqual(isDNS1123Subdomain("example.com"), []);
  assert.deepEqual(isDNS1123Subdomain("Bad_Name"), [SUBDOMAIN_MSG]);
  assert.deepEqual(isDNS1123Label("a.b"), [
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  ]);
  assert.equal(isDNS1123Label("a".repeat(64))[0], "must be no more than 63 characters");
  assert.deepEqual(isDNS1035Label("1abc").length, 1);
  assert.deepEqual(isDNS1035Label("abc"), []);
  assert.deepEqual(isQualifiedName("app.kubernetes.io/name"), []);
  assert.deepEqual(isQualifiedName("/name"), ["prefix part must be non-empty"]);
  assert.match(isQualifiedName("a/b/c")[0]!, /^a qualified name must consist of/);
  assert.deepEqual(isValidLabelValue(""), []);
  assert.match(isValidLabelValue("-x")[0]!, /^a valid label must be an empty string/);
  assert.deepEqual(isConfigMapKey("..x"), ["must not start with '..'"]);
  assert.deepEqual(isValidPortName("http"), []);
  assert.deepEqual(isValidPortName("8080"), ["must contain at least one letter (a-z)"]);
});

test("validateObjectMeta: name, namespace, labels, finalizers, owners", () => {
  assert.deepEqual(validateObjectMeta({ namespace: "default" }, { namespaced: true }), [
    { reason: "FieldValueRequired", field: "metadata.name", message: "Required value: name or generateName is required" },
  ]);
  assert.deepEqual(validateObjectMeta({ generateName: "web-", namespace: "default" }, { namespaced: true }).length, 1);
  const bad = validateObjectMeta({ name: "Bad" }, { namespaced: true });
  assert.equal(bad[0]!.field, "metadata.name");
  assert.equal(bad[0]!.message, `Invalid value: "Bad": ${SUBDOMAIN_MSG}`);
  assert.equal(bad[1]!.field, "metadata.namespace");
  assert.deepEqual(validateObjectMeta({ name: "n", namespace: "x" }, { namespaced: false }), [
    { reason: "FieldValueForbidden", field: "metadata.namespace", message: "Forbidden: not allowed on this type" },
  ]);
  const l = validateObjectMeta({ name: "a", namespace: "d", labels: { "a/b/c": "x", ok: "-bad" } }, { namespaced: true });
  assert.equal(l.length, 2);
  assert.ok(l.every((c) => c.field === "metadata.labels"));
  const big = validateObjectMeta({ name: "a", namespace: "d", annotations: { k: "x".repeat(256 * 1024) } }, { namespaced: true });
  assert.deepEqual(big, [{ reason: "FieldValueTooLong", field: "metadata.annotations", message: "Too long: may not be more than 262144 bytes" }]);
  const fin = validateObjectMeta({ name: "a", finalizers: ["ok/x", "bad/x/y"] }, { namespaced: false });
  assert.equal(fin[0]!.field, "metadata.finalizers[1]");
  const owners = validateObjectMeta({ name: "a", namespace: "d", ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "", uid: "u" }] as any }, { namespaced: true });
  assert.deepEqual(owners, [{ reason: "FieldValueInvalid", field: "metadata.ownerReferences.name", message: 'Invalid value: "": must not be empty' }]);
});

test("validateObjectMeta survives wrong JSON types", () => {
  const errs = validateObjectMeta({ name: 5, labels: "x", finalizers: "y", ownerReferences: {} } as any, { namespaced: false });
  assert.deepEqual(errs.map((e) => e.field), ["metadata.name", "metadata.labels", "metadata.ownerReferences", "metadata.finalizers"]);
  assert.deepEqual(validateObjectMeta("x" as any, { namespaced: false })[0]!.field, "metadata");
});

test("validateObjectMetaUpdate: immutables", () => {
  const old = { name: "a", namespace: "d", uid: "1", resourceVersion: "5", creationTimestamp: "2024-01-01T00:00:00Z" };
  assert.deepEqual(validateObjectMetaUpdate({ ...old }, old), []);
  const errs = validateObjectMetaUpdate({ ...old, uid: "2", name: "b" }, old);
  assert.deepEqual(errs.map((e) => e.field), ["metadata.name", "metadata.uid"]);
  assert.equal(errs[0]!.message, 'Invalid value: "b": field is immutable');
  const del = validateObjectMetaUpdate({ ...old, finalizers: ["x"] }, { ...old, deletionTimestamp: "2024-01-01T00:00:00Z" } as any);
  assert.ok(del.some((e) => e.message === 'Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"x"}'));
});

test("label selector, enum, port, nonnegative, immutable", () => {
  assert.deepEqual(validateLabelSelector({ matchLabels: { a: "b" }, matchExpressions: [{ key: "a", operator: "In", values: ["x"] }] }, "spec.selector"), []);
  const e = validateLabelSelector({ matchExpressions: [{ key: "a", operator: "In" }, { key: "b", operator: "Exists", values: ["x"] }, { key: "c", operator: "Foo" }] }, "spec.selector");
  assert.deepEqual(e.map((c) => c.field), ["spec.selector.matchExpressions[0].values", "spec.selector.matchExpressions[1].values", "spec.selector.matchExpressions[2].operator"]);
  assert.deepEqual(validateEnum("x", ["A", "B"], "p"), [{ reason: "FieldValueNotSupported", field: "p", message: 'Unsupported value: "x": supported values: "A", "B"' }]);
  assert.equal(validatePortNumber(0, "p")[0]!.message, "Invalid value: 0: must be between 1 and 65535, inclusive");
  assert.equal(validateNonnegative(-1, "p")[0]!.message, "Invalid value: -1: must be greater than or equal to 0");
  assert.deepEqual(immutableField({ a: 1, b: [1] }, { b: [1], a: 1 }, "p"), []);
  assert.equal(immutableField("x", "y", "p").length, 1);
});
