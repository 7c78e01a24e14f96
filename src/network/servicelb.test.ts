import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import { startTestApi } from "../apiserver/testing.js";
import type { Client } from "../client/types.js";
import { runController } from "../client/controller.js";
import { MemoryEventRecorder } from "../client/events.js";
import { SharedInformerFactory } from "../client/sharedinformers.js";
import { EXCLUDE_LB_LABEL, loadBalancerAddresses, serviceLBController } from "./servicelb.js";

async function until<T>(f: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting for condition");
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function node(c: Client, name: string, ip: string, ready = true, labels: Record<string, string> = {}): Promise<KObject> {
  const n = await c.create("v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name, labels }, spec: {} });
  return c.updateStatus("v1/nodes", { ...n, status: { addresses: [{ type: "InternalIP", address: ip }], conditions: [{ type: "Ready", status: ready ? "True" : "False" }] } });
}

function lbService(name: string, port: number, extra: Record<string, unknown> = {}): KObject {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec: { type: "LoadBalancer", selector: { app: name }, ports: [{ port, protocol: "TCP" }], ...extra } };
}

const ingressOf = async (c: Client, name: string): Promise<string[]> => ((await c.get("v1/services", "default", name)).status?.loadBalancer?.ingress ?? []).map((i: any) => i.ip);

test("loadBalancerAddresses: ready, not excluded nodes with an InternalIP, sorted", () => {
  const n = (name: string, ip: string | undefined, ready: boolean, labels: Record<string, string> = {}): KObject => ({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels },
    status: { addresses: ip ? [{ type: "InternalIP", address: ip }] : [], conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  });
  assert.deepEqual(loadBalancerAddresses([n("b", "10.0.0.2", true), n("a", "10.0.0.1", true), n("c", "10.0.0.3", false), n("d", undefined, true), n("e", "10.0.0.5", true, { [EXCLUDE_LB_LABEL]: "" })]), ["10.0.0.1", "10.0.0.2"]);
  assert.deepEqual(loadBalancerAddresses([n("a", "10.0.0.1", true)], (x) => x.metadata.name !== "a"), []);
});

test("ServiceLB publishes node InternalIPs, follows nodes, keeps ports exclusive, and clears on type change", async (t) => {
  const api = await startTestApi();
  const ac = new AbortController();
  const informers = new SharedInformerFactory(api.client);
  const recorder = new MemoryEventRecorder();
  const run = runController(serviceLBController({ pendingRecheckMs: 100 }), { client: api.client, informers, recorder }, ac.signal);
  t.after(async () => {
    ac.abort();
    await run;
    await informers.stopped();
    await api.close();
  });
  const c = api.client;
  await node(c, "n1", "10.99.0.11");
  await node(c, "n2", "10.99.0.12", false);

  await c.create("v1/services", lbService("web", 80));
  await until(async () => (await ingressOf(c, "web")).join() === "10.99.0.11");

  // A node becoming ready joins the ingress list.
  const n2 = await c.get("v1/nodes", undefined, "n2");
  await c.updateStatus("v1/nodes", { ...n2, status: { ...n2.status, conditions: [{ type: "Ready", status: "True" }] } });
  await until(async () => (await ingressOf(c, "web")).join() === "10.99.0.11,10.99.0.12");

  // Same port, newer Service: pending with a Warning; ClusterIP Services untouched.
  await c.create("v1/services", lbService("web2", 80));
  await c.create("v1/services", { apiVersion: "v1", kind: "Service", metadata: { name: "plain", namespace: "default" }, spec: { ports: [{ port: 80 }] } });
  await until(async () => recorder.events.some((e: any) => e.reason === "PortConflict" && e.obj?.metadata?.name === "web2"));
  assert.deepEqual(await ingressOf(c, "web2"), []);
  assert.deepEqual(await ingressOf(c, "plain"), []);

  // A Service of another load-balancer class is not ours.
  await c.create("v1/services", lbService("other", 81, { loadBalancerClass: "example.com/lb" }));

  // The holder stops being a LoadBalancer: its ingress is cleared and the pending one gets the port.
  const web = await c.get("v1/services", "default", "web");
  await c.update("v1/services", { ...web, spec: { ...web.spec, type: "NodePort" } });
  await until(async () => (await ingressOf(c, "web")).length === 0);
  await until(async () => (await ingressOf(c, "web2")).join() === "10.99.0.11,10.99.0.12");
  assert.deepEqual(await ingressOf(c, "other"), []);

  // Node removal shrinks the list.
  await c.delete("v1/nodes", undefined, "n1");
  await until(async () => (await ingressOf(c, "web2")).join() === "10.99.0.12");
});
