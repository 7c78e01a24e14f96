// The authentication.k8s.io/v1 API (https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/):
// TokenReview (https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-review-v1/)
// asks the API server to authenticate a bearer token on someone else's behalf, and
// SelfSubjectReview (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#self-subject-review,
// `kubectl auth whoami`) returns the attributes of the caller. Both are cluster-scoped,
// create-only and never stored: POST returns the request with `status` filled in. Like
// upstream, a TokenReview runs the token through the same authenticators as a request's
// `Authorization: Bearer` header, with the review's audiences (default: the API server's).
// The group's discovery entries and OpenAPI v3 document are here too (server.ts serves
// them). The serviceaccounts/token subresource (TokenRequest) lives in tokenrequest.ts.

import type { IncomingMessage, ServerResponse } from "node:http";
import { BadRequest, MethodNotAllowed, NotFoundPath } from "../apimachinery/errors.js";
import { isPlainObject } from "../apimachinery/equality.js";
import { nowRFC3339 } from "../apimachinery/types.js";
import { AUTHENTICATED_GROUP, authenticate, type AuthnOptions, type UserInfo } from "./authn.js";
import { decodeBody, mediaType, readBody, sendJSON } from "./negotiation.js";
import { openAPIV3Hash } from "./openapi.js";
import { DEFAULT_SERVICE_ACCOUNT_ISSUER, type ServiceAccountClaims, type ServiceAccountTokenIssuer } from "./tokenrequest.js";

export const AUTHENTICATION_GROUP = "authentication.k8s.io";
export const AUTHENTICATION_VERSION = "v1";
const GV = `${AUTHENTICATION_GROUP}/${AUTHENTICATION_VERSION}`;
const BASE = `/apis/${GV}/`;

const resources = [
  { name: "selfsubjectreviews", singularName: "selfsubjectreview", kind: "SelfSubjectReview" },
  { name: "tokenreviews", singularName: "tokenreview", kind: "TokenReview" },
];

/** The discovery entries (legacy and aggregated) for Discovery's extra groups. */
export function authenticationDiscoveryGroup(): { group: string; version: string; resources: object[]; aggregated: object[] } {
  return {
    group: AUTHENTICATION_GROUP,
    version: AUTHENTICATION_VERSION,
    resources: resources.map((r) => ({ name: r.name, singularName: r.singularName, namespaced: false, kind: r.kind, verbs: ["create"] })),
    aggregated: resources.map((r) => ({
      resource: r.name,
      responseKind: { group: AUTHENTICATION_GROUP, version: AUTHENTICATION_VERSION, kind: r.kind },
      scope: "Cluster",
      singularResource: r.singularName,
      verbs: ["create"],
    })),
  };
}

export interface AuthenticationAPIOptions {
  /** Static bearer tokens (the join token), as the request authenticator sees them. */
  tokens?: AuthnOptions["tokens"];
  /** The service-account token issuer, looked up per request (it is attached after the server is built). */
  serviceAccountTokens?: () => ServiceAccountTokenIssuer | undefined;
}

/** Upstream's wire form of user.Info. */
function userInfoJSON(u: UserInfo, extra?: Record<string, string[]>): Record<string, unknown> {
  return {
    username: u.name,
    ...(u.uid ? { uid: u.uid } : {}),
    groups: u.groups.includes(AUTHENTICATED_GROUP) ? [...u.groups] : [...u.groups, AUTHENTICATED_GROUP],
    ...(extra && Object.keys(extra).length ? { extra } : {}),
  };
}

// ---------------------------------------------------------------- protobuf bodies

/**
 * kubectl 1.32 sends these kinds as protobuf (k8s.io/api/authentication/v1): the
 * "k8s\0" envelope Unknown{typeMeta=1{apiVersion=1, kind=2}, raw=2}, then
 * TokenReview{metadata=1, spec=2{token=1, audiences=2 repeated}, status=3} or
 * SelfSubjectReview{metadata=1, status=2}. Only the fields a request carries are read.
 */
function protoFields(b: Uint8Array): [number, Uint8Array | undefined][] {
  const bad = (why: string) => new BadRequest(`unable to decode protobuf body: ${why}`);
  const out: [number, Uint8Array | undefined][] = [];
  let i = 0;
  const varint = (): number => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      if (i >= b.length || shift > 63) throw bad("truncated varint");
      const byte = b[i++]!;
      if (shift < 53) v += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return v;
    }
  };
  while (i < b.length) {
    const key = varint();
    const wt = key % 8;
    const tag = Math.floor(key / 8);
    if (wt === 0) {
      varint();
      out.push([tag, undefined]);
    } else if (wt === 2) {
      const n = varint();
      if (i + n > b.length) throw bad("truncated field");
      out.push([tag, b.subarray(i, i + n)]);
      i += n;
    } else if (wt === 1) i += 8;
    else if (wt === 5) i += 4;
    else throw bad(`unsupported wire type ${wt}`);
  }
  return out;
}

