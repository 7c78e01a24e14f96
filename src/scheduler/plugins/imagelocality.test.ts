import { test } from "node:test";
import assert from "node:assert/strict";
import { Snapshot } from "../snapshot.js";
import { runScorePlugin } from "../framework.js";
import { imageLocality } from "./imagelocality.js";

const MB = 1024 * 1024;
const node = (name: string, images: { names: string[]; sizeBytes: number }[]) => ({ metadata: { name }, status: { images } });

test("ImageLocality prefers nodes holding large images, scaled by spread", () => {
  const snap = Snapshot.fromObjects([
    node("has", [{ names: ["docker.io/library/big:1", "big:1"], sizeBytes: 500 * MB }]),
    node("also", [{ names: ["big:1"], sizeBytes: 500 * MB }]),
    node("none", []),
    node("small", [{ names: ["small:latest"], sizeBytes: 10 * MB }]),
  ]);
  const pod = (image: string) => ({ metadata: { name: "p" }, spec: { containers: [{ name: "c", image }] } });
  const s = runScorePlugin(imageLocality, pod("big:1"), snap);
  // 500MB × (2 of 4 nodes) = 250MB → (250-23)/(1000-23) × 100 = 23
  assert.deepEqual(s, { has: 23, also: 23, none: 0, small: 0 });
  // A bare name means :latest; a 10MB image stays under the 23MB threshold.
  assert.equal(runScorePlugin(imageLocality, pod("small"), snap).small, 0);
});
