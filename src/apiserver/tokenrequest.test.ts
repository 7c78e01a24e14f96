// TokenRequest and service-account token authentication over a real HTTPS API server:
// a token asked for through serviceaccounts/NAME/token lets a pod-style client (bearer
// token only, no client certificate) read pods; tampered, expired and foreign-audience
// tokens are refused; bad requests get Status errors naming the field.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { startTestApi, type TestApi } from "./testing.js";
import { ensurePKI, type PKI } from "./pki.js";
import { ApiServer } from "./server.js";
import { createHttpClient, type HttpClient } from "../client/http.js";
import { ServiceAccountTokenIssuer, setServiceAccountTokenIssuer, MIN_TOKEN_EXPIRATION_SECONDS, decodeTokenRequestBody } from "./tokenrequest.js";
import type { KObject } from "../apimachinery/types.js";

describe("serviceaccounts/token", () => {
  let api: TestApi;
  let pki: PKI;
  let server: ApiServer;
  let admin: HttpClient;
  let issuer: ServiceAccountTokenIssuer;
  let url: string;

  before(async () => {
    api = await startTestApi({ serviceAccounts: true });
    pki = await ensurePKI(join(api.dir, "data"), {});
    issuer = ServiceAccountTokenIssuer.load(pki.dir);
    setServiceAccountTokenIssuer(api.registry, issuer);
    server = new ApiServer({ registry: api.registry, pki, host: "127.0.0.1", port: 0 });
    await server.listen();
    url = `https://127.0.0.1:${server.port}`;
    admin = createHttpClient({ server: url, ca: pki.ca.certPem, cert: pki.admin.certPem, key: pki.admin.keyPem });
    for (const name of ["builder"]) await api.client.create("v1/serviceaccounts", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: "default" } });
    await api.client.create("v1/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p1", namespace: "default" },
      spec: { serviceAccountName: "builder", containers: [{ name: "c", image: "busybox" }] },
    });
  });

  after(async () => {
    admin?.close();
    await server?.close();
    await api?.close();
  });

  const tokenRequest = (spec: Record<string, unknown>): KObject => ({ apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", metadata: {}, spec }) as KObject;

  it("keeps its signing key in the PKI dir and reloads the same key", () => {
    const key = join(pki.dir, "sa.key");
    assert.ok(existsSync(key));
    assert.equal(statSync(key).mode & 0o777, 0o600);
    assert.equal(ServiceAccountTokenIssuer.load(pki.dir).keyId, issuer.keyId);
  });

  it("issues a pod-bound token over HTTP that authenticates a pod-style client", async () => {
    const pod = await api.client.get("v1/pods", "default", "p1");
    const sa = await api.client.get("v1/serviceaccounts", "default", "builder");
    const tr = await admin.createSubresource("v1/serviceaccounts", "default", "builder", "token", tokenRequest({ boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "p1", uid: pod.metadata.uid } }));
    assert.equal(tr.kind, "TokenRequest");
    assert.equal((tr as any).spec.expirationSeconds, 3600);
    assert.deepEqual((tr as any).spec.audiences, ["https://kubernetes.default.svc.cluster.local"]);
    const token: string = (tr as any).status.token;
    const exp = Date.parse((tr as any).status.expirationTimestamp);
    assert.ok(Math.abs(exp - Date.now() - 3600_000) < 5000);

    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    assert.equal(claims.sub, "system:serviceaccount:default:builder");
    assert.equal(claims.iss, "https://kubernetes.default.svc.cluster.local");
    assert.deepEqual(claims["kubernetes.io"], { namespace: "default", serviceaccount: { name: "builder", uid: sa.metadata.uid }, pod: { name: "p1", uid: pod.metadata.uid } });
    assert.equal(claims.exp - claims.iat, 3600);

    const podClient = createHttpClient({ server: url, ca: pki.ca.certPem, token });
    try {
      const pods = await podClient.list("v1/pods", { namespace: "default" });
      assert.deepEqual(pods.items.map((p) => p.metadata.name), ["p1"]);
    } finally {
      podClient.close();
    }
    assert.deepEqual(issuer.authenticate(token), {
      name: "system:serviceaccount:default:builder",
      uid: sa.metadata.uid,
      groups: ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"],
    });
  });

  it("refuses tampered, expired, foreign-audience and foreign-key tokens", async () => {
    const tr = await api.client.createSubresource("v1/serviceaccounts", "default", "builder", "token", tokenRequest({ expirationSeconds: 600 }));
    const token: string = (tr as any).status.token;
    const [h, p, s] = token.split(".");
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: "system:serviceaccount:kube-system:admin" })).toString("base64url")}.${s}`;
    const later = new ServiceAccountTokenIssuer((issuer as any).privateKey, { now: () => Date.now() + 700_000 });
    const other = ServiceAccountTokenIssuer.load(join(api.dir, "other-pki"));
    const narrow = new ServiceAccountTokenIssuer((issuer as any).privateKey, { audiences: ["vault"] });
    assert.ok(issuer.authenticate(token));
    assert.equal(issuer.authenticate(forged), undefined);
    assert.equal(later.authenticate(token), undefined, "expired");
    assert.equal(other.authenticate(token), undefined, "other key");
    assert.equal(narrow.authenticate(token), undefined, "audience");

    for (const bad of [forged, "not-a-jwt", `${h}.${p}.`]) {
      const c = createHttpClient({ server: url, ca: pki.ca.certPem, token: bad });
      try {
        await assert.rejects(c.list("v1/pods", { namespace: "default" }), (e: any) => e.code === 401);
      } finally {
        c.close();
      }
    }
  });

  it("a pod-bound token stops working once its pod is deleted", async () => {
    await api.client.create("v1/pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "short", namespace: "default" }, spec: { serviceAccountName: "builder", containers: [{ name: "c", image: "busybox" }] } });
    const tr = await api.client.createSubresource("v1/serviceaccounts", "default", "builder", "token", tokenRequest({ boundObjectRef: { kind: "Pod", name: "short" } }));
    const token: string = (tr as any).status.token;
    assert.ok(issuer.authenticate(token));
    await new Promise((r) => setTimeout(r, 50)); // the background liveness lookup completes
    assert.ok(issuer.authenticate(token));
    await api.client.delete("v1/pods", "default", "short", { gracePeriodSeconds: 0 });
    // Cached liveness expires after 10 s; a fresh issuer over the same key looks again at once.
    const fresh = ServiceAccountTokenIssuer.load(pki.dir);
    setServiceAccountTokenIssuer(api.registry, fresh);
    try {
      fresh.authenticate(token);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(fresh.authenticate(token), undefined);
      const c = createHttpClient({ server: url, ca: pki.ca.certPem, token });
      try {
        await assert.rejects(c.list("v1/pods", { namespace: "default" }), (e: any) => e.code === 401);
      } finally {
        c.close();
      }
    } finally {
      setServiceAccountTokenIssuer(api.registry, issuer);
    }
  });

  it("honours audiences and rejects bad requests with field errors", async () => {
    const tr = await api.client.createSubresource("v1/serviceaccounts", "default", "builder", "token", tokenRequest({ audiences: ["vault"], expirationSeconds: 7200 }));
    const claims = JSON.parse(Buffer.from((tr as any).status.token.split(".")[1], "base64url").toString());
    assert.deepEqual(claims.aud, ["vault"]);
    assert.equal(claims.exp - claims.iat, 7200);
    // A token for another audience does not authenticate to the API server.
    assert.equal(issuer.authenticate((tr as any).status.token), undefined);

    await assert.rejects(
      admin.createSubresource("v1/serviceaccounts", "default", "builder", "token", tokenRequest({ expirationSeconds: MIN_TOKEN_EXPIRATION_SECONDS - 1 })),
      (e: any) => e.code === 422 && /spec\.expirationSeconds/.test(e.message) && /less than 10 minutes/.test(e.message),
    );
    await assert.rejects(admin.createSubresource("v1/serviceaccounts", "default", "nobody", "token", tokenRequest({})), (e: any) => e.code === 404);
    await assert.rejects(admin.createSubresource("v1/serviceaccounts", "default", "builder", "token", tokenRequest({ boundObjectRef: { kind: "Pod", name: "p1", uid: "wrong" } })), (e: any) => e.code === 409);
    await assert.rejects(admin.createSubresource("v1/serviceaccounts", "default", "default", "token", tokenRequest({ boundObjectRef: { kind: "Pod", name: "p1" } })), (e: any) => e.code === 400 && /different serviceaccount/.test(e.message));
    await assert.rejects(admin.createSubresource("v1/serviceaccounts", "default", "builder", "token", tokenRequest({ boundObjectRef: { kind: "ConfigMap", name: "x" } })), (e: any) => e.code === 400);
    await assert.rejects(admin.request("GET", "/api/v1/namespaces/default/serviceaccounts/builder/token"), (e: any) => e.code === 405);
  });

  it("decodes the protobuf TokenRequest kubectl sends", () => {
    // Captured from `kubectl create token default --duration 20m --audience foo
    // --bound-object-kind Pod --bound-object-name p1 --bound-object-uid u1` (kubectl 1.32).
    const hex =
      "6b3873000a280a1861757468656e7469636174696f6e2e6b38732e696f2f7631120c546f6b656e5265717565737412350a100a0012001a0022002a00320038004200121b0a03666f6f1a110a03506f64120276311a0270312202753120b0091a040a0012001a002200";
    const tr = decodeTokenRequestBody(Buffer.from(hex, "hex"), "application/vnd.kubernetes.protobuf") as any;
    assert.equal(tr.kind, "TokenRequest");
    assert.equal(tr.apiVersion, "authentication.k8s.io/v1");
    assert.deepEqual(tr.spec, { audiences: ["foo"], boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "p1", uid: "u1" }, expirationSeconds: 1200 });
    assert.throws(() => decodeTokenRequestBody(Buffer.from("6b38730012", "hex"), "application/vnd.kubernetes.protobuf"), (e: any) => e.code === 400);
    assert.deepEqual(decodeTokenRequestBody(Buffer.from('{"spec":{"audiences":["a"]}}'), "application/json"), { spec: { audiences: ["a"] } });
  });
});
