// kubeconfig files: the clusters/users/contexts document kubectl and every client read
// to find a server and credentials
// (https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/,
// field reference https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/).
// We read the current (or a named) context, with inline *-data fields or file paths
// resolved relative to the kubeconfig's directory, and write the admin kubeconfig
// `tug server` leaves in its data directory.

import { chmodSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { BadRequest } from "../apimachinery/errors.js";

/** What a client needs to reach a server; the shape createHttpClient accepts. */
export interface ClientCredentials {
  server: string;
  /** PEM of the CA that signs the server's certificate (undefined: system roots). */
  ca?: string;
  cert?: string;
  key?: string;
  token?: string;
  insecure?: boolean;
  /** The context these came from. */
  context?: string;
  /** Default namespace of the context, if it names one. */
  namespace?: string;
}

interface Named<T> {
  name: string;
  cluster?: T;
  user?: T;
  context?: T;
}

interface KubeconfigDoc {
  "current-context"?: string;
  clusters?: Named<Record<string, unknown>>[];
  users?: Named<Record<string, unknown>>[];
  contexts?: Named<Record<string, unknown>>[];
}

/** The kubeconfig kubectl would pick: $KUBECONFIG (first file wins on merge) or ~/.kube/config. */
export function defaultKubeconfigPaths(): string[] {
  const env = process.env.KUBECONFIG;
  if (env) return env.split(delimiter).filter(Boolean);
  return [join(homedir(), ".kube", "config")];
}

function readDoc(path: string): KubeconfigDoc {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new BadRequest(`kubeconfig ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new BadRequest(`kubeconfig ${path}: not valid YAML: ${(e as Error).message}`);
  }
  if (doc == null) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new BadRequest(`kubeconfig ${path}: top level must be a mapping`);
  for (const field of ["clusters", "users", "contexts"] as const) {
    const v = (doc as Record<string, unknown>)[field];
    if (v != null && !Array.isArray(v)) throw new BadRequest(`kubeconfig ${path}: ${field} must be a list`);
  }
  return doc as KubeconfigDoc;
}

function find<T>(list: Named<T>[] | undefined, name: string): Named<T> | undefined {
  return list?.find((e) => e && e.name === name);
}

/** `<field>-data` (base64) wins over `<field>` (a path relative to the kubeconfig). */
function dataOrFile(entry: Record<string, unknown>, field: string, baseDir: string, where: string): string | undefined {
  const data = entry[`${field}-data`];
  if (data != null) {
    if (typeof data !== "string") throw new BadRequest(`${where}.${field}-data must be a base64 string`);
    return Buffer.from(data, "base64").toString("utf8");
  }
  const file = entry[field];
  if (file == null) return undefined;
  if (typeof file !== "string") throw new BadRequest(`${where}.${field} must be a file path`);
  const p = isAbsolute(file) ? file : resolve(baseDir, file);
  try {
    return readFileSync(p, "utf8");
  } catch (e) {
    throw new BadRequest(`${where}.${field}: cannot read ${p}: ${(e as Error).message}`);
  }
}

/**
 * Reads credentials for the current context (or `opts.context`). `path` may be one file or
 * several (merged, first occurrence of each name wins, as kubectl does); default as kubectl.
 */
export function loadKubeconfig(path?: string | string[], opts: { context?: string } = {}): ClientCredentials {
  const paths = path === undefined ? defaultKubeconfigPaths() : Array.isArray(path) ? path : [path];
  if (paths.length === 0) throw new BadRequest("kubeconfig: no file given");
  const docs = paths.map((p) => ({ path: p, doc: readDoc(p) }));
  const owner = new Map<string, string>(); // "clusters/name" → file that defines it (for relative paths)
  const merged: Required<Pick<KubeconfigDoc, "clusters" | "users" | "contexts">> & { "current-context"?: string } = { clusters: [], users: [], contexts: [] };
  for (const { path: p, doc } of docs) {
    if (!merged["current-context"] && doc["current-context"]) merged["current-context"] = doc["current-context"];
    for (const field of ["clusters", "users", "contexts"] as const) {
      for (const e of doc[field] ?? []) {
        if (!e || typeof e.name !== "string" || owner.has(`${field}/${e.name}`)) continue;
        owner.set(`${field}/${e.name}`, p);
        merged[field].push(e);
      }
    }
  }
  const where = paths.join(delimiter);
  const ctxName = opts.context ?? merged["current-context"];
  if (!ctxName) throw new BadRequest(`kubeconfig ${where}: current-context is not set`);
  const ctx = find(merged.contexts, ctxName)?.context;
  if (!ctx) throw new BadRequest(`kubeconfig ${where}: contexts[name=${ctxName}] not found`);
  const clusterName = ctx.cluster;
  if (typeof clusterName !== "string") throw new BadRequest(`kubeconfig ${where}: contexts[name=${ctxName}].context.cluster is required`);
  const cluster = find(merged.clusters, clusterName)?.cluster;
  if (!cluster) throw new BadRequest(`kubeconfig ${where}: clusters[name=${clusterName}] not found`);
  const server = cluster.server;
  if (typeof server !== "string" || !/^https?:\/\//.test(server)) {
    throw new BadRequest(`kubeconfig ${where}: clusters[name=${clusterName}].cluster.server must be an http(s) URL`);
  }
  const clusterDir = dirname(owner.get(`clusters/${clusterName}`)!);
  const out: ClientCredentials = { server: server.replace(/\/+$/, ""), context: ctxName };
  const ca = dataOrFile(cluster, "certificate-authority", clusterDir, `clusters[name=${clusterName}].cluster`);
  if (ca) out.ca = ca;
  if (cluster["insecure-skip-tls-verify"] === true) out.insecure = true;
  if (typeof ctx.namespace === "string" && ctx.namespace) out.namespace = ctx.namespace;

  const userName = ctx.user;
  if (typeof userName === "string" && userName) {
    const user = find(merged.users, userName)?.user;
    if (!user) throw new BadRequest(`kubeconfig ${where}: users[name=${userName}] not found`);
    const userDir = dirname(owner.get(`users/${userName}`)!);
    const uw = `users[name=${userName}].user`;
    const cert = dataOrFile(user, "client-certificate", userDir, uw);
    const key = dataOrFile(user, "client-key", userDir, uw);
    if (cert) out.cert = cert;
    if (key) out.key = key;
    if ((cert === undefined) !== (key === undefined)) throw new BadRequest(`kubeconfig ${where}: ${uw} needs both client-certificate and client-key`);
    if (typeof user.token === "string" && user.token) out.token = user.token;
    else if (typeof user.tokenFile === "string") {
      const p = isAbsolute(user.tokenFile) ? user.tokenFile : resolve(userDir, user.tokenFile);
      try {
        out.token = readFileSync(p, "utf8").trim();
      } catch (e) {
        throw new BadRequest(`kubeconfig ${where}: ${uw}.tokenFile: cannot read ${p}: ${(e as Error).message}`);
      }
    }
  }
  return out;
}

export interface KubeconfigSpec {
  server: string;
  caPem: string;
  certPem?: string;
  keyPem?: string;
  token?: string;
  /** Cluster, user and context names ("tugboat" / "admin" by default). */
  cluster?: string;
  user?: string;
  namespace?: string;
}

/** The kubeconfig document as YAML text. */
export function renderKubeconfig(spec: KubeconfigSpec): string {
  const cluster = spec.cluster ?? "tugboat";
  const user = spec.user ?? "admin";
  const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
  const u: Record<string, string> = {};
  if (spec.certPem) u["client-certificate-data"] = b64(spec.certPem);
  if (spec.keyPem) u["client-key-data"] = b64(spec.keyPem);
  if (spec.token) u.token = spec.token;
  const context: Record<string, string> = { cluster, user };
  if (spec.namespace) context.namespace = spec.namespace;
  return stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      preferences: {},
      clusters: [{ name: cluster, cluster: { "certificate-authority-data": b64(spec.caPem), server: spec.server } }],
      users: [{ name: user, user: u }],
      contexts: [{ name: cluster, context }],
      "current-context": cluster,
    },
    { lineWidth: 0 },
  );
}

/** Writes a kubeconfig with mode 0600 (it holds a private key), atomically. */
export function writeKubeconfig(path: string, spec: KubeconfigSpec, opts: { onlyIfChanged?: boolean } = {}): void {
  const text = renderKubeconfig(spec);
  if (opts.onlyIfChanged) {
    try {
      if (readFileSync(path, "utf8") === text) return;
    } catch {
      // missing: write it
    }
  }
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** "https://127.0.0.1:6443" from a listen host and port; unspecified hosts become loopback, IPv6 gets brackets. */
export function serverURL(host: string, port: number): string {
  let h = host.replace(/^\[(.*)\]$/, "$1");
  if (h === "" || h === "0.0.0.0") h = "127.0.0.1";
  else if (h === "::") h = "::1";
  return `https://${h.includes(":") ? `[${h}]` : h}:${port}`;
}
