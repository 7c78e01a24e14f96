// authentication.k8s.io/v1 over a real HTTPS API server: SelfSubjectReview through the
// real kubectl 1.32 (`kubectl auth whoami`, protobuf body) for the admin certificate and
// a service-account token; TokenReview for service-account tokens (default and custom
// audiences, bound pod extras), the join token, garbage and tampered tokens; bad
// requests and verbs; discovery (`kubectl api-resources`, serviceaccounts/token in
// /api/v1) and `kubectl create token`.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startTestApi, type TestApi } from "./testing.js";
import { ensurePKI, writeKubeconfig, type PKI } from "./pki.js";
import { ApiServer } from "./server.js";
import { TokenTable } from "./authn.js";
import { ServiceAccountTokenIssuer, setServiceAccountTokenIssuer } from "./tokenrequest.js";
import { request as httpsRequest } from "node:https";

const KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32";
const JOIN_TOKEN = "k2b-join-token-0123456789";

interface Reply {
  status: number;
  body: string;
  json(): any;
}

/** One HTTPS request with the admin certificate or a bearer token; any status is returned, not thrown. */
function call(port: number, pki: PKI, method: string, path: string, body?: unknown, headers: Record<string, string> = {}, bearer?: string): Promise<Reply> {
  const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        ca: pki.ca.certPem,
        ...(bearer ? { headers: { authorization: `Bearer ${bearer}`, ...headers } } : { cert: pki.admin.certPem, key: pki.admin.keyPem, headers: { ...(data ? { "content-type": "application/json" } : {}), ...headers } }),
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, json: () => JSON.parse(text) }));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

