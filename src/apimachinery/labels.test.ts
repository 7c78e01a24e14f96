import { test } from "node:test";
import assert from "node:assert/strict";
import { BadRequest } from "./errors.js";
import {
  labelSelectorString,
  labelSelectorToString,
  parseLabelSelector,
  selectorFromLabelSelector,
  selectorFromSet,
} from "./labels.js";

function parseError(s: string): string {
  try {
    parseLabelSelector(s);
  } catch (e) {
    assert.ok(e instanceof BadRequest, `expected BadRequest for ${s}`);
    assert.equal((e as BadRequest).code, 400);
    return (e as Error).message;
  }
  assert.fail(`expected ${JSON.stringify(s)} to fail`);
}

test("string selectors: each operator", () => {
  const l = { app: "web", tier: "front", n: "5" };
  const cases: [string, boolean][] = [
    ["", true],
    ["app=web", true],
    ["app==web", true],
    ["app=db", false],
    ["app!=db", true],
    ["app!=web", false],
    ["missing!=x", true],
    ["app in (web,db)", true],
    ["app in (db)", false],
    ["app notin (db)", true],
    ["app notin (web, db)", false],
    ["missing notin (x)", true],
    ["missing in (x)", false],
    ["app", true],
    ["missing", false],
    ["!missing", true],
    ["!app", false],
    ["app=web,tier=front", true],
    ["app=web,tier=back", false],
    ["app=web, tier in (front), !missing", true],
    ["n>4", true],
    ["n<5", false],
    ["n<6", true],
    ["app>4", false],
    ["missing=", false],
    ["app in(web)", true],
  ];
  for (const [s, want] of cases) assert.equal(parseLabelSelector(s).matches(l), want, s);
  assert.equal(parseLabelSelector("missing=").matches({ missing: "" }), true);
  assert.equal(parseLabelSelector("a in ()").matches({ a: "" }), true);
  assert.equal(parseLabelSelector("a in (,x)").matches({ a: "" }), true);
});

test("string selectors: keywords as keys/values, whitespace, canonical string", () => {
  assert.equal(parseLabelSelector("in=notin").matches({ in: "notin" }), true);
  assert.equal(parseLabelSelector("a in (in, notin)").matches({ a: "in" }), true);
  assert.equal(parseLabelSelector("  a = b  ,\tc  ").toString(), "a=b,c");
  assert.equal(parseLabelSelector("z=1,a in (y,x,x),!b,c!=d,e==f").toString(), "a in (x,y),!b,c!=d,e==f,z=1");
  assert.equal(parseLabelSelector("example.com/app=web").matches({ "example.com/app": "web" }), true);
  assert.ok(parseLabelSelector("").empty());
  assert.equal(parseLabelSelector("a=b").requiresExactMatch("a"), "b");
  assert.equal(parseLabelSelector("a!=b").requiresExactMatch("a"), undefined);
});

test("string selectors: upstream error messages", () => {
  assert.equal(parseError("a in"), "unable to parse requirement: found '' expected: '('");
  assert.equal(parseError("a in (b"), "unable to parse requirement: found '', expected: ',' or ')'");
  assert.equal(parseError("a b"), "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt");
  assert.equal(parseError("a=b c"), "found 'c', expected: ',' or 'end of string'");
  assert.equal(parseError("a=b,"), "found '', expected: identifier after ','");
  assert.equal(parseError(",a"), "found ',', expected: !, identifier, or 'end of string'");
  assert.equal(parseError("!"), "unable to parse requirement: found '', expected: identifier");
  assert.equal(parseError("a=(b)"), "unable to parse requirement: found '(', expected: identifier");
  assert.match(parseError("a/b/c=d"), /^unable to parse requirement: <nil>: Invalid value: "a\/b\/c": a qualified name must consist of/);
  assert.match(parseError("a=b c d"), /found 'c'/);
  assert.match(parseError("a=-b"), /^unable to parse requirement: values\[0\]\[a\]: Invalid value: "-b": a valid label must be/);
  assert.match(parseError("a>x"), /for 'Gt', 'Lt' operators, the value must be an integer/);
  assert.equal(parseError("a=!b"), "unable to parse requirement: found '!', expected: identifier");
});

test("structured selectors: matchLabels and matchExpressions", () => {
  const sel = selectorFromLabelSelector({
    matchLabels: { app: "web" },
    matchExpressions: [
      { key: "tier", operator: "In", values: ["b", "a"] },
      { key: "env", operator: "NotIn", values: ["prod"] },
      { key: "owner", operator: "Exists" },
      { key: "legacy", operator: "DoesNotExist" },
    ],
  });
  assert.equal(sel.matches({ app: "web", tier: "a", owner: "x" }), true);
  assert.equal(sel.matches({ app: "web", tier: "a", owner: "x", env: "prod" }), false);
  assert.equal(sel.matches({ app: "web", tier: "a", owner: "x", legacy: "1" }), false);
  assert.equal(sel.matches({ app: "web", tier: "c", owner: "x" }), false);
  assert.equal(sel.matches({ app: "web", tier: "a" }), false);
  assert.equal(sel.toString(), "app=web,env notin (prod),!legacy,owner,tier in (a,b)");

  assert.equal(selectorFromLabelSelector({}).matches({ any: "thing" }), true);
  assert.equal(selectorFromLabelSelector({}).matches(undefined), true);
  assert.equal(selectorFromLabelSelector(null).matches({}), false);
  assert.equal(selectorFromLabelSelector(undefined).matchesNothing, true);
  assert.throws(() => selectorFromLabelSelector({ matchExpressions: [{ key: "a", operator: "Foo" }] }), /"Foo" is not a valid label selector operator/);
  assert.throws(() => selectorFromLabelSelector({ matchExpressions: [{ key: "a", operator: "In", values: [] }] }), /values set can't be empty/);
  assert.throws(() => selectorFromLabelSelector({ matchLabels: { a: 5 as unknown as string } }), BadRequest);
  assert.throws(() => selectorFromLabelSelector("x" as never), BadRequest);
});

test("selector strings as kubectl and scale show them", () => {
  assert.equal(labelSelectorToString({ matchLabels: { tier: "a", app: "web" } }), "app=web,tier=a");
  assert.equal(labelSelectorToString({ matchExpressions: [{ key: "tier", operator: "In", values: ["b", "a"] }] }), "tier in (a,b)");
  assert.equal(labelSelectorToString({}), "<none>");
  assert.equal(labelSelectorToString(null), "<none>");
  assert.equal(labelSelectorToString({ matchExpressions: [{ key: "a", operator: "Bad" }] }), "<error>");
  assert.equal(labelSelectorString({ matchLabels: { app: "web" } }), "app=web");
  assert.equal(labelSelectorString({}), "");
  assert.equal(selectorFromSet({ b: "2", a: "1" }).toString(), "a=1,b=2");
  assert.equal(selectorFromSet({ a: "1" }).matches({ a: "1", c: "3" }), true);
  // Round trip: the printed string parses back to an equivalent selector.
  const s = labelSelectorString({ matchLabels: { app: "web" }, matchExpressions: [{ key: "t", operator: "NotIn", values: ["x", "y"] }] });
  assert.equal(parseLabelSelector(s).toString(), s);
});
