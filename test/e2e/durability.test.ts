// End-to-end: durability of acknowledged writes across a crash. The Kubernetes API
// promises that a 201 Created means the object is persisted (etcd commits before the
// API server answers), that resourceVersions only grow, and that a watch started at a
// resourceVersion delivers every change after it, once and in order
// (https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions,
// https://kubernetes.io/docs/reference/using-api/api-concepts/#semantics-for-watch).
// We create ConfigMaps with 8 requests in flight, kill -9 the server after ~300
// acknowledgements, restart it on the same data dir and check those promises.
//
// What counts as correct for writes in flight at the kill: a create that got no answer
// may or may not have committed. If it committed, it must exist after restart with a
// resourceVersion like any other object; the watch started from the highest
// *acknowledged* resourceVersion R must then deliver it (as ADDED) if and only if its
// resourceVersion is greater than R, ordered by resourceVersion and before the creates
// made after the restart. Nothing that was never sent may exist.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Agent } from "node:https";
import { eventually, httpsCall, openWatch, startTug, type Tug } from "./harness.js";

const NS = "e2e-durability";
const TOTAL = 1_000;
const KILL_AFTER = 300;
const IN_FLIGHT = 8;

let tug: Tug;

const rvOf = (o: any) => BigInt(o.metadata.resourceVersion);
const name = (i: number) => `dur-${String(i).padStart(4, "0")}`;

describe("durability across kill -9", { timeout: 90_000 }, () => {
  before(async () => {
    tug = await startTug();
    const r = await tug.http("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    assert.equal(r.status, 201, r.body);
  });
  after(async () => {
    await tug?.cleanup();
  });

  test("acknowledged creates survive, resourceVersions grow, watch resumes exactly", async (t) => {
    const acked = new Map<string, { rv: bigint; uid: string; seq: number }>();
    const sent = new Set<string>();
    const unexpected: string[] = [];
    let next = 0;
    let killed = false;
    let killing: Promise<void> | undefined;
    const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
    const tls = tug.tls;
    const port = tug.port;

    async function worker(): Promise<void> {
      while (!killed && next < TOTAL) {
        const i = next++;
        const n = name(i);
        sent.add(n);
        const body = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: n, labels: { seq: String(i) } }, data: { seq: String(i) } };
        try {
          const r = await httpsCall(port, tls, "POST", `/api/v1/namespaces/${NS}/configmaps`, body, {}, { agent, timeoutMs: 10_000 });
          if (r.status === 201) {
            const o = r.json();
            acked.set(n, { rv: rvOf(o), uid: o.metadata.uid, seq: i });
          } else if (!killed) unexpected.push(`${n}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
        } catch (e) {
          if (!killed) unexpected.push(`${n}: ${(e as Error).message}`);
        }
        if (!killed && acked.size >= KILL_AFTER) {
          killed = true;
          killing = tug.stop("SIGKILL");
        }
      }
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    await killing;
    agent.destroy();
    assert.deepEqual(unexpected, [], "every create before the kill is acknowledged with 201");
    assert.ok(killed, `the server was killed (acked ${acked.size})`);
    assert.ok(acked.size >= KILL_AFTER);

    // Acknowledged resourceVersions are unique (each create is its own revision).
    const ackedRVs = [...acked.values()].map((a) => a.rv);
    assert.equal(new Set(ackedRVs.map(String)).size, ackedRVs.length, "distinct resourceVersions for distinct creates");
    const maxAcked = ackedRVs.reduce((a, b) => (a > b ? a : b));

    await tug.restart();

    // Every acknowledged ConfigMap is there, unchanged.
    const list = await tug.http("GET", `/api/v1/namespaces/${NS}/configmaps`);
    assert.equal(list.status, 200, list.body);
    const items: any[] = list.json().items;
    const byName = new Map(items.map((o) => [o.metadata.name as string, o]));
    const missing = [...acked.keys()].filter((n) => !byName.has(n));
    assert.deepEqual(missing, [], `acknowledged creates lost after kill -9 (${missing.length} of ${acked.size})`);
    for (const [n, a] of acked) {
      const o = byName.get(n);
      assert.equal(rvOf(o), a.rv, `${n}: resourceVersion`);
      assert.equal(o.metadata.uid, a.uid, `${n}: uid`);
      assert.deepEqual(o.data, { seq: String(a.seq) }, `${n}: data`);
    }
    // Nothing that was never sent exists (kube-root-ca.crt may be published by a controller).
    const phantoms = items.map((o) => o.metadata.name).filter((n) => !sent.has(n) && n !== "kube-root-ca.crt");
    assert.deepEqual(phantoms, []);
    const committedUnacked = items.filter((o) => sent.has(o.metadata.name) && !acked.has(o.metadata.name));
    // Only creates in flight at the kill can be committed without an answer.
    assert.ok(committedUnacked.length <= IN_FLIGHT, `at most ${IN_FLIGHT} unanswered creates can have committed, found ${committedUnacked.length}`);
    assert.ok(BigInt(list.json().metadata.resourceVersion) >= maxAcked, "list resourceVersion after restart is at least the highest acknowledged");

    // A watch from the highest acknowledged resourceVersion.
    const w = await openWatch(tug.port, tug.tls, `/api/v1/namespaces/${NS}/configmaps?resourceVersion=${maxAcked}`);
    try {
      assert.equal(w.status(), 200);
      const fresh: { name: string; rv: bigint }[] = [];
      for (let i = 0; i < 5; i++) {
        const n = `after-restart-${i}`;
        const r = await tug.http("POST", `/api/v1/namespaces/${NS}/configmaps`, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: n } });
        assert.equal(r.status, 201, r.body);
        const rv = rvOf(r.json());
        assert.ok(rv > maxAcked, `new create resourceVersion ${rv} must exceed the highest acknowledged ${maxAcked}`);
        if (fresh.length) assert.ok(rv > fresh[fresh.length - 1].rv, "resourceVersions increase");
        fresh.push({ name: n, rv });
      }
      const lateCommitted = committedUnacked.filter((o) => rvOf(o) > maxAcked).sort((a, b) => (rvOf(a) < rvOf(b) ? -1 : 1)).map((o) => ({ name: o.metadata.name as string, rv: rvOf(o) }));
      const expected = [...lateCommitted, ...fresh];
      t.diagnostic(`sent ${sent.size}, acknowledged ${acked.size} (max resourceVersion ${maxAcked}), committed without answer ${committedUnacked.length} (${lateCommitted.length} after the max)`);
      await eventually(async () => w.events.length >= expected.length, 10_000, 100, `${expected.length} watch events (have ${w.events.length})`);
      // Linger briefly: no extra events may follow.
      await new Promise((r) => setTimeout(r, 500));
      const got = w.events.filter((e) => e.type !== "BOOKMARK");
      assert.deepEqual(
        got.map((e) => `${e.type} ${e.object.metadata.name} ${e.object.metadata.resourceVersion}`),
        expected.map((e) => `ADDED ${e.name} ${e.rv}`),
        `watch from ${maxAcked}: exactly the creates committed after it (unanswered-but-committed: ${JSON.stringify(committedUnacked.map((o) => [o.metadata.name, o.metadata.resourceVersion]))})`,
      );
    } finally {
      w.close();
    }
  });
});
