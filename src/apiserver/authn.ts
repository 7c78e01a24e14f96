// Request authentication: who is calling. Two of the upstream strategies
// (https://kubernetes.io/docs/reference/access-authn-authz/authentication/): X509 client
// certificates verified by the TLS layer against the cluster CA (user = CN, groups = O),
// and bearer tokens (the join token, service-account tokens) from the Authorization
// header or, for browser websockets, the `base64url.bearer.authorization.k8s.io.<token>`
// subprotocol. Every authenticated user also gets the group system:authenticated, as
// upstream adds it. No credentials → undefined; the server answers 401.

import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";

export interface UserInfo {
  name: string;
  groups: string[];
  uid?: string;
}

export const AUTHENTICATED_GROUP = "system:authenticated";

/**
 * Token → user, keyed by SHA-256 of the token: a lookup's timing depends on a hash the
 * caller cannot steer towards a real token, so it is effectively constant-time, and the
 * table stays O(1) with thousands of service-account tokens.
 */
export class TokenTable {
  private readonly byDigest = new Map<string, UserInfo>();

  constructor(entries?: Iterable<[string, UserInfo]>) {
    for (const [t, u] of entries ?? []) this.set(t, u);
  }
  set(token: string, user: UserInfo): this {
    this.byDigest.set(digest(token), user);
    return this;
  }
  delete(token: string): boolean {
    return this.byDigest.delete(digest(token));
  }
  lookup(token: string): UserInfo | undefined {
    return this.byDigest.get(digest(token));
  }
  get size(): number {
    return this.byDigest.size;
  }
}

function digest(token: string): string {
  return createHash("sha256").update(token).digest("base64");
}

export interface AuthnOptions {
  /** A plain Map is compared entry by entry with timingSafeEqual; a TokenTable is looked up by digest. */
  tokens?: ReadonlyMap<string, UserInfo> | TokenTable;
  /** Service-account JWTs (tokenrequest.ts): verified by signature, expiry and audience. */
  serviceAccountTokens?: { authenticate(token: string): UserInfo | undefined };
}

/** Peer certificates are parsed once per TLS connection (keep-alive serves many requests). */
const certUsers = new WeakMap<object, UserInfo | null>();

function userFromCertificate(socket: TLSSocket): UserInfo | undefined {
  const cached = certUsers.get(socket);
  if (cached !== undefined) return cached ?? undefined;
  let user: UserInfo | null = null;
  // `authorized` is true only when the TLS layer verified the chain against the server's CA.
  if (socket.authorized) {
    const cert = socket.getPeerCertificate();
    const cn = first(cert?.subject?.CN);
    if (cn) user = withAuthenticatedGroup({ name: cn, groups: list(cert.subject.O) });
  }
  certUsers.set(socket, user);
  return user ?? undefined;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function list(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? [...v] : [v];
}

const WS_TOKEN_PREFIX = "base64url.bearer.authorization.k8s.io.";

function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (h) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    return m ? m[1] : undefined;
  }
  const proto = req.headers["sec-websocket-protocol"];
  if (proto) {
    for (const p of String(proto).split(",")) {
      const s = p.trim();
      if (s.startsWith(WS_TOKEN_PREFIX)) {
        const t = Buffer.from(s.slice(WS_TOKEN_PREFIX.length), "base64url").toString("utf8");
        return t || undefined;
      }
    }
  }
  return undefined;
}

function lookupToken(token: string, tokens: AuthnOptions["tokens"]): UserInfo | undefined {
  if (!tokens) return undefined;
  if (tokens instanceof TokenTable) return tokens.lookup(token);
  // Compare fixed-length digests of every entry so neither length nor prefix leaks.
  const want = createHash("sha256").update(token).digest();
  let found: UserInfo | undefined;
  for (const [t, u] of tokens) {
    if (timingSafeEqual(want, createHash("sha256").update(t).digest()) && !found) found = u;
  }
  return found;
}

/** Callers get a shared object for certificate users: treat UserInfo as read-only. */
function withAuthenticatedGroup(u: UserInfo): UserInfo {
  if (u.groups.includes(AUTHENTICATED_GROUP)) return u;
  const out: UserInfo = { name: u.name, groups: [...u.groups, AUTHENTICATED_GROUP] };
  if (u.uid !== undefined) out.uid = u.uid;
  return out;
}

/**
 * The user behind a request, or undefined for anonymous. A verified client certificate
 * wins; otherwise a bearer token is checked. An unverified certificate is ignored (the
 * server runs with requestCert:true, rejectUnauthorized:false so token clients still connect).
 */
export function authenticate(req: IncomingMessage, opts: AuthnOptions = {}): UserInfo | undefined {
  const socket = req.socket as TLSSocket;
  if (socket && (socket as { encrypted?: boolean }).encrypted) {
    const u = userFromCertificate(socket);
    if (u) return u;
  }
  const token = bearerToken(req);
  if (token) {
    const u = lookupToken(token, opts.tokens);
    if (u) return withAuthenticatedGroup(u);
    const sa = opts.serviceAccountTokens?.authenticate(token);
    if (sa) return withAuthenticatedGroup(sa);
  }
  return undefined;
}
