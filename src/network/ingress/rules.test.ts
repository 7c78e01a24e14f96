import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../../apimachinery/types.js";
import { buildRouteTable, handlesIngress, matchRoute, normalizeHost, pathMatches, type PathType } from "./rules.js";

// The examples table of https://kubernetes.io/docs/concepts/services-networking/ingress/#examples
const docExamples: [PathType, string[], string, string | undefined][] = [
  ["Prefix", ["/"], "/ (all paths)", "/"],
  ["Exact", ["/foo"], "/foo", "/foo"],
  ["Exact", ["/foo"], "/bar", undefined],
  ["Exact", ["/foo"], "/foo/", undefined],
  ["Exact", ["/foo/"], "/foo", undefined],
  ["Prefix", ["/foo"], "/foo", "/foo"],
  ["Prefix", ["/foo"], "/foo/", "/foo"],
  ["Prefix", ["/foo/"], "/foo", "/foo/"],
  ["Prefix", ["/foo/"], "/foo/", "/foo/"],
  ["Prefix", ["/aaa/bb"], "/aaa/bbb", undefined],
  ["Prefix", ["/aaa/bbb"], "/aaa/bbb", "/aaa/bbb"],
  ["Prefix", ["/aaa/bbb/"], "/aaa/bbb", "/aaa/bbb/"],
  ["Prefix", ["/aaa/bbb"], "/aaa/bbb/", "/aaa/bbb"],
  ["Prefix", ["/aaa/bbb"], "/aaa/bbbxyz", undefined],
  ["Prefix", ["/", "/aaa"], "/aaa/ccc", "/aaa"],
  ["Prefix", ["/", "/aaa", "/aaa/bbb"], "/aaa/bbb", "/aaa/bbb"],
  ["Prefix", ["/", "/aaa", "/aaa/bbb"], "/ccc", "/"],
  ["Prefix", ["/aaa"], "/ccc", undefined],
];

let n = 0;
function ingress(spec: Record<string, any>, extra: Partial<KObject["metadata"]> = {}): KObject {
  n++;
  return { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { namespace: "default", name: `ing${n}`, creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(), ...extra }, spec };
}
const svcBackend = (name: string, port: number | string = 80) => ({ service: { name, port: typeof port === "number" ? { number: port } : { name: port } } });
const rule = (host: string | undefined, paths: [string, PathType, string][]) => ({ ...(host ? { host } : {}), http: { paths: paths.map(([path, pathType, svc]) => ({ path, pathType, backend: svcBackend(svc) })) } });
const routed = (t: ReturnType<typeof buildRouteTable>, host: string, path: string) => matchRoute(t, host, path)?.backend.service?.name;

test("path matching: the documented examples", () => {
  for (const [type, paths, req, want] of docExamples) {
    const t = buildRouteTable([ingress({ rules: [rule(undefined, paths.map((p) => [p, type, p]))] })]);
    const reqPath = req === "/ (all paths)" ? "/anything/at/all" : req;
    assert.equal(routed(t, "x", reqPath), want, `${type} ${paths.join(",")} on ${req}`);
  }
});

test("Exact beats Prefix at equal length; ImplementationSpecific is a string prefix", () => {
  const t = buildRouteTable([ingress({ rules: [rule(undefined, [["/foo", "Prefix", "prefix"], ["/foo", "Exact", "exact"], ["/img", "ImplementationSpecific", "impl"]])] })]);
  assert.equal(routed(t, "h", "/foo"), "exact");
  assert.equal(routed(t, "h", "/foo/x"), "prefix");
  assert.equal(routed(t, "h", "/imgs/a.png"), "impl");
  assert.equal(routed(t, "h", "/foo?x=1"), "exact");
  assert.ok(pathMatches("ImplementationSpecific", "/img", "/img2"));
  assert.ok(!pathMatches("Prefix", "/img", "/img2"));
});

