import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { ServiceEndpoint, ServicePortEntry, ServiceTable } from "./model.js";
import { endpointChainName, externalChainName, renderRuleset, serviceChainName, applyRuleset, listTable, deleteTable } from "./nftables.js";
import { netnsRunner } from "./command.js";

const ready = (ip: string, port = 8080, nodeName = "a"): ServiceEndpoint => ({ ip, port, nodeName, ready: true, serving: true, terminating: false });

function entry(over: Partial<ServicePortEntry>): ServicePortEntry {
  const eps = over.clusterEndpoints ?? [ready("10.42.1.2"), ready("10.42.2.2")];
  return {
    id: "default/web:http/TCP",
    namespace: "default",
    name: "web",
    portName: "http",
    protocol: "TCP",
    port: 80,
    clusterIPs: ["10.43.0.5"],
    externalAddresses: [],
    internalLocal: false,
    externalLocal: false,
    internalEndpoints: eps,
    externalEndpoints: eps,
    clusterEndpoints: eps,
    ...over,
  };
}
const table = (...entries: ServicePortEntry[]): ServiceTable => ({ entries, conflicts: [] });
const rulesOf = (script: string, chain: string) =>
  script
    .split("\n")
    .filter((l) => l.startsWith(`add rule ip tugboat ${chain} `))
    .map((l) => l.slice(`add rule ip tugboat ${chain} `.length));

test("ClusterIP with two endpoints: map element, masquerade of non-pod sources, numgen over endpoint chains", () => {
  const e = entry({});
  const { script, state, stats } = renderRuleset(table(e), { clusterCIDR: "10.42.0.0/16" });
  const svc = serviceChainName(e);
  const [a, b] = e.internalEndpoints.map((ep) => endpointChainName(e, ep));
  assert.match(script, new RegExp(`add element ip tugboat service-ips \\{ 10\\.43\\.0\\.5 \\. tcp \\. 80 : goto ${svc} \\}`));
  assert.deepEqual(rulesOf(script, svc), ["ip saddr != 10.42.0.0/16 jump mark-for-masquerade", `numgen random mod 2 vmap { 0 : goto ${a} , 1 : goto ${b} }`]);
  assert.deepEqual(rulesOf(script, a!), ["ip saddr 10.42.1.2 jump mark-for-masquerade", "meta l4proto tcp dnat to 10.42.1.2:8080"]);
  assert.ok(state.chains.has(svc) && state.chains.has(a!) && state.chains.has(b!));
  assert.deepEqual({ ...stats, changes: undefined }, { services: 1, endpointChains: 2, elements: 1, changes: undefined });
  // A full sync replaces the table in the same transaction.
  assert.match(script, /^add table ip tugboat\ndelete table ip tugboat\nadd table ip tugboat\n/);
  assert.deepEqual(rulesOf(script, "nat-output"), ["jump services"]);
});

test("no endpoints: reject through the endpoints-check maps; iTP Local without local endpoints drops", () => {
  const none = entry({ internalEndpoints: [], externalEndpoints: [], clusterEndpoints: [], nodePort: 30080, protocol: "UDP" });
  const local = entry({ id: "default/loc:http/TCP", name: "loc", clusterIPs: ["10.43.0.6"], internalLocal: true, internalEndpoints: [] });
  const { script } = renderRuleset(table(none, local));
  assert.match(script, /no-endpoint-services \{ 10\.43\.0\.5 \. udp \. 80 : goto reject-chain , 10\.43\.0\.6 \. tcp \. 80 : drop \}/);
  assert.match(script, /no-endpoint-nodeports \{ udp \. 30080 : goto reject-chain \}/);
  assert.deepEqual(rulesOf(script, "reject-chain"), ["meta l4proto tcp reject with tcp reset", "reject"]);
  assert.ok(!script.includes(serviceChainName(none)));
});

