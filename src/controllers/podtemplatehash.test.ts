import { test } from "node:test";
import assert from "node:assert/strict";
import { POD_TEMPLATE_HASH_LABEL, podTemplateHash, templatesEqualIgnoringHash } from "./podtemplatehash.js";

const template = { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "app:v1" }] } };

test("the hash is stable, ignores key order and its own label, and changes with the template or collisions", () => {
  const h = podTemplateHash(template);
  assert.match(h, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  assert.equal(podTemplateHash(structuredClone(template)), h);
  assert.equal(podTemplateHash({ spec: template.spec, metadata: { labels: { app: "web" } } }), h);
  assert.equal(podTemplateHash({ ...template, metadata: { labels: { app: "web", [POD_TEMPLATE_HASH_LABEL]: h } } }), h);
  assert.notEqual(podTemplateHash({ ...template, spec: { containers: [{ name: "c", image: "app:v2" }] } }), h);
  assert.notEqual(podTemplateHash(template, 1), h);
  assert.ok(templatesEqualIgnoringHash(template, { ...template, metadata: { labels: { app: "web", [POD_TEMPLATE_HASH_LABEL]: "x" } } }));
});

test("null fields and empty objects count as absent: the template `kubectl rollout undo` writes back matches the old ReplicaSet", () => {
  const h = podTemplateHash(template);
  const undone = { metadata: { creationTimestamp: null, labels: { app: "web", [POD_TEMPLATE_HASH_LABEL]: h } }, spec: { containers: [{ ...template.spec.containers[0], resources: {} }], nodeSelector: null, tolerations: [] } };
  assert.equal(podTemplateHash(undone), h);
  assert.ok(templatesEqualIgnoringHash(template, undone));
});
