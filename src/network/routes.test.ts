import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { KObject } from "../apimachinery/types.js";
import { startTestApi } from "../apiserver/testing.js";
import type { Client } from "../client/types.js";
import { netnsRunner } from "./proxy/command.js";
import { desiredNodeRoutes, nodeRoutesRunnable, ROUTE_PROTOCOL } from "./routes.js";

function nodeObj(name: string, podCIDR: string | undefined, ip: string | undefined, labels: Record<string, string> = {}): KObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels },
    spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {},
    status: { addresses: ip ? [{ type: "InternalIP", address: ip }, { type: "Hostname", address: name }] : [] },
  };
}

test("desiredNodeRoutes: other nodes with a podCIDR and an InternalIP; self, hollow and broken ones skipped", () => {
  const routes = desiredNodeRoutes(
    [
      nodeObj("a", "10.42.1.0/24", "192.168.1.1"),
      nodeObj("b", "10.42.2.0/24", "192.168.1.2"),
      nodeObj("c", undefined, "192.168.1.3"),
      nodeObj("d", "10.42.4.0/24", undefined),
      nodeObj("e", "10.42.5.0/24", "192.168.1.5", { "node.kubernetes.io/instance-type": "hollow" }),
      nodeObj("f", "not-a-cidr", "192.168.1.6"),
      nodeObj("g", "10.42.1.0/24", "192.168.1.7"),
    ],
    "a",
  );
  assert.deepEqual([...routes], [["10.42.2.0/24", "192.168.1.2"]]);
});

const canRun = (() => {
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
})();

async function until(cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out waiting for condition");
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function createNode(c: Client, name: string, podCIDR: string, ip: string): Promise<void> {
  const n = await c.create("v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name }, spec: { podCIDR, podCIDRs: [podCIDR] } });
  await c.updateStatus("v1/nodes", { ...n, status: { addresses: [{ type: "InternalIP", address: ip }] } });
}

test("node routes in a network namespace: added, repaired, removed with the node and on shutdown", { skip: !canRun && "needs root" }, async (t) => {
  const ns = `tugp-rt-${randomBytes(3).toString("hex")}`;
  const api = await startTestApi();
  const ac = new AbortController();
  let run: Promise<void> | undefined;
  execFileSync("ip", ["netns", "add", ns]);
  t.after(async () => {
    ac.abort();
    await run?.catch(() => {});
    execFileSync("ip", ["netns", "del", ns]);
    await api.close();
  });
  const ip = (...args: string[]) => execFileSync("ip", ["-n", ns, ...args]).toString();
  // A veth pair inside the namespace gives an on-link network 10.99.250.0/24 for the gateways.
  ip("link", "add", "name", "tgw0", "type", "veth", "peer", "name", "tgw1");
  ip("addr", "add", "10.99.250.1/24", "dev", "tgw0");
  ip("link", "set", "tgw0", "up");
  ip("link", "set", "tgw1", "up");
  // A leftover of a crashed run is cleaned up at start.
  ip("route", "add", "10.99.77.0/24", "via", "10.99.250.77", "proto", String(ROUTE_PROTOCOL));

  const c = api.client;
  await createNode(c, "self", "10.99.11.0/24", "10.99.250.1");
  await createNode(c, "peer", "10.99.12.0/24", "10.99.250.2");
  const ours = () => ip("-o", "route", "show", "proto", String(ROUTE_PROTOCOL)).trim();
  const routes = nodeRoutesRunnable({ client: c, nodeName: "self", runner: netnsRunner(ns), unreachableRoutes: false, resyncMs: 200 });
  run = routes.start(ac.signal);
  await until(() => /^10\.99\.12\.0\/24 via 10\.99\.250\.2 dev tgw0/.test(ours()) && !ours().includes("10.99.77.0"));

  await createNode(c, "third", "10.99.13.0/24", "10.99.250.3");
  await until(() => ours().includes("10.99.13.0/24 via 10.99.250.3"));

  // Someone removes our route: the periodic resync puts it back.
  ip("route", "del", "10.99.12.0/24");
  await until(() => ours().includes("10.99.12.0/24 via 10.99.250.2"));

  // A node whose range is already routed here (two nodes on one host: its bridge) or whose
  // address is our own gets no route, and the existing route is left alone.
  ip("link", "add", "name", "tugbr9", "type", "bridge");
  ip("addr", "add", "10.99.14.1/24", "dev", "tugbr9");
  ip("link", "set", "tugbr9", "up");
  await createNode(c, "samehost", "10.99.14.0/24", "10.99.250.4");
  await createNode(c, "selfaddr", "10.99.15.0/24", "10.99.250.1");
  await new Promise((r) => setTimeout(r, 500));
  assert.match(ip("route", "show", "10.99.14.0/24"), /dev tugbr9 proto kernel/);
  assert.ok(!ours().includes("10.99.14.0") && !ours().includes("10.99.15.0"), ours());
  await c.delete("v1/nodes", undefined, "samehost");
  await c.delete("v1/nodes", undefined, "selfaddr");

  await c.delete("v1/nodes", undefined, "third");
  await until(() => !ours().includes("10.99.13.0/24"));
  assert.deepEqual([...routes.routes()], [["10.99.12.0/24", "10.99.250.2"]]);

  ac.abort();
  await run;
  assert.equal(ours(), "");
});