function kubectl(kubeconfig: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(KUBECTL, ["--kubeconfig", kubeconfig, ...args], { timeout: 30_000, env: { ...process.env, HOME: join(kubeconfig, "..") } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

describe("authentication.k8s.io/v1", () => {
  let api: TestApi;
  let pki: PKI;
  let server: ApiServer;
  let kubeconfig: string;
  const admin = { request: (method: string, path: string, o: { body?: string; headers?: Record<string, string> } = {}) => call(server.port, pki, method, path, o.body, o.headers) };
  const post = (path: string, body: unknown) => call(server.port, pki, "POST", path, body);

  before(async () => {
    api = await startTestApi({ serviceAccounts: true });
    pki = await ensurePKI(join(api.dir, "data"), {});
    setServiceAccountTokenIssuer(api.registry, ServiceAccountTokenIssuer.load(pki.dir));
    server = new ApiServer({ registry: api.registry, pki, host: "127.0.0.1", port: 0, tokens: new TokenTable([[JOIN_TOKEN, { name: "system:bootstrap:k2b", groups: ["system:bootstrappers"] }]]) });
    await server.listen();
    kubeconfig = join(api.dir, "kubeconfig.yaml");
    writeKubeconfig(kubeconfig, { server: `https://127.0.0.1:${server.port}`, caPem: pki.ca.certPem, certPem: pki.admin.certPem, keyPem: pki.admin.keyPem });
    await api.client.create("v1/serviceaccounts", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "robot", namespace: "default" } });
  });

  after(async () => {
    await server?.close();
    await api?.close();
  });

  const token = async (sa: string, spec: Record<string, unknown> = {}): Promise<string> => {
    const tr: any = await api.client.createSubresource("v1/serviceaccounts", "default", sa, "token", { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", metadata: {}, spec });
    return tr.status.token;
  };

  it("kubectl auth whoami names the admin certificate's user and groups", { skip: !existsSync(KUBECTL) && "kubectl 1.32 not installed" }, async () => {
    const r = await kubectl(kubeconfig, ["auth", "whoami", "-o", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const review = JSON.parse(r.stdout);
    assert.equal(review.kind, "SelfSubjectReview");
    assert.equal(review.apiVersion, "authentication.k8s.io/v1");
    // Tugboat's admin certificate is CN=admin, O=system:masters (pki.ts; kubeadm names it kubernetes-admin).
    assert.deepEqual(review.status.userInfo, { username: "admin", groups: ["system:masters", "system:authenticated"] });
    const table = await kubectl(kubeconfig, ["auth", "whoami"]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /Username\s+admin\n/);
    assert.match(table.stdout, /Groups\s+\[system:masters system:authenticated\]/);
  });

  it("kubectl auth whoami with a service-account token", { skip: !existsSync(KUBECTL) && "kubectl 1.32 not installed" }, async () => {
    const t = await token("robot");
    const robot = await api.client.get("v1/serviceaccounts", "default", "robot");
    // --token replaces the client certificate only when the kubeconfig has none: use a bare one.
    const bare = join(api.dir, "bare.yaml");
    writeKubeconfig(bare, { server: `https://127.0.0.1:${server.port}`, caPem: pki.ca.certPem, token: t });
    const r = await kubectl(bare, ["auth", "whoami", "-o", "json", "--token", t]);
    assert.equal(r.code, 0, r.stderr);
    const u = JSON.parse(r.stdout).status.userInfo;
    assert.equal(u.username, "system:serviceaccount:default:robot");
    assert.equal(u.uid, robot.metadata.uid);
    assert.deepEqual(u.groups, ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]);
  });

  it("kubectl create token default returns a token the API accepts", { skip: !existsSync(KUBECTL) && "kubectl 1.32 not installed" }, async () => {
    const r = await kubectl(kubeconfig, ["create", "token", "default", "--duration", "15m"]);
    assert.equal(r.code, 0, r.stderr);
    const t = r.stdout.trim();
    assert.equal(t.split(".").length, 3);
    // A TokenReview from a file. kubectl detects server-side field validation only from a
    // PATCH operation in the OpenAPI v3 document, so for create-only kinds it validates
    // client-side with OpenAPI v2, which tug does not serve: hence --validate=false.
    const file = join(api.dir, "review.yaml");
    writeFileSync(file, `apiVersion: authentication.k8s.io/v1\nkind: TokenReview\nspec:\n  token: ${t}\n`);
    const created = await kubectl(kubeconfig, ["create", "--validate=false", "-f", file, "-o", "json"]);
    assert.equal(created.code, 0, created.stderr);
    const review = JSON.parse(created.stdout);
    assert.equal(review.status.authenticated, true);
    assert.equal(review.status.user.username, "system:serviceaccount:default:default");
    const explain = await kubectl(kubeconfig, ["explain", "tokenreview.spec"]);
    assert.equal(explain.code, 0, explain.stderr);
    assert.match(explain.stdout, /token\s+<string>/);
  });

  it("TokenReview authenticates service-account tokens for the requested audiences", async () => {
    await api.client.create("v1/pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "p1", namespace: "default" }, spec: { serviceAccountName: "robot", automountServiceAccountToken: false, containers: [{ name: "c", image: "busybox" }] } });
    const pod = await api.client.get("v1/pods", "default", "p1");
    const bound = await token("robot", { boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "p1", uid: pod.metadata.uid } });
    const r = await post("/apis/authentication.k8s.io/v1/tokenreviews", { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token: bound } });
    assert.equal(r.status, 201, r.body);
    const review = r.json();
    assert.equal(review.kind, "TokenReview");
    assert.equal(review.spec.token, bound);
    assert.equal(review.status.authenticated, true);
    assert.deepEqual(review.status.audiences, ["https://kubernetes.default.svc.cluster.local"]);
    assert.equal(review.status.user.username, "system:serviceaccount:default:robot");
    assert.deepEqual(review.status.user.groups, ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]);
    assert.deepEqual(review.status.user.extra["authentication.kubernetes.io/pod-name"], ["p1"]);
    assert.deepEqual(review.status.user.extra["authentication.kubernetes.io/pod-uid"], [pod.metadata.uid]);
    assert.match(review.status.user.extra["authentication.kubernetes.io/credential-id"][0], /^JTI=/);

    // A token for another audience is valid only when the review asks for that audience.
    const vault = await token("robot", { audiences: ["vault", "other"] });
    const forVault = (await post("/apis/authentication.k8s.io/v1/tokenreviews", { kind: "TokenReview", apiVersion: "authentication.k8s.io/v1", spec: { token: vault, audiences: ["vault"] } })).json();
    assert.equal(forVault.status.authenticated, true);
    assert.deepEqual(forVault.status.audiences, ["vault"]);
    const forAPI = (await post("/apis/authentication.k8s.io/v1/tokenreviews", { kind: "TokenReview", apiVersion: "authentication.k8s.io/v1", spec: { token: vault } })).json();
    assert.equal(forAPI.status.authenticated, undefined);
    assert.equal(forAPI.status.error, "invalid bearer token");
    // Neither does it work as a credential against the API server.
    assert.equal((await call(server.port, pki, "GET", "/api/v1/namespaces/default/pods", undefined, {}, vault)).status, 401);
    assert.equal((await call(server.port, pki, "GET", "/api/v1/namespaces/default/pods", undefined, {}, bound)).status, 200);
  });

  it("TokenReview of the join token, garbage and tampered tokens", async () => {
    const join = (await post("/apis/authentication.k8s.io/v1/tokenreviews", { kind: "TokenReview", apiVersion: "authentication.k8s.io/v1", spec: { token: JOIN_TOKEN } })).json();
    assert.equal(join.status.authenticated, true);
    assert.deepEqual(join.status.user, { username: "system:bootstrap:k2b", groups: ["system:bootstrappers", "system:authenticated"] });
    // Static tokens hold for the API server's audiences only.
    const joinElsewhere = (await post("/apis/authentication.k8s.io/v1/tokenreviews", { kind: "TokenReview", apiVersion: "authentication.k8s.io/v1", spec: { token: JOIN_TOKEN, audiences: ["vault"] } })).json();
    assert.equal(joinElsewhere.status.authenticated, undefined);

    const garbage = (await post("/apis/authentication.k8s.io/v1/tokenreviews", { kind: "TokenReview", apiVersion: "authentication.k8s.io/v1", spec: { token: "not-a-token" } })).json();
    assert.deepEqual(garbage.status, { user: {} });

    const t = await token("robot");
    const [h, p] = t.split(".");
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString());
    claims.sub = "system:serviceaccount:kube-system:admin";
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${t.split(".")[2]}`;
    const tampered = (await post("/apis/authentication.k8s.io/v1/tokenreviews", { kind: "TokenReview", apiVersion: "authentication.k8s.io/v1", spec: { token: forged } })).json();
    assert.deepEqual(tampered.status, { user: {}, error: "invalid bearer token" });
  });

  it("refuses bad requests and other verbs with Status errors", async () => {
    const noToken = await post("/apis/authentication.k8s.io/v1/tokenreviews", { kind: "TokenReview", apiVersion: "authentication.k8s.io/v1", spec: {} });
    assert.equal(noToken.status, 400);
    assert.equal(noToken.json().message, "token is required for TokenReview in authentication.k8s.io/v1");
    const wrongKind = await post("/apis/authentication.k8s.io/v1/tokenreviews", { kind: "Pod", apiVersion: "v1", spec: { token: "x" } });
    assert.equal(wrongKind.status, 400);
    assert.match(wrongKind.json().message, /does not match the expected/);
    const badJSON = await post("/apis/authentication.k8s.io/v1/selfsubjectreviews", "{");
    assert.equal(badJSON.status, 400);
    assert.equal((await admin.request("GET", "/apis/authentication.k8s.io/v1/tokenreviews")).status, 405);
    assert.equal((await admin.request("DELETE", "/apis/authentication.k8s.io/v1/selfsubjectreviews")).status, 405);
    assert.equal((await admin.request("GET", "/apis/authentication.k8s.io/v1/tokenreviews/x")).status, 404);
    assert.equal((await admin.request("POST", "/apis/authentication.k8s.io/v1/namespaces/default/tokenreviews", { body: "{}" })).status, 404);
    // Nothing is stored: no list, no watch, no name.
    const self = await post("/apis/authentication.k8s.io/v1/selfsubjectreviews", { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" });
    assert.equal(self.status, 201);
    assert.equal(self.json().metadata.resourceVersion, undefined);
  });

  it("discovery lists tokenreviews, selfsubjectreviews and serviceaccounts/token", async () => {
    const group = (await admin.request("GET", "/apis/authentication.k8s.io/v1")).json();
    assert.deepEqual(
      group.resources.map((r: any) => [r.name, r.kind, r.namespaced, r.verbs]),
      [
        ["selfsubjectreviews", "SelfSubjectReview", false, ["create"]],
        ["tokenreviews", "TokenReview", false, ["create"]],
      ],
    );
    const core = (await admin.request("GET", "/api/v1")).json();
    const sub = core.resources.find((r: any) => r.name === "serviceaccounts/token");
    assert.deepEqual(sub, { name: "serviceaccounts/token", singularName: "", namespaced: true, group: "authentication.k8s.io", version: "v1", kind: "TokenRequest", verbs: ["create"] });
    const agg = (await admin.request("GET", "/api", { headers: { accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" } })).json();
    const sa = agg.items[0].versions[0].resources.find((r: any) => r.resource === "serviceaccounts");
    assert.deepEqual(sa.subresources, [{ subresource: "token", responseKind: { group: "authentication.k8s.io", version: "v1", kind: "TokenRequest" }, verbs: ["create"] }]);
    if (existsSync(KUBECTL)) {
      const r = await kubectl(kubeconfig, ["api-resources", "--api-group", "authentication.k8s.io"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /selfsubjectreviews\s+authentication\.k8s\.io\/v1\s+false\s+SelfSubjectReview/);
      assert.match(r.stdout, /tokenreviews\s+authentication\.k8s\.io\/v1\s+false\s+TokenReview/);
    }
  });
});