test("NodePort / LoadBalancer with externalTrafficPolicy Cluster masquerade and balance over all endpoints", () => {
  const e = entry({ nodePort: 30080, externalAddresses: ["10.99.0.1"] });
  const { script } = renderRuleset(table(e), { clusterCIDR: "10.42.0.0/16" });
  const ext = externalChainName(e);
  assert.match(script, new RegExp(`service-nodeports \\{ tcp \\. 30080 : goto ${ext} \\}`));
  assert.match(script, new RegExp(`10\\.99\\.0\\.1 \\. tcp \\. 80 : goto ${ext}`));
  const rules = rulesOf(script, ext);
  assert.equal(rules[0], "jump mark-for-masquerade");
  assert.match(rules[1]!, /^numgen random mod 2 vmap/);
});

test("externalTrafficPolicy Local: pods and the node use all endpoints, outsiders only local ones, none → drop", () => {
  const remote = ready("10.42.2.2", 8080, "b");
  const e = entry({ nodePort: 30080, externalLocal: true, externalEndpoints: [ready("10.42.1.2")], clusterEndpoints: [ready("10.42.1.2"), remote], internalEndpoints: [ready("10.42.1.2"), remote] });
  const { script } = renderRuleset(table(e), { clusterCIDR: "10.42.0.0/16" });
  const ext = externalChainName(e);
  const rules = rulesOf(script, ext);
  assert.equal(rules[0], `ip saddr 10.42.0.0/16 goto ${serviceChainName(e)}`);
  assert.equal(rules[1], "fib saddr type local jump mark-for-masquerade");
  assert.match(rules[2]!, /^fib saddr type local goto cls-/);
  assert.equal(rules[3], `goto ${endpointChainName(e, e.externalEndpoints[0]!)}`);
  assert.ok(!rules.some((r) => r.includes("jump mark-for-masquerade") && !r.startsWith("fib")), "no masquerade: client IP kept");
  const noLocal = renderRuleset(table({ ...e, externalEndpoints: [] }), { clusterCIDR: "10.42.0.0/16" });
  assert.equal(rulesOf(noLocal.script, ext).at(-1), "drop");
});

test("ClientIP affinity: one timeout set per endpoint, checked before balancing and updated on DNAT", () => {
  const e = entry({ affinityTimeoutSeconds: 60 });
  const { script, state } = renderRuleset(table(e));
  assert.equal(state.sets.size, 2);
  const sets = [...state.sets.keys()];
  for (const s of sets) assert.match(script, new RegExp(`add set ip tugboat ${s} \\{ type ipv4_addr ; flags dynamic,timeout ; timeout 60s ; \\}`));
  const rules = rulesOf(script, serviceChainName(e));
  assert.match(rules[0]!, new RegExp(`^ip saddr @${sets[0]} goto sep-`));
  assert.match(rules[1]!, new RegExp(`^ip saddr @${sets[1]} goto sep-`));
  assert.ok(rulesOf(script, endpointChainName(e, e.internalEndpoints[0]!)).includes(`update @${sets[0]} { ip saddr }`));
  // Sets are never flushed: stickiness survives re-syncs.
  assert.ok(!/flush set/.test(script));
});

test("incremental sync: only the difference — changed chains and elements, deletions last", () => {
  const a = entry({ affinityTimeoutSeconds: 30 });
  const b = entry({ id: "default/db:pg/TCP", name: "db", portName: "pg", clusterIPs: ["10.43.0.9"], port: 5432 });
  const first = renderRuleset(table(a, b));
  const same = renderRuleset(table(a, b), {}, first.state);
  assert.equal(same.script, "add table ip tugboat\n", "nothing changed, nothing sent");
  const second = renderRuleset(table(b), {}, first.state);
  assert.ok(!second.script.includes("delete table"));
  assert.ok(!second.script.includes(serviceChainName(b)), "an unchanged Service is not touched");
  assert.ok(second.script.includes(`delete element ip tugboat service-ips { 10.43.0.5 . tcp . 80 }`));
  assert.ok(second.script.includes(`delete chain ip tugboat ${serviceChainName(a)}`));
  for (const s of first.state.sets.keys()) assert.ok(second.script.includes(`delete set ip tugboat ${s}`));
  // One endpoint fewer: the service chain is rewritten, the gone endpoint chain deleted.
  const b1 = { ...b, internalEndpoints: [b.internalEndpoints[0]!], clusterEndpoints: [b.internalEndpoints[0]!], externalEndpoints: [b.internalEndpoints[0]!] };
  const third = renderRuleset(table(b1), {}, second.state);
  assert.deepEqual(third.script.trim().split("\n"), [
    "add table ip tugboat",
    `flush chain ip tugboat ${endpointChainName(b, b.internalEndpoints[1]!)}`,
    `flush chain ip tugboat ${serviceChainName(b)}`,
    `add rule ip tugboat ${serviceChainName(b)} goto ${endpointChainName(b, b.internalEndpoints[0]!)}`,
    `delete chain ip tugboat ${endpointChainName(b, b.internalEndpoints[1]!)}`,
  ]);
  // Deletions come after every flush (a stale chain may still be jumped to until flushed).
  const lines = second.script.trim().split("\n");
  const lastFlush = lines.map((l) => l.startsWith("flush")).lastIndexOf(true);
  const firstDelete = lines.findIndex((l) => l.startsWith("delete"));
  assert.ok(firstDelete > lastFlush);
  assert.equal(second.state.sets.size, 0);
});

