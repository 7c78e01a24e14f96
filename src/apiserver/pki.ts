// The cluster's public-key infrastructure: one self-signed CA, the API server's serving
// certificate, the admin client certificate and a join token, in the layout k3s and
// kubeadm use (https://kubernetes.io/docs/setup/best-practices/certificates/). Client
// certificates carry the user in CN and the groups in O, which is how the API server's
// X509 authenticator reads them
// (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#x509-client-certificates).
// Everything lives under DATA/pki/; a restart only reads and checks the files (node:crypto,
// a few ms) and the certificate generator is loaded lazily, only when something is issued.

import { X509Certificate, createPrivateKey, randomBytes, webcrypto } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { hostname, networkInterfaces } from "node:os";
import { join } from "node:path";
import { writeKubeconfig } from "../client/kubeconfig.js";

export { writeKubeconfig };

export interface CertKey {
  certPem: string;
  keyPem: string;
}

export interface PKI {
  dir: string;
  ca: CertKey;
  server: CertKey;
  admin: CertKey;
  /** Join token (agents present it as a bearer token to register). */
  token: string;
  /** DNS names and IPs in the serving certificate's SANs. */
  serverHosts: string[];
  /** A client certificate signed by the cluster CA (e.g. "system:node:n1", ["system:nodes"]). */
  issueClientCert(cn: string, orgs?: string[]): Promise<CertKey>;
  /** A serving certificate signed by the cluster CA (e.g. a kubelet's streaming server). */
  issueServingCert(hosts: string[], cn?: string): Promise<CertKey>;
}

export interface EnsurePKIOptions {
  /** Extra DNS names / IPs for the serving cert (the listen host, node IPs, …). "0.0.0.0"/"::" add every interface address. */
  hosts?: string[];
  /** When set, DATA/kubeconfig.yaml is (re)written for the admin user against this URL. */
  server?: string;
}

const DAY = 86_400_000;
const CA_DAYS = 3650;
const LEAF_DAYS = 365;
/** Leaf certificates this close to expiry are reissued at start (k3s renews within 90 days). */
const RENEW_BEFORE = 90 * DAY;
const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

type X509Lib = typeof import("@peculiar/x509");
/** The library's types name the DOM's Crypto/CryptoKey, absent from our ES2023 lib; node's webcrypto objects are those. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type DomCrypto = any;
let x509Lib: Promise<X509Lib> | undefined;

/**
 * @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect
 * metadata API (a TC39 proposal, normally a polyfill package). The three functions it
 * calls are installed here, only if absent, before the library is first loaded.
 */
function loadX509(): Promise<X509Lib> {
  if (!x509Lib) {
    const R = Reflect as unknown as Record<string, unknown>;
    if (typeof R.getMetadata !== "function") {
      const store = new WeakMap<object, Map<unknown, unknown>>();
      R.defineMetadata = (key: unknown, value: unknown, target: object) => {
        let m = store.get(target);
        if (!m) store.set(target, (m = new Map()));
        m.set(key, value);
      };
      R.getOwnMetadata = (key: unknown, target: object) => store.get(target)?.get(key);
      R.getMetadata = (key: unknown, target: object) => {
        for (let o: object | null = target; o; o = Object.getPrototypeOf(o)) {
          const m = store.get(o);
          if (m?.has(key)) return m.get(key);
        }
        return undefined;
      };
    }
    x509Lib = import("@peculiar/x509").then((lib) => {
      lib.cryptoProvider.set(webcrypto as DomCrypto);
      return lib;
    });
  }
  return x509Lib;
}

/** Positive, non-zero 128-bit serial (Go rejects negative serials). */
function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString("hex");
}

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC, true, ["sign", "verify"]) as Promise<webcrypto.CryptoKeyPair>;
}

