// The node's CNI conflist: bridge + host-local on the podCIDR + portmap, and field
// errors for bad input.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StatusError } from "../apimachinery/errors.js";
import { nodeConflist, writeNodeConflist, CONFLIST_NAME, NETWORK_STATE_FILE, recordedUnreachableRoutes } from "./cni.js";

test("conflist: bridge tug0 with host-local on the podCIDR, then portmap", () => {
  const c = nodeConflist({ confDir: "/d/cni/net.d", podCIDR: "10.42.7.0/24" }) as { plugins: Array<Record<string, any>>; cniVersion: string };
  assert.equal(c.cniVersion, "0.4.0");
  const [bridge, portmap] = c.plugins;
  assert.equal(bridge!.type, "bridge");
  assert.equal(bridge!.bridge, "tug0");
  assert.equal(bridge!.isGateway, true);
  assert.equal(bridge!.hairpinMode, true);
  assert.equal(bridge!.ipMasq, false);
  assert.deepEqual(bridge!.ipam.ranges, [[{ subnet: "10.42.7.0/24" }]]);
  assert.equal(bridge!.ipam.dataDir, "/d/cni/networks");
  assert.equal(portmap!.type, "portmap");
  assert.deepEqual(portmap!.capabilities, { portMappings: true });
});

test("conflist: invalid podCIDR or bridge name is an Invalid status naming the field", () => {
  assert.throws(() => nodeConflist({ confDir: "/d", podCIDR: "10.42.7.0" }), (e: unknown) => e instanceof StatusError && e.code === 422 && /podCIDR/.test(e.message));
  assert.throws(() => nodeConflist({ confDir: "/d", podCIDR: "300.1.1.0/24" }), StatusError);
  assert.throws(() => nodeConflist({ confDir: "/d", podCIDR: "10.42.7.0/24", bridge: "a bridge name too long" }), (e: unknown) => e instanceof StatusError && /bridge/.test(e.message));
});

test("writeNodeConflist writes JSON where containerd looks", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tugcni-"));
  try {
    const file = await writeNodeConflist({ confDir: join(dir, "net.d"), podCIDR: "10.42.1.0/24", bridge: "tugx" });
    assert.equal(file, join(dir, "net.d", CONFLIST_NAME));
    const parsed = JSON.parse(await readFile(file, "utf8"));
    assert.equal(parsed.name, "tugboat");
    assert.equal(parsed.plugins[0].bridge, "tugx");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("tug down removes the unreachable routes the agent recorded, the defaults without a record", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tug-cni-net-"));
  try {
    assert.deepEqual(await recordedUnreachableRoutes(dir), ["10.42.0.0/16", "10.43.0.0/16"]);
    await writeFile(join(dir, NETWORK_STATE_FILE), JSON.stringify({ unreachableRoutes: ["10.47.0.0/16", "10.45.0.0/16"] }));
    assert.deepEqual(await recordedUnreachableRoutes(dir), ["10.47.0.0/16", "10.45.0.0/16"]);
    await writeFile(join(dir, NETWORK_STATE_FILE), "{not json");
    assert.deepEqual(await recordedUnreachableRoutes(dir), ["10.42.0.0/16", "10.43.0.0/16"]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
