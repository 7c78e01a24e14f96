import { test } from "node:test";
import assert from "node:assert/strict";
import { canonicalQuantity, compareQuantity, parseQuantity, toBytes, toMillis, QUANTITY_FORMAT_ERROR, QUANTITY_SUFFIX_ERROR, addQuantity, formatQuantity } from "./quantity.js";

test("canonical forms keep the suffix family", () => {
  const cases: Array<[string, string]> = [
    ["100m", "100m"], ["0.5", "500m"], ["1.5", "1500m"], ["1000", "1k"], ["1500", "1500"],
    ["1Gi", "1Gi"], ["1024Mi", "1Gi"], ["1.5Gi", "1536Mi"], ["0.5Gi", "512Mi"], ["1025", "1025"],
    ["1e3", "1e3"], ["1E3", "1e3"], ["12e2", "1200"], ["0", "0"], ["0Gi", "0"], ["-1Gi", "-1Gi"],
    ["1.0001n", "2n"], ["2000000k", "2G"], ["1Ki", "1Ki"], ["512", "512"], ["0.1Ki", "102400m"],
    [".5", "500m"], ["+3", "3"], ["1m", "1m"], ["1000m", "1"],
  ];
  for (const [i, o] of cases) assert.equal(canonicalQuantity(i), o, i);
});

test("bad quantities throw upstream messages", () => {
  assert.throws(() => parseQuantity("abc"), { message: QUANTITY_FORMAT_ERROR });
  assert.throws(() => parseQuantity(""), { message: QUANTITY_FORMAT_ERROR });
  assert.throws(() => parseQuantity("1K"), { message: QUANTITY_SUFFIX_ERROR });
  assert.throws(() => parseQuantity("1Gii"), { message: QUANTITY_SUFFIX_ERROR });
  assert.throws(() => parseQuantity(" 1"));
});

test("compare, millis, bytes", () => {
  assert.equal(compareQuantity("1", "1000m"), 0);
  assert.equal(compareQuantity("1Gi", "1G"), 1);
  assert.equal(compareQuantity("100m", "0.2"), -1);
  assert.equal(toMillis("100m"), 100);
  assert.equal(toMillis("2"), 2000);
  assert.equal(toMillis("1.5n"), 1);
  assert.equal(toBytes("1Gi"), 1073741824);
  assert.equal(toBytes("1.5"), 2);
  assert.equal(toMillis(2), 2000);
  assert.equal(formatQuantity(addQuantity("512Mi", "512Mi")), "1Gi");
});
