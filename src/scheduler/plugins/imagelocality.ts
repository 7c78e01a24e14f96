// ImageLocality: prefer nodes that already have the pod's images, weighted by image
// size and by how widely the image is spread (so one node holding a popular image does
// not attract everything), after the upstream plugin
// (https://kubernetes.io/docs/reference/scheduling/config/#scheduling-plugins).

import { MAX_NODE_SCORE, type Plugin } from "../framework.js";

const MB = 1024 * 1024;
const MIN_THRESHOLD = 23 * MB;
const MAX_CONTAINER_THRESHOLD = 1000 * MB;

export const imageLocality: Plugin = {
  name: "ImageLocality",
  weight: 1,
  preScore: (ctx) => (ctx.pod.images.length && ctx.snapshot.imageNodes.size ? undefined : "skip"),
  score(ctx, ni) {
    if (ni.images.size === 0) return 0;
    const total = ctx.snapshot.numNodes() || 1;
    let sum = 0;
    for (const img of ctx.pod.images) {
      const size = ni.images.get(img);
      if (size === undefined) continue;
      sum += size * ((ctx.snapshot.imageNodes.get(img) ?? 0) / total);
    }
    const max = MAX_CONTAINER_THRESHOLD * ctx.pod.images.length;
    const clamped = Math.min(Math.max(sum, MIN_THRESHOLD), max);
    return Math.floor((MAX_NODE_SCORE * (clamped - MIN_THRESHOLD)) / (max - MIN_THRESHOLD));
  },
};