const text = (v: Uint8Array | undefined) => (v ? Buffer.from(v).toString("utf8") : "");

function decodeProtobufReview(buf: Uint8Array, expectKind: string): Record<string, any> {
  if (buf.length < 4 || buf[0] !== 0x6b || buf[1] !== 0x38 || buf[2] !== 0x73 || buf[3] !== 0x00) throw new BadRequest('unable to decode protobuf body: missing the "k8s\\x00" prefix');
  let apiVersion = "";
  let kind = "";
  let raw: Uint8Array | undefined;
  for (const [tag, v] of protoFields(buf.subarray(4))) {
    if (tag === 1 && v) for (const [t, x] of protoFields(v)) t === 1 ? (apiVersion = text(x)) : t === 2 ? (kind = text(x)) : undefined;
    else if (tag === 2) raw = v;
  }
  if (kind !== expectKind) throw new BadRequest(`unable to decode protobuf for kind ${kind} (${apiVersion}): expected ${expectKind}`);
  const obj: Record<string, any> = { apiVersion, kind, metadata: {} };
  if (expectKind === "TokenReview") {
    const spec: Record<string, any> = {};
    for (const [tag, v] of protoFields(raw ?? new Uint8Array())) {
      if (tag !== 2 || !v) continue;
      for (const [t, x] of protoFields(v)) {
        if (t === 1) spec.token = text(x);
        else if (t === 2) (spec.audiences ??= []).push(text(x));
      }
    }
    obj.spec = spec;
  }
  return obj;
}

async function readReview(req: IncomingMessage, kind: string): Promise<Record<string, any>> {
  const buf = await readBody(req);
  // SelfSubjectReview carries nothing the server needs; an empty body is accepted.
  if (buf.length === 0 && kind === "SelfSubjectReview") return { apiVersion: GV, kind, metadata: {} };
  const body = mediaType(req.headers["content-type"]) === "application/vnd.kubernetes.protobuf" ? decodeProtobufReview(new Uint8Array(buf), kind) : decodeBody(buf, req.headers["content-type"]).value;
  if (!isPlainObject(body)) throw new BadRequest(`the body of the request must be a ${kind} object`);
  const o = body as Record<string, any>;
  if (o.apiVersion !== undefined && o.apiVersion !== GV) throw new BadRequest(`the API version in the data (${String(o.apiVersion)}) does not match the expected API version (${GV})`);
  if (o.kind !== undefined && o.kind !== kind) throw new BadRequest(`the kind in the data (${String(o.kind)}) does not match the expected kind (${kind})`);
  return o;
}

// ---------------------------------------------------------------- TokenReview

export interface TokenReviewResult {
  authenticated: boolean;
  user?: UserInfo;
  audiences?: string[];
  extra?: Record<string, string[]>;
  error?: string;
}

function intersect(a: readonly string[], b: readonly string[]): string[] {
  return a.filter((x) => b.includes(x));
}