test("masqueradeAll marks every ClusterIP packet, whatever its source", () => {
  const e = entry({});
  const { script } = renderRuleset(table(e), { clusterCIDR: "10.42.0.0/16", masqueradeAll: true });
  assert.equal(rulesOf(script, serviceChainName(e))[0], "jump mark-for-masquerade");
  assert.deepEqual(rulesOf(script, "masquerading"), ["meta mark and 0x4000 == 0 return", "meta mark set meta mark xor 0x4000", "masquerade fully-random"]);
});

test("bad options are refused", () => {
  assert.throws(() => renderRuleset(table(), { table: "bad name" }), /invalid nft table name/);
  assert.throws(() => renderRuleset(table(), { clusterCIDR: "10.42.0.0" }), /invalid clusterCIDR/);
});

const canNetns = (() => {
  try {
    execFileSync("nft", ["--version"], { stdio: "ignore" });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
})();

test("rendered rulesets are accepted by the kernel, full then incremental, and the table is removed", { skip: !canNetns && "needs root and nft" }, async (t) => {
  const ns = `tugp-nft-${randomBytes(3).toString("hex")}`;
  execFileSync("ip", ["netns", "add", ns]);
  t.after(() => execFileSync("ip", ["netns", "del", ns]));
  const run = netnsRunner(ns);
  const a = entry({ nodePort: 30080, externalAddresses: ["10.99.0.1"], affinityTimeoutSeconds: 60 });
  const b = entry({ id: "default/db:pg/UDP", name: "db", portName: "pg", protocol: "UDP", clusterIPs: ["10.43.0.9"], port: 53, externalLocal: true, nodePort: 30053, externalEndpoints: [] });
  const c = entry({ id: "default/none:/TCP", name: "none", portName: "", clusterIPs: ["10.43.0.10"], internalEndpoints: [], externalEndpoints: [], clusterEndpoints: [], nodePort: 30010 });
  const first = renderRuleset(table(a, b, c), { clusterCIDR: "10.42.0.0/16" });
  await applyRuleset(run, first.script);
  const listed = await listTable(run);
  assert.match(listed, /10\.43\.0\.5 \. tcp \. 80 : goto svc-/);
  assert.match(listed, /numgen random mod 2 vmap/);
  // Re-applying the same state incrementally is fine, and so is dropping services.
  const again = renderRuleset(table(a, b, c), { clusterCIDR: "10.42.0.0/16" }, first.state);
  await applyRuleset(run, again.script);
  const fewer = renderRuleset(table(c), { clusterCIDR: "10.42.0.0/16" }, again.state);
  await applyRuleset(run, fewer.script);
  const after = await listTable(run);
  assert.ok(!after.includes("svc-"), "service chains gone");
  assert.ok(!after.includes("aff-"), "affinity sets gone");
  assert.match(after, /10\.43\.0\.10 \. tcp \. 80 : goto reject-chain/);
  await deleteTable(run);
  await deleteTable(run); // idempotent
  assert.equal(await listTable(run), "");
});
