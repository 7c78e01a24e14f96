import { test } from "node:test";
import assert from "node:assert/strict";
import { Snapshot } from "../snapshot.js";
import { runFilterPlugin } from "../framework.js";
import { nodePorts } from "./nodeports.js";

const withPorts = (name: string, ports: Record<string, unknown>[], nodeName?: string) => ({
  metadata: { name, namespace: "default" },
  spec: { nodeName, containers: [{ name: "c", image: "x", ports: ports.map((p) => ({ containerPort: 80, ...p })) }] },
});

test("NodePorts filter", async (t) => {
  const msg = "node(s) didn't have free ports for the requested pod ports";
  const cases: { name: string; used: Record<string, unknown>[]; want: Record<string, unknown>[]; reason?: string }[] = [
    { name: "no host ports", used: [{ hostPort: 80 }], want: [{}] },
    { name: "free port", used: [{ hostPort: 80 }], want: [{ hostPort: 81 }] },
    { name: "same port", used: [{ hostPort: 80 }], want: [{ hostPort: 80 }], reason: msg },
    { name: "different protocol", used: [{ hostPort: 53, protocol: "UDP" }], want: [{ hostPort: 53 }] },
    { name: "different IPs", used: [{ hostPort: 80, hostIP: "10.0.0.1" }], want: [{ hostPort: 80, hostIP: "10.0.0.2" }] },
    { name: "0.0.0.0 conflicts with a specific IP", used: [{ hostPort: 80, hostIP: "10.0.0.1" }], want: [{ hostPort: 80 }], reason: msg },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const snap = Snapshot.fromObjects([{ metadata: { name: "n" }, status: { allocatable: { pods: "9" } } }], [withPorts("e", c.used, "n")]);
      assert.deepEqual(runFilterPlugin(nodePorts, withPorts("p", c.want), snap, "n")?.reasons, c.reason ? [c.reason] : undefined);
    });
  }
});

test("NodePorts frees a port when the pod leaves", () => {
  const snap = Snapshot.fromObjects([{ metadata: { name: "n" } }], [withPorts("e", [{ hostPort: 80 }], "n")]);
  snap.removePod("default/e");
  assert.equal(runFilterPlugin(nodePorts, withPorts("p", [{ hostPort: 80 }]), snap, "n"), undefined);
});
