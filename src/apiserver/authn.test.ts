import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ensurePKI, type PKI } from "./pki.js";
import { authenticate, TokenTable, type UserInfo } from "./authn.js";

interface Seen {
  user: UserInfo | undefined;
  fromTable: UserInfo | undefined;
}

describe("authn", () => {
  let dir: string;
  let pki: PKI;
  let foreign: PKI;
  let server: https.Server;
  let port: number;
  const tokens = new Map<string, UserInfo>();
  const table = new TokenTable();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "tug-authn-"));
    pki = await ensurePKI(join(dir, "a"), {});
    foreign = await ensurePKI(join(dir, "b"), {});
    tokens.set(pki.token, { name: "system:bootstrap:join", groups: ["system:bootstrappers"] });
    tokens.set("sa-token-123", { name: "system:serviceaccount:default:builder", groups: ["system:serviceaccounts"], uid: "u-1" });
    table.set("sa-token-123", { name: "system:serviceaccount:default:builder", groups: ["system:serviceaccounts"] });
    server = https.createServer(
      { cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.ca.certPem, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        const seen: Seen = { user: authenticate(req, { tokens }), fromTable: authenticate(req, { tokens: table }) };
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(seen));
      },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  function call(opts: { cert?: string; key?: string; headers?: Record<string, string> } = {}): Promise<Seen> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        { host: "127.0.0.1", port, path: "/api", ca: pki.ca.certPem, cert: opts.cert, key: opts.key, headers: opts.headers, agent: false },
        (res) => {
          let body = "";
          res.on("data", (c) => (body += c));
          res.on("end", () => resolve(JSON.parse(body)));
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  it("maps a verified client certificate to user CN and groups O", async () => {
    const seen = await call({ cert: pki.admin.certPem, key: pki.admin.keyPem });
    assert.deepEqual(seen.user, { name: "admin", groups: ["system:masters", "system:authenticated"] });
  });

  it("reads several organisations as several groups", async () => {
    const node = await pki.issueClientCert("system:node:n1", ["system:nodes", "tug:agents"]);
    const seen = await call({ cert: node.certPem, key: node.keyPem });
    assert.deepEqual(seen.user, { name: "system:node:n1", groups: ["system:nodes", "tug:agents", "system:authenticated"] });
  });

  it("ignores a certificate from another CA", async () => {
    const seen = await call({ cert: foreign.admin.certPem, key: foreign.admin.keyPem });
    assert.equal(seen.user, undefined);
  });

  it("accepts known bearer tokens", async () => {
    const join = await call({ headers: { Authorization: `Bearer ${pki.token}` } });
    assert.deepEqual(join.user, { name: "system:bootstrap:join", groups: ["system:bootstrappers", "system:authenticated"] });
    const sa = await call({ headers: { Authorization: "Bearer sa-token-123" } });
    assert.deepEqual(sa.user, { name: "system:serviceaccount:default:builder", groups: ["system:serviceaccounts", "system:authenticated"], uid: "u-1" });
    assert.equal(sa.fromTable?.name, "system:serviceaccount:default:builder");
  });

  it("rejects unknown tokens, malformed headers and anonymous requests", async () => {
    assert.equal((await call({ headers: { Authorization: "Bearer sa-token-124" } })).user, undefined);
    assert.equal((await call({ headers: { Authorization: "Bearer sa-token-12" } })).fromTable, undefined);
    assert.equal((await call({ headers: { Authorization: "Basic YWRtaW46YWRtaW4=" } })).user, undefined);
    assert.equal((await call({ headers: { Authorization: "Bearer" } })).user, undefined);
    assert.equal((await call()).user, undefined);
  });

  it("accepts a token in the websocket bearer subprotocol", async () => {
    const proto = `v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.${Buffer.from("sa-token-123").toString("base64url")}`;
    const seen = await call({ headers: { "Sec-WebSocket-Protocol": proto } });
    assert.equal(seen.user?.name, "system:serviceaccount:default:builder");
  });

  it("TokenTable supports revocation", () => {
    const t = new TokenTable([["x", { name: "x", groups: [] }]]);
    assert.equal(t.lookup("x")?.name, "x");
    assert.equal(t.size, 1);
    t.delete("x");
    assert.equal(t.lookup("x"), undefined);
  });
});
