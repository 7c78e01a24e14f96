// The pod-template-hash label (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#pod-template-hash-label):
// a Deployment names each ReplicaSet `<deployment>-<hash>` after a stable hash of its
// pod template (plus the collision count), and stamps the hash as a label on the
// ReplicaSet's selector, template and pods so ReplicaSets of one Deployment never
// fight over pods. The hash is computed over a normalised template (the hash label
// itself removed, object keys sorted), so the template `kubectl rollout undo` writes
// back (an old ReplicaSet's template minus the label) hashes to that ReplicaSet again.

export const POD_TEMPLATE_HASH_LABEL = "pod-template-hash";

/** Vowel-free alphabet (like upstream's SafeEncodeString) so hashes never spell words. */
const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** JSON with object keys sorted, so equal templates serialise identically. */
export function canonicalJSON(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(canonicalJSON).join(",")}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJSON(o[k])}`).join(",")}}`;
}

/**
 * A deep copy without null-valued fields and without empty objects and lists: upstream
 * compares templates with apimachinery's semantic equality on Go structs, where `null`,
 * an omitted field, `{}` of a struct and an empty map or slice are all the same zero
 * value. kubectl 1.32's `rollout undo` sends `metadata.creationTimestamp: null` and
 * `resources: {}`, which must not look like a new template.
 */
function withoutZeroValues(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutZeroValues);
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null || x === undefined) continue;
    const y = withoutZeroValues(x);
    if (y !== null && typeof y === "object" && Object.keys(y).length === 0) continue;
    out[k] = y;
  }
  return out;
}

/** A deep copy of a pod template without the pod-template-hash label (empty labels dropped). */
export function templateWithoutHash(template: unknown): Record<string, any> {
  const t = withoutZeroValues(template ?? {}) as Record<string, any>;
  const labels = t.metadata?.labels;
  if (labels && typeof labels === "object") {
    delete labels[POD_TEMPLATE_HASH_LABEL];
    if (Object.keys(labels).length === 0) delete t.metadata.labels;
  }
  if (t.metadata && typeof t.metadata === "object" && Object.keys(t.metadata).length === 0) delete t.metadata;
  return t;
}

/** 32-bit FNV-1a over the UTF-8 bytes of s. */
function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Encodes a number with the vowel-free alphabet. */
function safeEncode(n: number): string {
  let s = "";
  do {
    s = SAFE_ALPHABET[n % SAFE_ALPHABET.length] + s;
    n = Math.floor(n / SAFE_ALPHABET.length);
  } while (n > 0);
  return s;
}

/** The pod-template-hash of a template; a different collisionCount gives a different hash. */
export function podTemplateHash(template: unknown, collisionCount?: number): string {
  let input = canonicalJSON(templateWithoutHash(template));
  if (collisionCount !== undefined && collisionCount > 0) input += `#${collisionCount}`;
  return safeEncode(fnv1a32(input));
}

/** Whether two templates are the same once the hash label is ignored (EqualIgnoreHash). */
export function templatesEqualIgnoringHash(a: unknown, b: unknown): boolean {
  return canonicalJSON(templateWithoutHash(a)) === canonicalJSON(templateWithoutHash(b));
}
