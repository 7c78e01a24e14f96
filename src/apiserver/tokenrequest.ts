// Bound service-account tokens: the TokenRequest subresource
// `POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token`
// (authentication.k8s.io/v1 TokenRequest,
// https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-request-v1/)
// and the JWTs it returns, signed with the cluster's service-account key (DATA/pki/sa.key,
// generated when missing, as kubeadm does;
// https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#bound-service-account-token-volume).
// The same issuer verifies the tokens for the authenticator: signature, issuer, expiry,
// not-before and an audience the API server accepts; the user is
// system:serviceaccount:<ns>:<name> in groups system:serviceaccounts and
// system:serviceaccounts:<ns>; a token stops working once its ServiceAccount or bound
// object is deleted. One issuer is attached per Registry so the HTTP handler and the
// in-process client serve the subresource the same way.

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BadRequest, Conflict, Invalid, ServiceUnavailable, StatusError } from "../apimachinery/errors.js";
import { isPlainObject } from "../apimachinery/equality.js";
import type { KObject } from "../apimachinery/types.js";
import type { Registry } from "./registry.js";
import type { UserInfo } from "./authn.js";
import { decodeBody } from "./negotiation.js";

/** The in-cluster name of the API server, upstream's default --service-account-issuer and audience. */
export const DEFAULT_SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";
export const SERVICE_ACCOUNT_KEY_FILE = "sa.key";
export const SERVICE_ACCOUNT_PUB_FILE = "sa.pub";
export const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600;
/** TokenRequest refuses shorter lifetimes ("may not specify a duration less than 10 minutes"). */
export const MIN_TOKEN_EXPIRATION_SECONDS = 600;
const MAX_TOKEN_EXPIRATION_SECONDS = 2 ** 32;

export const SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts";
export const SERVICE_ACCOUNT_USER_PREFIX = "system:serviceaccount:";

/** The private claims Kubernetes puts under "kubernetes.io". */
export interface KubernetesClaims {
  namespace: string;
  serviceaccount: { name: string; uid: string };
  pod?: { name: string; uid: string };
  secret?: { name: string; uid: string };
  node?: { name: string; uid: string };
}

export interface ServiceAccountClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti?: string;
  "kubernetes.io": KubernetesClaims;
}

