import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { BadRequest } from "../apimachinery/errors.js";
import { loadKubeconfig, renderKubeconfig, serverURL, writeKubeconfig } from "./kubeconfig.js";

const CA = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
const CERT = "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n";

describe("kubeconfig", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "tug-kc-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("round-trips what writeKubeconfig writes, with mode 0600", () => {
    const p = join(dir, "admin.yaml");
    writeKubeconfig(p, { server: "https://127.0.0.1:6443", caPem: CA, certPem: CERT, keyPem: KEY });
    assert.equal(statSync(p).mode & 0o777, 0o600);
    assert.deepEqual(loadKubeconfig(p), { server: "https://127.0.0.1:6443", context: "tugboat", ca: CA, cert: CERT, key: KEY });
    const t = join(dir, "token.yaml");
    writeKubeconfig(t, { server: "https://[::1]:6443/", caPem: CA, token: "abc", user: "agent", namespace: "kube-system" });
    assert.deepEqual(loadKubeconfig(t), { server: "https://[::1]:6443", context: "tugboat", ca: CA, token: "abc", namespace: "kube-system" });
  });

  it("resolves file paths relative to the kubeconfig and reads tokenFile", () => {
    const sub = join(dir, "rel");
    mkdirSync(join(sub, "certs"), { recursive: true });
    writeFileSync(join(sub, "certs", "ca.crt"), CA);
    writeFileSync(join(sub, "certs", "me.crt"), CERT);
    writeFileSync(join(sub, "certs", "me.key"), KEY);
    writeFileSync(join(sub, "tok"), "tok-123\n");
    const p = join(sub, "config");
    writeFileSync(
      p,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          { name: "a", cluster: { server: "https://a:6443", "certificate-authority": "certs/ca.crt" } },
          { name: "b", cluster: { server: "https://b:6443", "insecure-skip-tls-verify": true } },
        ],
        users: [
          { name: "me", user: { "client-certificate": "certs/me.crt", "client-key": join(sub, "certs", "me.key") } },
          { name: "bot", user: { tokenFile: "tok" } },
        ],
        contexts: [
          { name: "ca", context: { cluster: "a", user: "me" } },
          { name: "cb", context: { cluster: "b", user: "bot", namespace: "dev" } },
        ],
        "current-context": "ca",
      }),
    );
    assert.deepEqual(loadKubeconfig(p), { server: "https://a:6443", context: "ca", ca: CA, cert: CERT, key: KEY });
    assert.deepEqual(loadKubeconfig(p, { context: "cb" }), { server: "https://b:6443", context: "cb", insecure: true, namespace: "dev", token: "tok-123" });
  });

  it("merges several files with the first definition winning", () => {
    const first = join(dir, "first.yaml");
    const second = join(dir, "second.yaml");
    writeFileSync(first, stringify({ "current-context": "x", contexts: [{ name: "x", context: { cluster: "c2", user: "u" } }] }));
    writeKubeconfig(second, { server: "https://second:1", caPem: CA, token: "t2", cluster: "c2", user: "u" });
    const kc = loadKubeconfig([first, second]);
    assert.equal(kc.server, "https://second:1");
    assert.equal(kc.token, "t2");
    assert.equal(kc.context, "x");
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = [first, second].join(delimiter);
    try {
      assert.equal(loadKubeconfig().server, "https://second:1");
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });

  it("names the offending field in errors", () => {
    const p = join(dir, "bad.yaml");
    const expectError = (doc: unknown, re: RegExp, ctx?: string) => {
      writeFileSync(p, typeof doc === "string" ? doc : stringify(doc));
      assert.throws(() => loadKubeconfig(p, ctx ? { context: ctx } : {}), (e) => e instanceof BadRequest && re.test(e.message));
    };
    expectError({ clusters: [] }, /current-context is not set/);
    expectError({ "current-context": "nope" }, /contexts\[name=nope\] not found/);
    expectError({ "current-context": "c", contexts: [{ name: "c", context: { cluster: "k" } }] }, /clusters\[name=k\] not found/);
    expectError({ "current-context": "c", contexts: [{ name: "c", context: { cluster: "k" } }], clusters: [{ name: "k", cluster: { server: "ftp://x" } }] }, /cluster\.server/);
    expectError(
      { "current-context": "c", contexts: [{ name: "c", context: { cluster: "k", user: "u" } }], clusters: [{ name: "k", cluster: { server: "https://x" } }], users: [{ name: "u", user: { "client-certificate": "missing.crt" } }] },
      /users\[name=u\]\.user\.client-certificate: cannot read/,
    );
    expectError("clusters: {a: 1}", /clusters must be a list/);
    expectError(": : :\n  - [", /not valid YAML/);
    assert.throws(() => loadKubeconfig(join(dir, "absent")), (e) => e instanceof BadRequest && /file not found/.test(e.message));
  });

  it("renders the documented shape", () => {
    const text = renderKubeconfig({ server: "https://h:1", caPem: CA, certPem: CERT, keyPem: KEY });
    assert.match(text, /certificate-authority-data: /);
    assert.match(text, /client-certificate-data: /);
    assert.match(text, /client-key-data: /);
    assert.match(text, /current-context: tugboat/);
  });

  it("builds server URLs from listen addresses", () => {
    assert.equal(serverURL("0.0.0.0", 6443), "https://127.0.0.1:6443");
    assert.equal(serverURL("::", 6443), "https://[::1]:6443");
    assert.equal(serverURL("10.0.0.1", 1), "https://10.0.0.1:1");
    assert.equal(serverURL("fd00::2", 1), "https://[fd00::2]:1");
    assert.equal(serverURL("[fd00::2]", 1), "https://[fd00::2]:1");
  });
});
