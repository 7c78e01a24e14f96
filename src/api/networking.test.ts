import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../apimachinery/types.js";
import { networkingResources } from "./networking.js";

const ing = networkingResources.find((d) => d.kind === "Ingress")!;
const cls = networkingResources.find((d) => d.kind === "IngressClass")!;
const now = new Date("2024-01-01T01:00:00Z");

function ingress(): KObject {
  return {
    metadata: { name: "web", namespace: "default", creationTimestamp: "2024-01-01T00:00:00Z" },
    spec: {
      ingressClassName: "tug",
      rules: [
        { host: "*.example.com", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }] } },
        { host: "api.example.com", http: { paths: [{ path: "/v1", pathType: "Exact", backend: { service: { name: "api", port: { name: "http" } } } }] } },
      ],
      tls: [{ hosts: ["api.example.com"], secretName: "tls" }],
    },
  };
}

const check = (mut: (o: KObject) => void) => {
  const o = ingress();
  mut(o);
  return ing.validate!(o, { operation: "create" });
};

test("ingress validation", () => {
  assert.deepEqual(check(() => {}), []);
  assert.match(check((o) => (o.spec.rules[1].host = "10.0.0.1"))[0].message, /must be a DNS name, not an IP address/);
  assert.match(check((o) => (o.spec.rules[0].host = "a.*.com"))[0].message, /a wildcard DNS-1123 subdomain/);
  assert.match(check((o) => (o.spec.rules[0].http.paths[0].path = "api"))[0].message, /must be an absolute path/);
  assert.match(check((o) => (o.spec.rules[0].http.paths[0].path = "/a//b"))[0].message, /must not contain '\/\/'/);
  const noType = check((o) => delete o.spec.rules[0].http.paths[0].pathType);
  assert.deepEqual([noType[0].field, noType[0].message], ["spec.rules[0].http.paths[0].pathType", "Required value: pathType must be specified"]);
  assert.equal(check((o) => (o.spec.rules[0].http.paths[0].pathType = "Regex"))[0].reason, "FieldValueNotSupported");
  assert.match(check((o) => (o.spec.rules[0].http.paths[0].backend.service.port = {}))[0].message, /port name or number is required/);
  assert.match(check((o) => (o.spec.rules[0].http.paths[0].backend.service.port = { name: "http", number: 80 }))[0].message, /cannot set both port name & port number/);
  assert.match(check((o) => (o.spec.rules[0].http.paths[0].backend.resource = { kind: "Bucket", name: "b" }))[0].message, /cannot set both resource and service backends/);
  assert.match(check((o) => (o.spec.rules[0].http.paths[0].backend = {}))[0].message, /resource or service backend is required/);
  assert.match(check((o) => (o.spec = {}))[0].message, /either `defaultBackend` or `rules` must be specified/);
  assert.equal(check((o) => (o.spec.rules = "x"))[0].reason, "FieldValueTypeInvalid");
});

test("ingress and ingressclass tables", () => {
  const o = ingress();
  o.status = { loadBalancer: { ingress: [{ ip: "10.0.0.5" }, { hostname: "lb.local" }] } };
  assert.deepEqual(ing.table!.cells(o, now), ["tug", "*.example.com,api.example.com", "10.0.0.5,lb.local", "80, 443", "60m"]);
  assert.deepEqual(ing.table!.cells({ metadata: {}, spec: { defaultBackend: {} } } as KObject, now).slice(0, 4), ["<none>", "*", "", "80"]);

  const c: KObject = { metadata: { name: "tug" }, spec: { controller: "tugboat.io/ingress", parameters: { kind: "Config", apiGroup: "tugboat.io", name: "cfg" } } };
  cls.defaults!(c);
  assert.equal(c.spec.parameters.scope, "Cluster");
  assert.deepEqual(cls.validate!(c, { operation: "create" }), []);
  assert.deepEqual(cls.table!.cells(c, now).slice(0, 2), ["tugboat.io/ingress", "Config.tugboat.io/cfg"]);
  assert.equal(cls.validate!({ metadata: { name: "x" }, spec: {} }, { operation: "create" })[0].field, "spec.controller");
});
