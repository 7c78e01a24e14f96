import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import { discoveryResources } from "./discovery.js";

const def = discoveryResources[0];
const now = new Date("2024-01-01T01:00:00Z");

const slice = (): KObject => ({
  metadata: { name: "web-abc", namespace: "default", creationTimestamp: "2024-01-01T00:00:00Z" },
  addressType: "IPv4",
  endpoints: [{ addresses: ["10.42.0.5"] }, { addresses: ["10.42.0.6"] }, { addresses: ["10.42.1.2"] }, { addresses: ["10.42.1.3"] }],
  ports: [{ name: "http", port: 80 }],
});

test("endpointslice defaults, validation, table", () => {
  const s = slice();
  def.defaults!(s);
  assert.equal(s.ports[0].protocol, "TCP");
  assert.deepEqual(def.validate!(s, { operation: "create" }), []);
  assert.deepEqual(def.table!.cells(s, now), ["IPv4", "80", "10.42.0.5,10.42.0.6,10.42.1.2 + 1 more...", "60m"]);

  const v = (mut: (o: KObject) => void) => {
    const o = slice();
    def.defaults!(o);
    mut(o);
    return def.validate!(o, { operation: "create" });
  };
  assert.equal(v((o) => delete o.addressType)[0].field, "addressType");
  assert.equal(v((o) => (o.addressType = "IPX"))[0].reason, "FieldValueNotSupported");
  assert.match(v((o) => (o.endpoints[0].addresses = []))[0].message, /must contain at least 1 address/);
  assert.equal(v((o) => (o.endpoints[0].addresses = Array.from({ length: 101 }, (_, i) => `10.0.0.${i % 250 + 1}`)))[0].reason, "FieldValueTooMany");
  assert.match(v((o) => (o.endpoints[0].addresses = ["fe80::1"]))[0].message, /must be a valid IPv4 address/);
  assert.match(v((o) => (o.endpoints[0].addresses = ["127.0.0.1"]))[0].message, /loopback/);
  assert.equal(v((o) => (o.ports[0].protocol = "ICMP"))[0].reason, "FieldValueNotSupported");

  const old = { ...slice(), metadata: { ...slice().metadata, resourceVersion: "1" } };
  const upd = { ...old, addressType: "IPv6", endpoints: [] };
  def.defaults!(upd);
  assert.deepEqual(def.validate!(upd, { operation: "update", old }).map((e) => e.field), ["addressType"]);
  assert.deepEqual(def.table!.cells({ metadata: {} } as KObject, now).slice(0, 3), ["", "<unset>", "<unset>"]);
});