/** The claims of a JWT without checking anything: only to tell "ours but invalid" from "not ours". */
function unverifiedIssuer(token: string): string | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const c = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"));
    return typeof c?.iss === "string" ? c.iss : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Authenticates `token` for `audiences` (empty: the API server's own). Static tokens are
 * audience-agnostic: they hold for the API server's audiences only, as upstream's
 * wrapper treats them. Service-account JWTs must name one of the audiences.
 */
export function reviewToken(token: string, audiences: readonly string[], opts: AuthenticationAPIOptions): TokenReviewResult {
  const issuer = opts.serviceAccountTokens?.();
  const apiAudiences = issuer?.audiences ?? [DEFAULT_SERVICE_ACCOUNT_ISSUER];
  const wanted = audiences.length ? [...audiences] : [...apiAudiences];
  // The same path as a request's Authorization header, minus client certificates.
  const fake = { headers: { authorization: `Bearer ${token}` }, socket: {} } as unknown as IncomingMessage;
  const staticUser = authenticate(fake, { tokens: opts.tokens });
  if (staticUser) {
    const got = intersect(apiAudiences, wanted);
    return got.length ? { authenticated: true, user: staticUser, audiences: got } : { authenticated: false };
  }
  if (!issuer) return { authenticated: false };
  // A view of the issuer that accepts the review's audiences instead of the server's.
  const view: ServiceAccountTokenIssuer = Object.create(issuer, { audiences: { value: wanted } });
  const claims: ServiceAccountClaims | undefined = view.verify(token);
  const user = claims ? view.authenticate(token) : undefined;
  if (!claims || !user) {
    return unverifiedIssuer(token) === issuer.issuer ? { authenticated: false, error: "invalid bearer token" } : { authenticated: false };
  }
  const k = claims["kubernetes.io"];
  const extra: Record<string, string[]> = {};
  if (claims.jti) extra["authentication.kubernetes.io/credential-id"] = [`JTI=${claims.jti}`];
  if (k.pod) {
    extra["authentication.kubernetes.io/pod-name"] = [k.pod.name];
    extra["authentication.kubernetes.io/pod-uid"] = [k.pod.uid];
  }
  if (k.node) {
    extra["authentication.kubernetes.io/node-name"] = [k.node.name];
    extra["authentication.kubernetes.io/node-uid"] = [k.node.uid];
  }
  const aud = Array.isArray(claims.aud) ? claims.aud : [String(claims.aud)];
  return { authenticated: true, user, audiences: intersect(wanted, aud), extra };
}

export async function createTokenReview(req: IncomingMessage, opts: AuthenticationAPIOptions): Promise<Record<string, unknown>> {
  const body = await readReview(req, "TokenReview");
  const spec = isPlainObject(body.spec) ? (body.spec as Record<string, any>) : {};
  if (spec.token !== undefined && typeof spec.token !== "string") throw new BadRequest("spec.token: Invalid value: must be a string");
  if (!spec.token) throw new BadRequest(`token is required for TokenReview in ${GV}`);
  let audiences: string[] = [];
  if (spec.audiences !== undefined && spec.audiences !== null) {
    if (!Array.isArray(spec.audiences) || spec.audiences.some((a: unknown) => typeof a !== "string")) throw new BadRequest("spec.audiences: Invalid value: must be a list of strings");
    audiences = spec.audiences;
  }
  const r = reviewToken(spec.token, audiences, opts);
  const status: Record<string, unknown> = { user: r.user ? userInfoJSON(r.user, r.extra) : {} };
  if (r.authenticated) status.authenticated = true;
  if (r.audiences?.length) status.audiences = r.audiences;
  if (r.error) status.error = r.error;
  return {
    kind: "TokenReview",
    apiVersion: GV,
    metadata: { ...(isPlainObject(body.metadata) ? (body.metadata as object) : {}), creationTimestamp: null },
    spec: { token: spec.token, ...(audiences.length ? { audiences } : {}) },
    status,
  };
}

// ---------------------------------------------------------------- SelfSubjectReview

export async function createSelfSubjectReview(req: IncomingMessage, user: UserInfo): Promise<Record<string, unknown>> {
  const body = await readReview(req, "SelfSubjectReview");
  return {
    kind: "SelfSubjectReview",
    apiVersion: GV,
    metadata: { ...(isPlainObject(body.metadata) ? (body.metadata as object) : {}), creationTimestamp: nowRFC3339(new Date()) },
    status: { userInfo: userInfoJSON(user) },
  };
}

// ---------------------------------------------------------------- OpenAPI v3

const PKG = "io.k8s.api.authentication.v1";
const sref = (name: string) => ({ $ref: `#/components/schemas/${PKG}.${name}` });
const str = (description: string) => ({ type: "string", description });
const strings = (description: string) => ({ type: "array", items: { type: "string", default: "" }, description });

/**
 * The group-version's OpenAPI 3.0 document: kubectl create/apply look for it (the POST
 * operation's fieldValidation parameter) before sending a TokenReview from a file, and
 * `kubectl explain` walks the schemas.
 */
export function authenticationOpenAPIV3(): object {
  const gvk = (kind: string) => [{ group: AUTHENTICATION_GROUP, kind, version: AUTHENTICATION_VERSION }];
  const typeMeta = {
    apiVersion: str("APIVersion defines the versioned schema of this representation of an object."),
    kind: str("Kind is a string value representing the REST resource this object represents."),
    metadata: { type: "object", description: "Standard object's metadata." },
  };
  const schemas: Record<string, object> = {
    [`${PKG}.UserInfo`]: {
      description: "UserInfo holds the information about the user needed to implement the user.Info interface.",
      type: "object",
      properties: {
        username: str("The name that uniquely identifies this user among all active users."),
        uid: str("A unique value that identifies this user across time."),
        groups: strings("The names of groups this user is a part of."),
        extra: { type: "object", additionalProperties: { type: "array", items: { type: "string", default: "" } }, description: "Any additional information provided by the authenticator." },
      },
    },
    [`${PKG}.TokenReviewSpec`]: {
      description: "TokenReviewSpec is a description of the token authentication request.",
      type: "object",
      properties: { token: str("Token is the opaque bearer token."), audiences: strings("Audiences is a list of the identifiers that the resource server presented with the token identifies as.") },
    },
    [`${PKG}.TokenReviewStatus`]: {
      description: "TokenReviewStatus is the result of the token authentication request.",
      type: "object",
      properties: {
        authenticated: { type: "boolean", description: "Authenticated indicates that the token was associated with a known user." },
        audiences: strings("Audiences are audience identifiers chosen by the authenticator that are compatible with both the TokenReview and token."),
        error: str("Error indicates that the token couldn't be checked"),
        user: { ...sref("UserInfo"), description: "User is the UserInfo associated with the provided token." },
      },
    },
    [`${PKG}.TokenReview`]: {
      description: "TokenReview attempts to authenticate a token to a known user. Note: TokenReview requests may be cached by the webhook token authenticator plugin in the kube-apiserver.",
      type: "object",
      required: ["spec"],
      properties: { ...typeMeta, spec: sref("TokenReviewSpec"), status: sref("TokenReviewStatus") },
      "x-kubernetes-group-version-kind": gvk("TokenReview"),
    },
    [`${PKG}.SelfSubjectReviewStatus`]: {
      description: "SelfSubjectReviewStatus is filled by the kube-apiserver and sent back to a user.",
      type: "object",
      properties: { userInfo: { ...sref("UserInfo"), description: "User attributes of the user making this request." } },
    },
    [`${PKG}.SelfSubjectReview`]: {
      description: "SelfSubjectReview contains the user information that the kube-apiserver has about the user making this request.",
      type: "object",
      properties: { ...typeMeta, status: sref("SelfSubjectReviewStatus") },
      "x-kubernetes-group-version-kind": gvk("SelfSubjectReview"),
    },
  };
  const param = (name: string, type: string, description: string) => ({ name, in: "query", description, schema: { type, uniqueItems: true } });
  const params = [
    param("dryRun", "string", "When present, indicates that modifications should not be persisted. Valid value: All."),
    param("fieldManager", "string", "fieldManager is a name associated with the actor or entity that is making these changes."),
    param("fieldValidation", "string", "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict."),
  ];
  const types = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"];
  const content = (kind: string) => Object.fromEntries(types.map((t) => [t, { schema: sref(kind) }]));
  const paths: Record<string, object> = {};
  for (const r of resources) {
    paths[`/apis/${GV}/${r.name}`] = {
      parameters: [param("pretty", "string", "If 'true', then the output is pretty printed.")],
      post: {
        tags: ["authentication_v1"],
        description: `create a ${r.kind}`,
        operationId: `createAuthenticationV1${r.kind}`,
        parameters: params,
        requestBody: { content: content(r.kind), required: true },
        responses: { "200": { description: "OK", content: content(r.kind) }, "201": { description: "Created", content: content(r.kind) }, "202": { description: "Accepted", content: content(r.kind) }, "401": { description: "Unauthorized" } },
        "x-kubernetes-action": "post",
        "x-kubernetes-group-version-kind": { group: AUTHENTICATION_GROUP, kind: r.kind, version: AUTHENTICATION_VERSION },
      },
    };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "unversioned" },
    paths,
    components: { schemas, securitySchemes: { BearerToken: { type: "apiKey", description: "Bearer Token authentication", name: "authorization", in: "header" } } },
    security: [{ BearerToken: [] }],
  };
}

