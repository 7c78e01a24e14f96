import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ensurePKI, servingHosts, type PKI } from "./pki.js";
import { loadKubeconfig } from "../client/kubeconfig.js";

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

describe("pki", () => {
  let dir: string;
  let pki: PKI;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "tug-pki-"));
    pki = await ensurePKI(dir, { hosts: ["10.1.2.3", "Tug.Example"], server: "https://127.0.0.1:6443" });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("creates a CA whose serving cert verifies for loopback, hostname and the requested hosts", () => {
    const ca = new X509Certificate(pki.ca.certPem);
    const srv = new X509Certificate(pki.server.certPem);
    assert.equal(ca.ca, true);
    assert.ok(ca.verify(ca.publicKey), "CA is self-signed");
    assert.ok(srv.checkIssued(ca));
    assert.ok(srv.verify(ca.publicKey));
    assert.equal(srv.ca, false);
    for (const ip of ["127.0.0.1", "::1", "10.1.2.3"]) assert.equal(srv.checkIP(ip), ip, ip);
    for (const h of ["localhost", hostname().toLowerCase(), "tug.example"]) assert.ok(srv.checkHost(h), h);
    assert.equal(srv.checkHost("other.example"), undefined);
    assert.deepEqual(srv.keyUsage, [SERVER_AUTH]);
    assert.ok(pki.serverHosts.includes("::1") && pki.serverHosts.includes("10.1.2.3"));
    const tenYears = Date.parse(ca.validTo) - Date.now();
    assert.ok(tenYears > 9.9 * 365 * 86_400_000);
  });

  it("issues the admin client cert as CN=admin, O=system:masters", () => {
    const ca = new X509Certificate(pki.ca.certPem);
    const admin = new X509Certificate(pki.admin.certPem);
    assert.ok(admin.verify(ca.publicKey));
    assert.match(admin.subject, /^O=system:masters$/m);
    assert.match(admin.subject, /^CN=admin$/m);
    assert.deepEqual(admin.keyUsage, [CLIENT_AUTH]);
  });

  it("stores keys with mode 0600 and a token", () => {
    for (const f of ["ca.key", "server.key", "admin.key", "token"]) {
      assert.equal(statSync(join(dir, "pki", f)).mode & 0o777, 0o600, f);
    }
    assert.equal(readFileSync(join(dir, "pki", "ca.crt"), "utf8"), pki.ca.certPem);
    assert.ok(pki.token.length >= 32);
    assert.equal(readFileSync(join(dir, "pki", "token"), "utf8").trim(), pki.token);
  });

  it("reloads the same material quickly", async () => {
    const t0 = performance.now();
    const again = await ensurePKI(dir, { hosts: ["10.1.2.3", "tug.example"] });
    const ms = performance.now() - t0;
    assert.equal(again.ca.certPem, pki.ca.certPem);
    assert.equal(again.server.certPem, pki.server.certPem);
    assert.equal(again.server.keyPem, pki.server.keyPem);
    assert.equal(again.admin.keyPem, pki.admin.keyPem);
    assert.equal(again.token, pki.token);
    assert.ok(ms < 100, `reload took ${ms.toFixed(1)} ms`);
  });

  it("reissues only the serving cert when a requested host is missing", async () => {
    const more = await ensurePKI(dir, { hosts: ["10.1.2.3", "tug.example", "10.9.9.9", "api.other"] });
    assert.equal(more.ca.certPem, pki.ca.certPem);
    assert.equal(more.admin.certPem, pki.admin.certPem);
    assert.notEqual(more.server.certPem, pki.server.certPem);
    const srv = new X509Certificate(more.server.certPem);
    assert.equal(srv.checkIP("10.9.9.9"), "10.9.9.9");
    assert.ok(srv.checkHost("api.other"));
    assert.ok(srv.verify(new X509Certificate(more.ca.certPem).publicKey));
    // A later start asking for fewer hosts keeps the wider certificate.
    const fewer = await ensurePKI(dir, { hosts: [] });
    assert.equal(fewer.server.certPem, more.server.certPem);
  });

  it("replaces a corrupt serving cert", async () => {
    writeFileSync(join(dir, "pki", "server.crt"), "garbage");
    const fixed = await ensurePKI(dir, {});
    assert.ok(new X509Certificate(fixed.server.certPem).verify(new X509Certificate(fixed.ca.certPem).publicKey));
    assert.equal(fixed.ca.certPem, pki.ca.certPem);
  });

  it("issues node client certs and serving certs from the CA", async () => {
    const ca = new X509Certificate(pki.ca.certPem);
    const node = await pki.issueClientCert("system:node:n1", ["system:nodes"]);
    const c = new X509Certificate(node.certPem);
    assert.ok(c.verify(ca.publicKey));
    assert.match(c.subject, /CN=system:node:n1/);
    assert.match(c.subject, /O=system:nodes/);
    const serving = await pki.issueServingCert(["n1", "10.0.0.7"]);
    const s = new X509Certificate(serving.certPem);
    assert.ok(s.verify(ca.publicKey));
    assert.equal(s.checkIP("10.0.0.7"), "10.0.0.7");
    assert.deepEqual(s.keyUsage, [SERVER_AUTH]);
  });

  it("writes an admin kubeconfig that parses back", () => {
    const path = join(dir, "kubeconfig.yaml");
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const kc = loadKubeconfig(path);
    assert.equal(kc.server, "https://127.0.0.1:6443");
    assert.equal(kc.ca, pki.ca.certPem);
    assert.equal(kc.cert, pki.admin.certPem);
    assert.equal(kc.key, pki.admin.keyPem);
    assert.equal(kc.context, "tugboat");
    const text = readFileSync(path, "utf8");
    assert.match(text, /current-context: tugboat/);
    assert.match(text, /name: admin/);
  });

  it("expands unspecified listen addresses to interface addresses", () => {
    const hosts = servingHosts(["0.0.0.0", "[fd00::1]"]);
    assert.ok(hosts.includes("127.0.0.1"));
    assert.ok(hosts.includes("fd00::1"));
    assert.ok(!hosts.includes("0.0.0.0"));
  });
});
