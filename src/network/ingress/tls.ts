// Ingress TLS (https://kubernetes.io/docs/concepts/services-networking/ingress/#tls):
// each `spec.tls` entry of a handled Ingress names hosts and a Secret of type
// kubernetes.io/tls in the Ingress's namespace holding `tls.crt` and `tls.key`
// (https://kubernetes.io/docs/concepts/configuration/secret/#tls-secrets). The HTTPS
// listener picks the certificate by the client's SNI name: an exact host first, then a
// wildcard entry one label up, else the default certificate (as ingress-nginx does).
// An entry without hosts covers its Ingress's rule hosts. Secrets that are missing or do
// not parse are skipped (the default certificate answers) and reported once.

import { createSecureContext, type SecureContext } from "node:tls";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KObject } from "../../apimachinery/types.js";
import type { Logger } from "../../client/runnable.js";
import { silentLogger } from "../../client/runnable.js";
import { normalizeHost } from "./rules.js";

export interface CertKey {
  certPem: string;
  keyPem: string;
}

export type SecretLookup = (namespace: string, name: string) => KObject | undefined;

const decode = (v: unknown) => (typeof v === "string" ? Buffer.from(v, "base64").toString("utf8") : "");

function byAge(a: KObject, b: KObject): number {
  const ta = Date.parse(a.metadata.creationTimestamp ?? "") || 0;
  const tb = Date.parse(b.metadata.creationTimestamp ?? "") || 0;
  return ta - tb || `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`);
}

/** host (or "*.suffix") → "namespace/secret", oldest Ingress first. */
export function tlsHostMap(ingresses: KObject[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const ing of [...ingresses].sort(byAge)) {
    const ruleHosts = (Array.isArray(ing.spec?.rules) ? ing.spec.rules : []).map((r: any) => (typeof r?.host === "string" ? normalizeHost(r.host) : "")).filter(Boolean);
    for (const entry of Array.isArray(ing.spec?.tls) ? ing.spec.tls : []) {
      if (typeof entry?.secretName !== "string" || !entry.secretName) continue;
      const hosts: string[] = Array.isArray(entry.hosts) && entry.hosts.length ? entry.hosts.map((h: unknown) => normalizeHost(String(h))) : ruleHosts;
      for (const h of hosts) if (h && !out.has(h)) out.set(h, `${ing.metadata.namespace}/${entry.secretName}`);
    }
  }
  return out;
}

export class CertificateStore {
  private hosts = new Map<string, string>();
  private contexts = new Map<string, { rv: string; ctx?: SecureContext }>();
  private reported = new Set<string>();
  private defaultCtx?: SecureContext;
  private readonly log: Logger;

  constructor(
    private readonly secrets: SecretLookup,
    opts: { log?: Logger } = {},
  ) {
    this.log = opts.log ?? silentLogger;
  }

  setDefault(cert: CertKey): void {
    this.defaultCtx = createSecureContext({ cert: cert.certPem, key: cert.keyPem });
  }

  /** Takes the handled Ingresses' TLS entries (call again after changes). */
  update(ingresses: KObject[]): void {
    this.hosts = tlsHostMap(ingresses);
  }

  /** The context for an SNI name, or undefined for the default certificate. */
  contextFor(servername: string | undefined): SecureContext | undefined {
    const host = normalizeHost(servername);
    let ref = host ? this.hosts.get(host) : undefined;
    if (!ref && host.includes(".")) ref = this.hosts.get("*" + host.slice(host.indexOf(".")));
    if (!ref) return undefined;
    return this.secretContext(ref);
  }

  private secretContext(ref: string): SecureContext | undefined {
    const [ns, name] = ref.split("/") as [string, string];
    const secret = this.secrets(ns, name);
    if (!secret) {
      this.report(ref, "secret not found");
      return undefined;
    }
    const rv = secret.metadata.resourceVersion ?? "";
    const cached = this.contexts.get(ref);
    if (cached && cached.rv === rv) return cached.ctx;
    let ctx: SecureContext | undefined;
    try {
      const cert = decode(secret.data?.["tls.crt"]);
      const key = decode(secret.data?.["tls.key"]);
      if (!cert || !key) throw new Error("tls.crt or tls.key missing");
      ctx = createSecureContext({ cert, key });
    } catch (e) {
      this.report(`${ref}@${rv}`, String((e as Error).message ?? e));
    }
    this.contexts.set(ref, { rv, ctx });
    return ctx;
  }

  private report(key: string, why: string): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.log.error("ingress: TLS secret unusable, serving the default certificate", { secret: key, error: why });
  }

  /** The https server's SNICallback. */
  readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    cb(null, this.contextFor(servername) ?? this.defaultCtx);
  };
}

/**
 * The default certificate, kept beside the cluster PKI (DATA/pki/ingress-default.{crt,key})
 * so restarts do not issue a new one: signed by the cluster CA for the placeholder name
 * "ingress.tugboat.invalid" (like ingress-nginx's "Fake Certificate"); reissued when
 * missing, unreadable or within 30 days of expiry.
 */
export async function persistedDefaultCertificate(pki: { dir: string; issueServingCert(hosts: string[], cn?: string): Promise<CertKey> }): Promise<CertKey> {
  const crt = join(pki.dir, "ingress-default.crt");
  const key = join(pki.dir, "ingress-default.key");
  try {
    const certPem = readFileSync(crt, "utf8");
    const keyPem = readFileSync(key, "utf8");
    const x = new X509Certificate(certPem);
    if (Date.parse(x.validTo) - Date.now() > 30 * 86_400_000 && x.checkPrivateKey(createPrivateKey(keyPem))) return { certPem, keyPem };
  } catch {
    // Missing or unusable: issue a new one.
  }
  const issued = await pki.issueServingCert(["ingress.tugboat.invalid"], "Tugboat Ingress Default Certificate");
  writeFileSync(key, issued.keyPem, { mode: 0o600 });
  writeFileSync(crt, issued.certPem, { mode: 0o644 });
  return issued;
}