/** Adds this group-version to an /openapi/v3 index document. */
export function withAuthenticationOpenAPIIndex(index: { paths?: Record<string, unknown> }): object {
  const key = `apis/${GV}`;
  const paths = { ...(index.paths ?? {}), [key]: { serverRelativeURL: `/openapi/v3/${key}?hash=${openAPIV3Hash(authenticationOpenAPIV3())}` } };
  return { ...index, paths: Object.fromEntries(Object.entries(paths).sort(([x], [y]) => x.localeCompare(y))) };
}

export const AUTHENTICATION_OPENAPI_PATH = `/openapi/v3/apis/${GV}`;

// ---------------------------------------------------------------- routing

/**
 * Serves POST /apis/authentication.k8s.io/v1/{tokenreviews,selfsubjectreviews}; returns
 * false for every other path (discovery of the group is served by Discovery).
 */
export function authenticationAPIHandler(opts: AuthenticationAPIOptions): (req: IncomingMessage, res: ServerResponse, url: URL, user: UserInfo) => Promise<boolean> {
  return async (req, res, url, user) => {
    const path = url.pathname.replace(/\/+$/, "");
    if (!path.startsWith(BASE)) return false;
    const rest = path.slice(BASE.length).split("/");
    const resource = resources.find((r) => r.name === rest[0]);
    if (!resource) return false;
    // Named items and every verb but create do not exist for these kinds.
    if (rest.length > 1) throw new NotFoundPath();
    if (req.method !== "POST") throw new MethodNotAllowed();
    const out = resource.kind === "TokenReview" ? await createTokenReview(req, opts) : await createSelfSubjectReview(req, user);
    sendJSON(res, 201, out);
    return true;
  };
}