export interface IssuerOptions {
  /** The `iss` claim; default DEFAULT_SERVICE_ACCOUNT_ISSUER. */
  issuer?: string;
  /** Audiences the API server accepts (and TokenRequest's default); default [issuer]. */
  audiences?: string[];
  /** Clock in milliseconds; tests move it. */
  now?: () => number;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString("base64url");

function parseJSONSegment(s: string): any {
  try {
    return JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
}

/** Signs and verifies ES256 service-account JWTs with one P-256 key. */
export class ServiceAccountTokenIssuer {
  readonly issuer: string;
  readonly audiences: string[];
  /** JWT "kid": SHA-256 of the DER public key, as upstream derives it. */
  readonly keyId: string;
  private readonly now: () => number;

  constructor(
    private readonly privateKey: KeyObject,
    opts: IssuerOptions = {},
  ) {
    this.issuer = opts.issuer ?? DEFAULT_SERVICE_ACCOUNT_ISSUER;
    this.audiences = opts.audiences?.length ? [...opts.audiences] : [this.issuer];
    this.now = opts.now ?? Date.now;
    const der = createPublicKey(privateKey).export({ format: "der", type: "spki" });
    this.keyId = createHash("sha256").update(der).digest("base64url");
  }

  /** Reads PKIDIR/sa.key, creating it (and sa.pub) on first use. */
  static load(pkiDir: string, opts: IssuerOptions = {}): ServiceAccountTokenIssuer {
    mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
    const keyFile = join(pkiDir, SERVICE_ACCOUNT_KEY_FILE);
    let key: KeyObject;
    if (existsSync(keyFile)) {
      key = createPrivateKey(readFileSync(keyFile));
    } else {
      key = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
      // Written under a temporary name and renamed, so a crash never leaves half a key.
      const tmp = `${keyFile}.tmp`;
      writeFileSync(tmp, key.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
      chmodSync(tmp, 0o600);
      renameSync(tmp, keyFile);
      writeFileSync(join(pkiDir, SERVICE_ACCOUNT_PUB_FILE), createPublicKey(key).export({ format: "pem", type: "spki" }), { mode: 0o644 });
    }
    return new ServiceAccountTokenIssuer(key, opts);
  }

  /** Seconds since the epoch, the unit of JWT times. */
  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** A signed token for the claims (iss, iat, nbf, jti filled in when absent). */
  issue(claims: Omit<ServiceAccountClaims, "iss" | "iat" | "nbf"> & Partial<Pick<ServiceAccountClaims, "iat" | "nbf">>): string {
    const now = this.nowSeconds();
    const payload: ServiceAccountClaims = { iss: this.issuer, iat: claims.iat ?? now, nbf: claims.nbf ?? now, jti: randomUUID(), ...claims } as ServiceAccountClaims;
    const header = { alg: "ES256", kid: this.keyId };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    const sig = sign("sha256", Buffer.from(input), { key: this.privateKey, dsaEncoding: "ieee-p1363" });
    return `${input}.${b64url(sig)}`;
  }

  /** The claims of a token this issuer signed that is valid now for one of our audiences, else undefined. */
  verify(token: string): ServiceAccountClaims | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const header = parseJSONSegment(parts[0]!);
    if (!isPlainObject(header) || header.alg !== "ES256") return undefined;
    const ok = verify("sha256", Buffer.from(`${parts[0]}.${parts[1]}`), { key: this.privateKey, dsaEncoding: "ieee-p1363" }, Buffer.from(parts[2]!, "base64url"));
    if (!ok) return undefined;
    const c = parseJSONSegment(parts[1]!) as ServiceAccountClaims | undefined;
    if (!isPlainObject(c) || c.iss !== this.issuer) return undefined;
    const now = this.nowSeconds();
    // A minute of leeway for clock skew, as upstream's validator allows.
    if (typeof c.exp !== "number" || now > c.exp + 60) return undefined;
    if (typeof c.nbf === "number" && now < c.nbf - 60) return undefined;
    const aud = Array.isArray(c.aud) ? c.aud : typeof c.aud === "string" ? [c.aud] : [];
    if (!aud.some((a) => this.audiences.includes(a))) return undefined;
    const k = c["kubernetes.io"];
    if (!isPlainObject(k) || typeof k.namespace !== "string" || !isPlainObject(k.serviceaccount)) return undefined;
    return c;
  }

  /** Token authenticator: the service account's user, or undefined when the token is not ours or not valid. */
  authenticate(token: string): UserInfo | undefined {
    const c = this.verify(token);
    if (!c) return undefined;
    const k = c["kubernetes.io"];
    const ns = k.namespace;
    const name = k.serviceaccount.name;
    if (c.sub !== `${SERVICE_ACCOUNT_USER_PREFIX}${ns}:${name}`) return undefined;
    if (!this.boundObjectsLive(k)) return undefined;
    return { name: c.sub, uid: k.serviceaccount.uid, groups: [SERVICE_ACCOUNTS_GROUP, `${SERVICE_ACCOUNTS_GROUP}:${ns}`, "system:authenticated"] };
  }

  /** Set by setServiceAccountTokenIssuer: looks an object up to tell whether a token's binding still holds. */
  liveness?: (gvr: string, namespace: string | undefined, name: string) => Promise<KObject | undefined>;
  /** "gvr ns name uid" → whether that object exists with that UID, and when that was learnt. */
  private readonly live = new Map<string, { live: boolean; at: number; pending?: boolean }>();

  /**
   * A token dies with its ServiceAccount and its bound pod/secret/node (same name, same
   * UID), as upstream's validator checks. Authentication is synchronous, so lookups run
   * in the background and are cached for LIVENESS_TTL_MS: a token of a deleted object is
   * refused from the first request after the lookup saw it gone.
   */
  private boundObjectsLive(k: KubernetesClaims): boolean {
    if (!this.liveness) return true;
    const refs: [string, string | undefined, { name: string; uid: string }][] = [["v1/serviceaccounts", k.namespace, k.serviceaccount]];
    if (k.pod) refs.push(["v1/pods", k.namespace, k.pod]);
    if (k.secret) refs.push(["v1/secrets", k.namespace, k.secret]);
    if (k.node) refs.push(["v1/nodes", undefined, k.node]);
    const now = this.now();
    let ok = true;
    for (const [gvr, ns, ref] of refs) {
      const key = `${gvr} ${ns ?? ""} ${ref.name} ${ref.uid}`;
      const e = this.live.get(key);
      if (e && !e.live) ok = false;
      if ((!e || now - e.at > LIVENESS_TTL_MS) && !e?.pending) {
        const entry = e ?? { live: true, at: 0 };
        entry.pending = true;
        this.live.set(key, entry);
        const lookup = this.liveness;
        void lookup(gvr, ns, ref.name)
          .then((o) => !!o && (!ref.uid || o.metadata.uid === ref.uid))
          .catch(() => entry.live) // lookup failed: keep what we knew
          .then((live) => {
            entry.live = live;
            entry.at = this.now();
            entry.pending = false;
            if (this.live.size > 10_000) this.live.clear();
          });
      }
    }
    return ok;
  }
}

const LIVENESS_TTL_MS = 10_000;

/**
 * kubectl sends TokenRequest as protobuf (k8s.io/api/authentication/v1, read off the
 * wire): TokenRequest{spec=2}, TokenRequestSpec{audiences=1 repeated, boundObjectRef=3,
 * expirationSeconds=4}, BoundObjectReference{kind=1, apiVersion=2, name=3, uid=4}.
 * The schema registry has no authentication.k8s.io types yet, so the few fields are read
 * here; metadata and status are skipped (the name comes from the URL).
 */
function decodeTokenRequestProtobuf(buf: Uint8Array): KObject {
  const bad = (why: string) => new BadRequest(`unable to decode protobuf body: ${why}`);
  const fields = (b: Uint8Array): [number, number, Uint8Array | bigint][] => {
    const out: [number, number, Uint8Array | bigint][] = [];
    let i = 0;
    const varint = (): bigint => {
      let v = 0n;
      for (let shift = 0n; ; shift += 7n) {
        if (i >= b.length || shift > 63n) throw bad("truncated varint");
        const byte = b[i++]!;
        v |= BigInt(byte & 0x7f) << shift;
        if (!(byte & 0x80)) return v;
      }
    };
    while (i < b.length) {
      const key = Number(varint());
      const tag = key >>> 3;
      const wt = key & 7;
      if (wt === 0) out.push([tag, wt, varint()]);
      else if (wt === 2) {
        const n = Number(varint());
        if (i + n > b.length) throw bad("truncated field");
        out.push([tag, wt, b.subarray(i, i + n)]);
        i += n;
      } else if (wt === 1) i += 8;
      else if (wt === 5) i += 4;
      else throw bad(`unsupported wire type ${wt}`);
    }
    return out;
  };
  const text = (v: Uint8Array | bigint) => (typeof v === "bigint" ? "" : Buffer.from(v).toString("utf8"));
  const MAGIC = [0x6b, 0x38, 0x73, 0x00];
  if (buf.length < 4 || MAGIC.some((m, k) => buf[k] !== m)) throw bad('missing the "k8s\\x00" prefix');
  let apiVersion = "";
  let kind = "";
  let raw: Uint8Array = new Uint8Array();
  for (const [tag, wt, v] of fields(buf.subarray(4))) {
    if (tag === 1 && wt === 2) for (const [t2, , v2] of fields(v as Uint8Array)) t2 === 1 ? (apiVersion = text(v2)) : t2 === 2 ? (kind = text(v2)) : undefined;
    else if (tag === 2 && wt === 2) raw = v as Uint8Array;
  }
  if (kind !== "TokenRequest") throw new BadRequest(`unable to decode protobuf for kind ${kind} (${apiVersion}): expected TokenRequest`);
  const spec: Record<string, any> = {};
  for (const [tag, wt, v] of fields(raw)) {
    if (tag !== 2 || wt !== 2) continue;
    for (const [t, w, x] of fields(v as Uint8Array)) {
      if (t === 1 && w === 2) (spec.audiences ??= []).push(text(x));
      else if (t === 4 && w === 0) spec.expirationSeconds = Number(x as bigint);
      else if (t === 3 && w === 2) {
        const ref: Record<string, string> = {};
        const names = ["", "kind", "apiVersion", "name", "uid"];
        for (const [rt, rw, rv] of fields(x as Uint8Array)) if (rw === 2 && names[rt]) ref[names[rt]!] = text(rv);
        spec.boundObjectRef = ref;
      }
    }
  }
  return { apiVersion, kind, metadata: {}, spec } as KObject;
}

/** The request body of serviceaccounts/token in any of the API's encodings. */
export function decodeTokenRequestBody(buf: Buffer, contentType: string | undefined): unknown {
  if ((contentType ?? "").split(";")[0]!.trim().toLowerCase() === "application/vnd.kubernetes.protobuf") return decodeTokenRequestProtobuf(new Uint8Array(buf));
  return decodeBody(buf, contentType).value;
}

const issuers = new WeakMap<Registry, ServiceAccountTokenIssuer>();

/** Makes `issuer` serve serviceaccounts/token for this registry (HTTP and in-process). */
export function setServiceAccountTokenIssuer(reg: Registry, issuer: ServiceAccountTokenIssuer): void {
  issuers.set(reg, issuer);
  issuer.liveness = async (gvr, ns, name) => {
    try {
      return await reg.get(reg.def(gvr), ns, name);
    } catch (e) {
      if ((e as StatusError)?.code === 404) return undefined;
      throw e;
    }
  };
}

export function serviceAccountTokenIssuer(reg: Registry): ServiceAccountTokenIssuer | undefined {
  return issuers.get(reg);
}

function invalid(name: string, field: string, message: string): StatusError {
  return new Invalid("TokenRequest", name, [{ reason: "FieldValueInvalid", field, message }], "authentication.k8s.io");
}

/** Kinds a token may be bound to, with the resource that holds them. */
const boundKinds: Record<string, { gvr: string; namespaced: boolean }> = {
  Pod: { gvr: "v1/pods", namespaced: true },
  Secret: { gvr: "v1/secrets", namespaced: true },
  Node: { gvr: "v1/nodes", namespaced: false },
};

/** POST serviceaccounts/NAME/token: a TokenRequest in, the same with status.token out. */
export async function createTokenRequest(reg: Registry, ns: string, name: string, body: unknown): Promise<KObject> {
  const issuer = issuers.get(reg);
  if (!issuer) throw new ServiceUnavailable("serviceaccounts/token is not available: no service account token issuer configured");
  if (!isPlainObject(body)) throw new BadRequest("the body of the request must be a TokenRequest object");
  const req = body as any;
  if (req.kind !== undefined && req.kind !== "TokenRequest") throw new BadRequest(`the body of the request must be a TokenRequest object, got kind ${JSON.stringify(req.kind)}`);
  const spec = isPlainObject(req.spec) ? req.spec : {};
  let audiences: string[] = issuer.audiences;
  if (spec.audiences !== undefined && spec.audiences !== null) {
    if (!Array.isArray(spec.audiences) || spec.audiences.some((a: unknown) => typeof a !== "string" || !a)) throw invalid(name, "spec.audiences", "Invalid value: must be a list of non-empty strings");
    if (spec.audiences.length) audiences = spec.audiences;
  }
  const exp = spec.expirationSeconds ?? DEFAULT_TOKEN_EXPIRATION_SECONDS;
  if (typeof exp !== "number" || !Number.isInteger(exp)) throw invalid(name, "spec.expirationSeconds", `Invalid value: ${JSON.stringify(exp)}: must be an integer`);
  if (exp < MIN_TOKEN_EXPIRATION_SECONDS) throw invalid(name, "spec.expirationSeconds", `Invalid value: ${exp}: may not specify a duration less than 10 minutes`);
  if (exp > MAX_TOKEN_EXPIRATION_SECONDS) throw invalid(name, "spec.expirationSeconds", `Invalid value: ${exp}: may not specify a duration larger than 2^32 seconds`);

  const sa = await reg.get(reg.def("v1/serviceaccounts"), ns, name);
  const claims: KubernetesClaims = { namespace: ns, serviceaccount: { name, uid: sa.metadata.uid ?? "" } };
  let boundObjectRef: Record<string, string> | undefined;
  if (spec.boundObjectRef !== undefined && spec.boundObjectRef !== null) {
    const ref = spec.boundObjectRef;
    if (!isPlainObject(ref) || typeof ref.kind !== "string" || typeof ref.name !== "string" || !ref.name) {
      throw invalid(name, "spec.boundObjectRef", "Invalid value: kind and name are required");
    }
    const kind = boundKinds[ref.kind];
    if (!kind) throw new BadRequest(`cannot bind token to object of type ${ref.kind}`);
    const obj = await reg.get(reg.def(kind.gvr), kind.namespaced ? ns : undefined, ref.name);
    if (typeof ref.uid === "string" && ref.uid && ref.uid !== obj.metadata.uid) {
      throw new Conflict("serviceaccounts", name, "", `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
    }
    if (ref.kind === "Pod" && (obj.spec?.serviceAccountName ?? "default") !== name) {
      throw new BadRequest(`cannot bind token for serviceaccount "${name}" to pod running with different serviceaccount name.`);
    }
    const entry = { name: ref.name as string, uid: obj.metadata.uid ?? "" };
    if (ref.kind === "Pod") claims.pod = entry;
    else if (ref.kind === "Secret") claims.secret = entry;
    else claims.node = entry;
    boundObjectRef = { kind: ref.kind, apiVersion: typeof ref.apiVersion === "string" ? ref.apiVersion : "v1", name: ref.name, uid: entry.uid };
  }

  const now = issuer.nowSeconds();
  const token = issuer.issue({ sub: `${SERVICE_ACCOUNT_USER_PREFIX}${ns}:${name}`, aud: audiences, exp: now + exp, iat: now, nbf: now, "kubernetes.io": claims });
  return {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    metadata: { name, namespace: ns, creationTimestamp: new Date(now * 1000).toISOString().replace(/\.\d{3}Z$/, "Z") },
    spec: { audiences, expirationSeconds: exp, boundObjectRef: boundObjectRef ?? null },
    status: { token, expirationTimestamp: new Date((now + exp) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z") },
  } as KObject;
}
