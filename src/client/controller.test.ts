import { test } from "node:test";
import assert from "node:assert/strict";
import { deepCopy, type KObject } from "../apimachinery/types.js";
import { startTestApi } from "../apiserver/testing.js";
import { FakeClock } from "./clock.js";
import { runController, TerminalError, type Controller } from "./controller.js";
import { MemoryEventRecorder } from "./events.js";
import { SharedInformerFactory } from "./sharedinformers.js";

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out waiting for condition");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A small controller: every ConfigMap gets a Secret of the same name, owned by it, holding its data. */
function mirrorController(calls: string[], behaviour: Record<string, () => unknown> = {}): Controller {
  let active = new Set<string>();
  return {
    name: "mirror",
    for: "v1/configmaps",
    owns: ["v1/secrets"],
    workers: 3,
    needsLeader: false,
    async reconcile(ctx, key) {
      const k = `${key.namespace}/${key.name}`;
      assert.ok(!active.has(k), "never reconciled twice at once");
      active.add(k);
      try {
        calls.push(k);
        await new Promise((r) => setImmediate(r));
        const special = behaviour[key.name];
        if (special) return special() as any;
        const cm = ctx.reader.get("v1/configmaps", key.namespace, key.name);
        if (!cm) return;
        const want = Object.fromEntries(Object.entries(cm.data ?? {}).map(([a, b]) => [a, Buffer.from(String(b)).toString("base64")]));
        const secret = ctx.reader.get("v1/secrets", key.namespace, key.name);
        if (!secret) {
          await ctx.client.create("v1/secrets", {
            apiVersion: "v1",
            kind: "Secret",
            metadata: {
              name: key.name,
              namespace: key.namespace,
              ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: cm.metadata.name!, uid: cm.metadata.uid!, controller: true }],
            },
            data: want,
          });
        } else if (JSON.stringify(secret.data ?? {}) !== JSON.stringify(want)) {
          const next = deepCopy(secret);
          next.data = want;
          await ctx.client.update("v1/secrets", next);
        }
      } finally {
        active.delete(k);
      }
    },
  };
}

test("reconciles the for resource, and events on owned objects wake the controlling owner", async (t) => {
  const api = await startTestApi();
  const ac = new AbortController();
  const informers = new SharedInformerFactory(api.client);
  const calls: string[] = [];
  const run = runController(mirrorController(calls), { client: api.client, informers, recorder: new MemoryEventRecorder() }, ac.signal);
  t.after(async () => {
    ac.abort();
    await run;
    await informers.stopped();
    await api.close();
  });
  await api.client.create("v1/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", namespace: "default" }, data: { k: "v" } });
  const secretData = async () => {
    try {
      return (await api.client.get("v1/secrets", "default", "a")).data;
    } catch {
      return undefined;
    }
  };
  await until(async () => (await secretData())?.k === Buffer.from("v").toString("base64"));
  // Tamper with the owned Secret: the owner is re-reconciled and restores it.
  const s = await api.client.get("v1/secrets", "default", "a");
  calls.length = 0;
  await api.client.update("v1/secrets", { ...s, data: { k: Buffer.from("tampered").toString("base64") } });
  await until(async () => (await secretData())?.k === Buffer.from("v").toString("base64"));
  assert.ok(calls.includes("default/a"));
});

test("errors retry with backoff; TerminalError records a Warning and stops; requeueAfter reschedules", async (t) => {
  const api = await startTestApi();
  const ac = new AbortController();
  const clock = new FakeClock();
  const informers = new SharedInformerFactory(api.client, { clock });
  const recorder = new MemoryEventRecorder();
  const calls: string[] = [];
  let flaky = 0;
  const ctrl = mirrorController(calls, {
    flaky: () => {
      if (++flaky < 3) throw new Error("transient");
    },
    thrower: () => {
      throw "not even an Error";
    },
    terminal: () => {
      throw new TerminalError("spec.x is impossible", "BadSpec");
    },
    periodic: () => ({ requeueAfter: 60_000 }),
  });
  const run = runController(ctrl, { client: api.client, informers, recorder, clock }, ac.signal);
  t.after(async () => {
    ac.abort();
    await run;
    await informers.stopped();
    await api.close();
  });
  for (const name of ["flaky", "thrower", "terminal", "periodic"]) {
    await api.client.create("v1/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default" } });
  }
  const count = (k: string) => calls.filter((c) => c === `default/${k}`).length;
  await until(() => count("flaky") === 1 && count("thrower") === 1 && count("terminal") === 1 && count("periodic") === 1);
  // Backoff: 5ms, then 10ms.
  await clock.advance(5);
  await until(() => count("flaky") === 2);
  await clock.advance(10);
  await until(() => count("flaky") === 3);
  await clock.advance(1000);
  assert.equal(count("flaky"), 3, "success stops retries");
  assert.ok(count("thrower") >= 3, "non-Error throws are retried too");
  assert.equal(count("terminal"), 1, "terminal errors are not retried");
  assert.equal(recorder.events.length, 1);
  assert.equal(recorder.events[0].type, "Warning");
  assert.equal(recorder.events[0].reason, "BadSpec");
  assert.equal(recorder.events[0].obj.metadata.name, "terminal");
  assert.equal(count("periodic"), 1);
  await clock.advance(59_000);
  await until(() => count("periodic") === 2);
});