async function keyToPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key));
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN PRIVATE KEY-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END PRIVATE KEY-----\n`;
}

async function importSigningKey(pem: string): Promise<webcrypto.CryptoKey> {
  // Accepts PKCS#8 or SEC1 ("EC PRIVATE KEY") PEM by normalising through node:crypto.
  const der = createPrivateKey(pem).export({ format: "der", type: "pkcs8" });
  return webcrypto.subtle.importKey("pkcs8", der, EC, false, ["sign"]);
}

/** Subject as separate RDNs so values such as "system:masters" need no DN escaping. */
function subject(cn: string, orgs: string[] = []): Record<string, string[]>[] {
  return [...orgs.map((o) => ({ O: [o] })), { CN: [cn] }];
}

type Extension = InstanceType<X509Lib["Extension"]>;

/** Valid from a minute ago (tolerates clock skew between nodes) for `days`. */
function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return { notBefore: new Date(now - 60_000), notAfter: new Date(now + days * DAY) };
}

async function certKey(cert: { toString(format: "pem"): string }, keys: webcrypto.CryptoKeyPair): Promise<CertKey> {
  return { certPem: cert.toString("pem") + "\n", keyPem: await keyToPem(keys.privateKey) };
}

function sanExtension(lib: X509Lib, hosts: string[]): Extension {
  return new lib.SubjectAlternativeNameExtension(hosts.map((h) => (isIP(h) ? { type: "ip" as const, value: h } : { type: "dns" as const, value: h })));
}

/** A fresh key pair and a certificate for it signed by itself (the cluster CA, or a kubelet's stand-alone serving certificate). */
async function selfSigned(cn: string, days: number, extensions: (lib: X509Lib, keys: webcrypto.CryptoKeyPair) => Promise<Extension[]>): Promise<CertKey> {
  const lib = await loadX509();
  const keys = await newKeys();
  const cert = await lib.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: subject(cn),
    ...validity(days),
    keys: keys as DomCrypto,
    signingAlgorithm: EC,
    extensions: await extensions(lib, keys),
  });
  return certKey(cert, keys);
}

function createCA(cn: string): Promise<CertKey> {
  return selfSigned(cn, CA_DAYS, async (lib, keys) => [
    new lib.BasicConstraintsExtension(true, undefined, true),
    new lib.KeyUsagesExtension(lib.KeyUsageFlags.keyCertSign | lib.KeyUsageFlags.cRLSign | lib.KeyUsageFlags.digitalSignature, true),
    await lib.SubjectKeyIdentifierExtension.create(keys.publicKey as DomCrypto),
  ]);
}

interface LeafSpec {
  cn: string;
  orgs?: string[];
  usage: "server" | "client";
  hosts?: string[];
}

async function issueLeaf(ca: CertKey, spec: LeafSpec): Promise<CertKey> {
  const lib = await loadX509();
  const caCert = new lib.X509Certificate(ca.certPem);
  const [keys, signingKey] = await Promise.all([newKeys(), importSigningKey(ca.keyPem)]);
  const extensions: Extension[] = [
    new lib.BasicConstraintsExtension(false, undefined, true),
    new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature, true),
    new lib.ExtendedKeyUsageExtension([spec.usage === "server" ? lib.ExtendedKeyUsage.serverAuth : lib.ExtendedKeyUsage.clientAuth]),
    await lib.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
  ];
  if (spec.hosts?.length) extensions.push(sanExtension(lib, spec.hosts));
  const cert = await lib.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: subject(spec.cn, spec.orgs),
    issuer: caCert.subject,
    ...validity(LEAF_DAYS),
    publicKey: keys.publicKey as DomCrypto,
    signingKey: signingKey as DomCrypto,
    signingAlgorithm: EC,
    extensions,
  });
  return certKey(cert, keys);
}

/**
 * A self-signed serving certificate (no CA), as a kubelet makes for its own HTTPS port
 * when it has no CA-issued one; clients that do not pin it skip verification.
 */
export function selfSignedServingCert(hosts: string[], cn = hosts[0] ?? "tugboat"): Promise<CertKey> {
  return selfSigned(cn, LEAF_DAYS, async (lib) => [
    new lib.BasicConstraintsExtension(false, undefined, true),
    new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature, true),
    new lib.ExtendedKeyUsageExtension([lib.ExtendedKeyUsage.serverAuth]),
    sanExtension(lib, hosts),
  ]);
}

/** Loopback names, the machine's hostname and the requested hosts; unspecified addresses expand to every interface. */
export function servingHosts(requested: string[] = []): string[] {
  const out = new Set<string>(["127.0.0.1", "::1", "localhost", hostname().toLowerCase()]);
  for (let h of requested) {
    h = h.trim().replace(/^\[(.*)\]$/, "$1").toLowerCase();
    if (!h) continue;
    if (h === "0.0.0.0" || h === "::") {
      for (const addrs of Object.values(networkInterfaces())) {
        for (const a of addrs ?? []) if (!a.address.includes("%")) out.add(a.address);
      }
      continue;
    }
    out.add(h);
  }
  return [...out];
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** Write-then-rename so a crash never leaves half a key behind; keys get 0600. */
function writeAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

function parseCert(pem: string | undefined): X509Certificate | undefined {
  if (!pem) return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** Is this leaf signed by `ca`, still valid beyond the renewal window, with a matching key? */
function leafUsable(leaf: X509Certificate | undefined, keyPem: string | undefined, ca: X509Certificate): leaf is X509Certificate {
  if (!leaf || !keyPem) return false;
  if (Date.parse(leaf.validTo) - Date.now() < RENEW_BEFORE) return false;
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) return false;
  try {
    return leaf.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

function coversHost(cert: X509Certificate, h: string): boolean {
  return isIP(h) ? cert.checkIP(h) !== undefined : cert.checkHost(h, { subject: "never" }) !== undefined;
}

/**
 * Loads DATA/pki, creating whatever is missing or unusable: the CA (if absent or expired;
 * a new CA reissues every leaf), the serving cert (also when a requested host is missing
 * from its SANs), the admin cert, and the join token.
 */
export async function ensurePKI(dataDir: string, opts: EnsurePKIOptions = {}): Promise<PKI> {
  const dir = join(dataDir, "pki");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = (n: string) => join(dir, n);
  const hosts = servingHosts(opts.hosts);

  let ca: CertKey | undefined;
  const caCertPem = readIfExists(file("ca.crt"));
  const caKeyPem = readIfExists(file("ca.key"));
  let caCert = parseCert(caCertPem);
  if (caCert && caKeyPem && Date.parse(caCert.validTo) > Date.now() + DAY) ca = { certPem: caCertPem!, keyPem: caKeyPem };
  let caRenewed = false;
  if (!ca) {
    ca = await createCA("tugboat-ca");
    writeAtomic(file("ca.key"), ca.keyPem, 0o600);
    writeAtomic(file("ca.crt"), ca.certPem, 0o644);
    caCert = new X509Certificate(ca.certPem);
    caRenewed = true;
  }

  let server: CertKey;
  const srvPem = readIfExists(file("server.crt"));
  const srvKey = readIfExists(file("server.key"));
  const srvCert = caRenewed ? undefined : parseCert(srvPem);
  if (leafUsable(srvCert, srvKey, caCert!) && hosts.every((h) => coversHost(srvCert, h))) {
    server = { certPem: srvPem!, keyPem: srvKey! };
  } else {
    server = await issueLeaf(ca, { cn: "tugboat-apiserver", usage: "server", hosts });
    writeAtomic(file("server.key"), server.keyPem, 0o600);
    writeAtomic(file("server.crt"), server.certPem, 0o644);
  }

  let admin: CertKey;
  const admPem = readIfExists(file("admin.crt"));
  const admKey = readIfExists(file("admin.key"));
  if (!caRenewed && leafUsable(parseCert(admPem), admKey, caCert!)) {
    admin = { certPem: admPem!, keyPem: admKey! };
  } else {
    admin = await issueLeaf(ca, { cn: "admin", orgs: ["system:masters"], usage: "client" });
    writeAtomic(file("admin.key"), admin.keyPem, 0o600);
    writeAtomic(file("admin.crt"), admin.certPem, 0o644);
  }

  let token = readIfExists(file("token"))?.trim();
  if (!token) {
    token = randomBytes(24).toString("base64url");
    writeAtomic(file("token"), token + "\n", 0o600);
  }

  const finalCA = ca;
  const pki: PKI = {
    dir,
    ca: finalCA,
    server,
    admin,
    token,
    serverHosts: sanHosts(new X509Certificate(server.certPem)),
    issueClientCert: (cn, orgs = []) => issueLeaf(finalCA, { cn, orgs, usage: "client" }),
    issueServingCert: (h, cn = h[0] ?? "tugboat") => issueLeaf(finalCA, { cn, usage: "server", hosts: h }),
  };

  if (opts.server) {
    const kcPath = join(dataDir, "kubeconfig.yaml");
    writeKubeconfig(kcPath, { server: opts.server, caPem: finalCA.certPem, certPem: admin.certPem, keyPem: admin.keyPem }, { onlyIfChanged: true });
  }
  return pki;
}

/** The SAN entries of a certificate as plain strings ("localhost", "127.0.0.1", "::1"). */
export function sanHosts(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  if (!san) return [];
  return san.split(", ").map((e) => {
    const v = e.slice(e.indexOf(":") + 1);
    // node prints IPv6 SANs expanded; compress back so callers compare like they typed them.
    return e.startsWith("IP Address:") && v.includes(":") ? compressIPv6(v) : v;
  });
}

function compressIPv6(addr: string): string {
  const parts = addr.split(":").map((p) => p.replace(/^0+(?=.)/, "").toLowerCase());
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < parts.length; ) {
    if (parts[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < parts.length && parts[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return parts.join(":");
  const head = parts.slice(0, best).join(":");
  const tail = parts.slice(best + bestLen).join(":");
  return `${head}::${tail}`;
}

