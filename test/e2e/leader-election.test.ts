// End-to-end leader election (issue 3): two `tug server` processes on one data dir (one
// SQLite store) elect a leader through the coordination.k8s.io Lease
// kube-system/tug-controller-manager (https://kubernetes.io/docs/concepts/architecture/leases/);
// only the leader runs the controllers and the scheduler. Killing the leader with
// SIGKILL (no release) lets the other take over once the lease expires (15 s); the
// killed server, restarted, stays a follower. Both serve the API throughout.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { eventually, missingKubectl, show, startTug, type Tug } from "./harness.js";

const skip = missingKubectl();
const LEASE = ["get", "lease", "tug-controller-manager", "-n", "kube-system", "-o", "json"];

/** The identities a server's log says became leader, in order. */
function leaderTerms(t: Tug): string[] {
  return [...t.logs().matchAll(/became leader \{"identity":"([^"]+)"\}/g)].map((m) => m[1]!);
}

async function ok(t: Tug, args: string[], stdin?: string): Promise<string> {
  const r = await t.kubectl(args, { stdin });
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}\n${show(r)}`);
  return r.stdout;
}

async function holder(t: Tug): Promise<any> {
  return JSON.parse(await ok(t, LEASE)).spec;
}

/** A ReplicaSet appears for the Deployment: some server's controllers are running. */
async function controllersRun(t: Tug, name: string): Promise<void> {
  await ok(t, ["create", "deployment", name, "--image=app:1", "--replicas=1"]);
  await eventually(async () => JSON.parse(await ok(t, ["get", "rs", "-l", `app=${name}`, "-o", "json"])).items.length === 1, 20_000, 250, `ReplicaSet of ${name}`);
}

describe("leader election between two servers", { skip, timeout: 120_000 }, () => {
  let a: Tug | undefined;
  let b: Tug | undefined;
  after(async () => {
    await b?.cleanup();
    await a?.cleanup();
  });

  test("one leader at a time; kill -9 the leader and the other takes over", async () => {
    a = await startTug({ command: "server" });
    await eventually(async () => leaderTerms(a!).length === 1, 20_000, 100, "server A leads");
    const idA = leaderTerms(a)[0]!;
    b = await startTug({ command: "server", dataDir: a.dataDir });
    assert.equal((await holder(b)).holderIdentity, idA, "B sees A as the holder");

    // B waits as a candidate; A's controllers serve B's API requests through the shared store.
    await controllersRun(b, "via-b");
    await new Promise((r) => setTimeout(r, 3_000));
    assert.deepEqual(leaderTerms(b), [], `B must not lead while A renews\n${b.logs().slice(-2000)}`);
    assert.doesNotMatch(b.logs(), /scheduler started/, "the follower runs no scheduler");
    assert.match(a.logs(), /scheduler started/);
    assert.equal((await holder(b)).holderIdentity, idA);
    const renewed = (await holder(b)).renewTime;
    await eventually(async () => (await holder(b!)).renewTime !== renewed, 10_000, 250, "A keeps renewing");

    // SIGKILL: A cannot release the lease; B takes it once leaseDurationSeconds pass.
    const killedAt = Date.now();
    await a.stop("SIGKILL");
    await eventually(async () => leaderTerms(b!).length === 1, 30_000, 200, "B leads");
    const took = Date.now() - killedAt;
    const idB = leaderTerms(b)[0]!;
    assert.notEqual(idB, idA);
    const lease = await holder(b);
    assert.equal(lease.holderIdentity, idB);
    assert.ok(took >= 5_000 && took <= 25_000, `takeover after ${took} ms (lease 15 s)`);
    assert.ok((lease.leaseTransitions ?? 0) >= 1);
    await controllersRun(b, "after-failover");
    await eventually(async () => /scheduler started/.test(b!.logs()), 10_000, 200, "B's scheduler starts");

    // A restarted is a follower now.
    await a.restart();
    await new Promise((r) => setTimeout(r, 4_000));
    const termsA = leaderTerms(a);
    assert.deepEqual(termsA.filter((id) => id !== idA), [], `restarted A must not lead while B renews\n${a.logs().slice(-2000)}`);
    assert.equal((await holder(a)).holderIdentity, idB);
  });
});
