import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestApi } from "../apiserver/testing.js";
import { FakeClock } from "./clock.js";
import { LeaderElector } from "./leaderelection.js";
import { Supervisor, type Runnable } from "./runnable.js";

const LEASES = "coordination.k8s.io/v1/leases";

/** A test API and a fake clock; candidates for the lease "tug-controllers" log when they start and stop leading. */
async function setup(t: { after(fn: () => Promise<void>): void }) {
  const api = await startTestApi();
  t.after(() => api.close());
  const clock = new FakeClock();
  const log: string[] = [];
  const candidate = (identity: string) =>
    new LeaderElector({
      client: api.client,
      name: "tug-controllers",
      identity,
      clock,
      onStartedLeading: () => log.push(`${identity} started`),
      onStoppedLeading: () => log.push(`${identity} stopped`),
    });
  const lease = () => api.client.get(LEASES, "kube-system", "tug-controllers");
  /** Runs `e` until it leads; aborting `ac` makes it release the lease. */
  const lead = async (e: LeaderElector) => {
    const ac = new AbortController();
    const run = e.run(ac.signal);
    while (!e.isLeader()) await clock.advance(0);
    return { ac, run };
  };
  return { api, clock, log, candidate, lease, lead };
}

test("one candidate acquires; the other takes over only after the lease expires", async (t) => {
  const { clock, candidate, lease: getLease } = await setup(t);
  const a = candidate("a");
  const b = candidate("b");
  assert.equal(await a.tryAcquireOrRenew(), true);
  assert.equal(await b.tryAcquireOrRenew(), false);
  const lease = await getLease();
  assert.equal(lease.spec.holderIdentity, "a");
  assert.equal(lease.spec.leaseDurationSeconds, 15);
  assert.match(lease.spec.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  // a stops renewing; b watches the record and waits a full lease duration on its own clock.
  await clock.advance(14_000);
  assert.equal(await b.tryAcquireOrRenew(), false);
  await clock.advance(1_001);
  assert.equal(await b.tryAcquireOrRenew(), true);
  const taken = await getLease();
  assert.equal(taken.spec.holderIdentity, "b");
  assert.equal(taken.spec.leaseTransitions, 1);
  assert.equal(b.getLeader(), "b");
});

test("run(): leads, renews, releases on cancel so the next candidate starts at once", async (t) => {
  const { clock, log, candidate, lease, lead } = await setup(t);
  const a = candidate("a");
  const { ac, run } = await lead(a);
  assert.deepEqual(log, ["a started"]);
  const rv1 = (await lease()).metadata.resourceVersion;
  await clock.advance(2_000);
  await clock.advance(0);
  const renewed = await lease();
  assert.notEqual(renewed.metadata.resourceVersion, rv1, "renewed after retryPeriod");
  ac.abort();
  await run;
  assert.deepEqual(log, ["a started", "a stopped"]);
  const released = await lease();
  assert.equal(released.spec.holderIdentity, "");
  const b = candidate("b");
  assert.equal(await b.tryAcquireOrRenew(), true);
});

test("losing the lease to another holder calls onStoppedLeading", async (t) => {
  const { api, clock, log, candidate, lease, lead } = await setup(t);
  const a = candidate("a");
  const { ac, run } = await lead(a);
  // Someone else overwrites the lease (e.g. an operator, or a partitioned peer).
  const held = await lease();
  await api.client.update(LEASES, { ...held, spec: { ...held.spec, holderIdentity: "intruder" } });
  for (let i = 0; i < 10 && a.isLeader(); i++) await clock.advance(2_000);
  await run;
  assert.deepEqual(log, ["a started", "a stopped"]);
  ac.abort();
});

test("supervisor starts runnables in order, gates leader-only ones on the lease, stops all on abort", async (t) => {
  const { api, clock } = await setup(t);
  const events: string[] = [];
  const part = (name: string, needsLeader: boolean): Runnable => ({
    name,
    needsLeader,
    async start(signal) {
      events.push(`start ${name}`);
      await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
      events.push(`stop ${name}`);
    },
  });
  const sup = new Supervisor({ election: { client: api.client, name: "sup", identity: "me", clock } }).add(
    part("api", false),
    part("ctrl", true),
    part("agent", false),
  );
  const ac = new AbortController();
  const run = sup.start(ac.signal);
  while (!events.includes("start ctrl")) await clock.advance(0);
  assert.deepEqual(events, ["start api", "start agent", "start ctrl"]);
  assert.equal(sup.isLeader(), true);
  ac.abort();
  await run;
  assert.deepEqual(events.slice(3).sort(), ["stop agent", "stop api", "stop ctrl"]);
});

test("supervisor: a failing runnable stops the others and is reported", async () => {
  const sup = new Supervisor().add(
    { name: "ok", needsLeader: false, start: (s) => new Promise((r) => s.addEventListener("abort", () => r(), { once: true })) },
    { name: "bad", needsLeader: true, start: async () => Promise.reject(new Error("boom")) },
  );
  await assert.rejects(sup.start(new AbortController().signal), /boom/);
});
