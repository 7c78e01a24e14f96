import { test } from "node:test";
import assert from "node:assert/strict";
import { ageSince, formatAge, formatLabels } from "./table.js";

test("formatAge matches kubectl HumanDuration", () => {
  const s = 1000, m = 60 * s, h = 60 * m, d = 24 * h;
  const cases: Array<[number, string]> = [
    [-3 * s, "<invalid>"], [-1 * s, "0s"], [5 * s, "5s"], [119 * s, "119s"], [3 * m + 2 * s, "3m2s"], [5 * m, "5m"],
    [15 * m, "15m"], [179 * m, "179m"], [2 * h + 5 * m, "125m"], [3 * h + 5 * m, "3h5m"], [3 * h, "3h"], [20 * h, "20h"], [2 * d + 3 * h, "2d3h"],
    [3 * d, "3d"], [45 * d, "45d"], [2 * 365 * d + 10 * d, "2y10d"], [9 * 365 * d, "9y"],
  ];
  for (const [ms, want] of cases) assert.equal(formatAge(ms), want, String(ms));
});

test("ageSince and formatLabels", () => {
  const now = new Date("2024-01-01T00:10:00Z");
  assert.equal(ageSince("2024-01-01T00:00:00Z", now), "10m");
  assert.equal(ageSince(undefined, now), "<unknown>");
  assert.equal(formatLabels({ b: "2", a: "1" }), "a=1,b=2");
  assert.equal(formatLabels({}), "<none>");
});