test("hosts: exact beats wildcard beats none; wildcards cover one label; ports and case ignored", () => {
  const t = buildRouteTable([
    ingress({ rules: [rule("*.foo.com", [["/", "Prefix", "wild"]]), rule("bar.foo.com", [["/api", "Prefix", "bar-api"]]), rule(undefined, [["/", "Prefix", "catchall"]])] }),
  ]);
  assert.equal(routed(t, "bar.foo.com", "/api/v1"), "bar-api");
  // The exact host has no "/" rule: falls through to the wildcard.
  assert.equal(routed(t, "bar.foo.com", "/"), "wild");
  assert.equal(routed(t, "BAZ.foo.com:8080", "/x"), "wild");
  assert.equal(routed(t, "a.baz.foo.com", "/"), "catchall");
  assert.equal(routed(t, "foo.com", "/"), "catchall");
  assert.equal(normalizeHost("[::1]:443"), "::1");
  assert.equal(normalizeHost("Example.COM."), "example.com");
});

test("defaultBackend: the oldest wins and catches unmatched requests; none → no route", () => {
  const a = ingress({ defaultBackend: svcBackend("def-old"), rules: [rule("a.example.com", [["/", "Prefix", "a"]])] });
  const b = ingress({ defaultBackend: svcBackend("def-new") });
  const t = buildRouteTable([b, a]);
  assert.equal(routed(t, "a.example.com", "/x"), "a");
  assert.equal(routed(t, "b.example.com", "/x"), "def-old");
  const t2 = buildRouteTable([ingress({ rules: [rule("a.example.com", [["/", "Prefix", "a"]])] })]);
  assert.equal(matchRoute(t2, "b.example.com", "/"), undefined);
});

test("identical rules in two Ingresses: the older one wins", () => {
  const older = ingress({ rules: [rule("h.example.com", [["/", "Prefix", "older"]])] });
  const newer = ingress({ rules: [rule("h.example.com", [["/", "Prefix", "newer"]])] });
  assert.equal(routed(buildRouteTable([newer, older]), "h.example.com", "/"), "older");
});

test("named service ports and resource backends are kept", () => {
  const t = buildRouteTable([ingress({ rules: [{ http: { paths: [{ path: "/", pathType: "Prefix", backend: svcBackend("web", "http") }, { path: "/r", pathType: "Prefix", backend: { resource: { apiGroup: "k8s.example.com", kind: "StorageBucket", name: "b" } } }] } }] })]);
  assert.deepEqual(matchRoute(t, "x", "/")!.backend, { namespace: "default", service: { name: "web", port: { name: "http" } } });
  assert.equal(matchRoute(t, "x", "/r")!.backend.resource?.kind, "StorageBucket");
});

test("IngressClass selection", () => {
  const cls = (name: string, controller: string, isDefault = false): KObject => ({ metadata: { name, ...(isDefault ? { annotations: { "ingressclass.kubernetes.io/is-default-class": "true" } } : {}) }, spec: { controller } });
  const classes = [cls("tugboat", "tugboat.dev/ingress", true), cls("nginx", "k8s.io/ingress-nginx")];
  assert.equal(handlesIngress(ingress({ ingressClassName: "tugboat" }), classes), true);
  assert.equal(handlesIngress(ingress({ ingressClassName: "nginx" }), classes), false);
  assert.equal(handlesIngress(ingress({ ingressClassName: "missing" }), classes), false);
  assert.equal(handlesIngress(ingress({}), classes), true);
  assert.equal(handlesIngress(ingress({}, { annotations: { "kubernetes.io/ingress.class": "nginx" } }), classes), false);
  assert.equal(handlesIngress(ingress({}), [cls("tugboat", "tugboat.dev/ingress"), cls("nginx", "k8s.io/ingress-nginx", true)]), false);
  assert.equal(handlesIngress(ingress({}), [cls("tugboat", "tugboat.dev/ingress", true), cls("nginx", "k8s.io/ingress-nginx", true)]), false);
});
