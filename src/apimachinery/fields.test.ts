import { test } from "node:test";
import assert from "node:assert/strict";
import { BadRequest } from "./errors.js";
import {
  checkFieldSelector,
  escapeValue,
  fieldSelectorToString,
  matchFields,
  objectFieldGetter,
  parseFieldSelector,
  requiresExactMatch,
  unknownFieldSelectorError,
} from "./fields.js";

test("parses =, ==, != and sorts terms", () => {
  const sel = parseFieldSelector("status.phase!=Running,metadata.name==web,spec.nodeName=n1");
  assert.deepEqual(sel.requirements, [
    { field: "metadata.name", op: "=", value: "web" },
    { field: "spec.nodeName", op: "=", value: "n1" },
    { field: "status.phase", op: "!=", value: "Running" },
  ]);
  assert.deepEqual(parseFieldSelector("").requirements, []);
  assert.deepEqual(parseFieldSelector("a=b,,").requirements, [{ field: "a", op: "=", value: "b" }]);
  assert.deepEqual(parseFieldSelector("spec.nodeName=").requirements, [{ field: "spec.nodeName", op: "=", value: "" }]);
  assert.equal(requiresExactMatch(sel, "spec.nodeName"), "n1");
  assert.equal(requiresExactMatch(sel, "status.phase"), undefined);
});

test("escapes in values", () => {
  const sel = parseFieldSelector("a=x\\,y\\=z\\\\w,b=c");
  assert.deepEqual(sel.requirements[0], { field: "a", op: "=", value: "x,y=z\\w" });
  assert.equal(fieldSelectorToString(sel), "a=x\\,y\\=z\\\\w,b=c");
  assert.equal(escapeValue("a,b=c"), "a\\,b\\=c");
});

test("errors are BadRequest with upstream texts", () => {
  const msg = (s: string) => {
    try {
      parseFieldSelector(s);
    } catch (e) {
      assert.ok(e instanceof BadRequest);
      return (e as Error).message;
    }
    assert.fail("expected failure");
  };
  assert.equal(msg("foo"), "invalid selector: 'foo'; can't understand 'foo'");
  assert.equal(msg("a=b=c"), "invalid field selector: unescaped character in value: 61");
  assert.equal(msg("a=b\\x"), "invalid field selector: invalid escape sequence: \\x");
  assert.equal(msg("a=b\\"), "invalid field selector: invalid escape sequence: \\");
});

test("matchFields reads absent fields as empty", () => {
  const pod = { metadata: { name: "p", namespace: "ns" }, spec: { nodeName: "" as string | undefined } };
  const get = objectFieldGetter(pod, { "spec.nodeName": (o) => o.spec.nodeName });
  assert.equal(matchFields(parseFieldSelector("metadata.name=p,metadata.namespace=ns"), get), true);
  assert.equal(matchFields(parseFieldSelector("metadata.name=q"), get), false);
  assert.equal(matchFields(parseFieldSelector("spec.nodeName="), get), true);
  assert.equal(matchFields(parseFieldSelector("spec.nodeName!=n1"), get), true);
  assert.equal(matchFields(parseFieldSelector("nothing.here!=x"), get), true);
  assert.equal(matchFields(parseFieldSelector(""), get), true);
});

test("unknown fields are rejected", () => {
  assert.equal(
    unknownFieldSelectorError("foo").message,
    '"foo" is not a known field selector: only "metadata.name", "metadata.namespace"',
  );
  assert.throws(() => checkFieldSelector(parseFieldSelector("foo=bar")), /"foo" is not a known field selector/);
  assert.throws(() => checkFieldSelector(parseFieldSelector("foo=bar"), ["status.successful"]), /field label not supported: foo/);
  checkFieldSelector(parseFieldSelector("metadata.name=a,status.successful=1"), ["status.successful"]);
});
