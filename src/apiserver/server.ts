// The HTTPS API server (https://kubernetes.io/docs/concepts/overview/kubernetes-api/):
// authentication (client certificates from the cluster CA, bearer tokens), then
// non-resource paths (/version, health, discovery, OpenAPI) and resource requests
// handled by handlers.ts. Every failure is a Kubernetes Status; nothing crashes the
// process. Authorization (RBAC) is not built yet: every authenticated user may do
// everything.

import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { hostname } from "node:os";
import { NotFoundPath, StatusError, Unauthorized, toStatusError } from "../apimachinery/errors.js";
import type { Registry } from "./registry.js";
import type { PKI } from "./pki.js";
import { authenticate, type TokenTable, type UserInfo } from "./authn.js";
import { parseRequestInfo } from "./requestinfo.js";
import { sendJSON, sendStatus } from "./negotiation.js";
import { Discovery, aggregatedContentType, aggregatedDiscoveryVersion } from "./discovery.js";
import { handleResource, type StreamingHandler } from "./handlers.js";
import type { PodUpgradeHandler } from "./podproxy.js";
import { serviceAccountTokenIssuer } from "./tokenrequest.js";
import { buildOpenAPIV3GroupVersion, buildOpenAPIV3Index } from "./openapi.js";
import { AUTHENTICATION_OPENAPI_PATH, authenticationAPIHandler, authenticationDiscoveryGroup, authenticationOpenAPIV3, withAuthenticationOpenAPIIndex } from "./authenticationapi.js";

/** The Kubernetes release whose API we implement (kubectl's dispatcher picks kubectl.1.32). */
export const KUBERNETES_VERSION = { major: "1", minor: "32", patch: "0" };

export function versionInfo(): object {
  return {
    major: KUBERNETES_VERSION.major,
    minor: KUBERNETES_VERSION.minor,
    gitVersion: `v${KUBERNETES_VERSION.major}.${KUBERNETES_VERSION.minor}.${KUBERNETES_VERSION.patch}+tug`,
    gitCommit: "tugboat",
    gitTreeState: "clean",
    buildDate: "2026-11-25T00:00:00Z",
    goVersion: `node${process.versions.node}`,
    compiler: "tsc",
    platform: `${process.platform}/${process.arch === "x64" ? "amd64" : process.arch}`,
  };
}

export interface ApiServerOptions {
  registry: Registry;
  pki: PKI;
  host: string;
  port: number;
  tokens?: TokenTable;
  streaming?: StreamingHandler;
  /** Connection upgrades of pods/exec, pods/attach, pods/portforward (podproxy.ts). */
  upgrade?: PodUpgradeHandler;
  /** Extra non-resource handlers (e.g. metrics.k8s.io); return true when handled. */
  extraHandlers?: ((req: IncomingMessage, res: ServerResponse, url: URL, user: UserInfo) => Promise<boolean>)[];
  /** Extra discovery groups. */
  extraDiscovery?: ConstructorParameters<typeof Discovery>[1];
  /** Readiness checks for /readyz (name → check). */
  readyChecks?: Record<string, () => Promise<boolean> | boolean>;
}

const publicPaths = new Set(["/version", "/healthz", "/livez", "/readyz"]);

export class ApiServer {
  readonly server: https.Server;
  private readonly discovery: Discovery;
  private openapiCache = new Map<string, { body: string; hash: string }>();
  private readonly authenticationAPI: ReturnType<typeof authenticationAPIHandler>;

  constructor(private readonly opts: ApiServerOptions) {
    this.discovery = new Discovery(opts.registry.catalogue, [authenticationDiscoveryGroup(), ...(opts.extraDiscovery ?? [])]);
    // TokenReview and SelfSubjectReview: not stored, served beside the catalogue.
    this.authenticationAPI = authenticationAPIHandler({ tokens: opts.tokens, serviceAccountTokens: () => serviceAccountTokenIssuer(opts.registry) });
    this.server = https.createServer(
      {
        cert: opts.pki.server.certPem,
        key: opts.pki.server.keyPem,
        ca: opts.pki.ca.certPem,
        requestCert: true,
        rejectUnauthorized: false,
        keepAliveTimeout: 120_000,
      },
      (req, res) => {
        this.handle(req, res).catch((e) => sendStatus(res, toStatusError(e)));
      },
    );
    // Long watches must not be cut by Node's default request timeout.
    this.server.requestTimeout = 0;
    // exec/attach/port-forward arrive as connection upgrades (WebSocket or SPDY/3.1), not requests.
    this.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(req, socket, head));
    this.server.headersTimeout = 60_000;
  }

  get address(): string {
    return `${this.opts.host.includes(":") ? `[${this.opts.host}]` : this.opts.host}:${this.port}`;
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === "object" && a ? a.port : this.opts.port;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Runnable: serve until aborted. */
  async start(signal: AbortSignal): Promise<void> {
    await this.listen();
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    await this.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://localhost");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const user = authenticate(req, { tokens: this.opts.tokens, serviceAccountTokens: serviceAccountTokenIssuer(this.opts.registry) });
    if (!user && !publicPaths.has(path)) throw new Unauthorized();
    if (path === "/version") return sendJSON(res, 200, versionInfo());
    if (path === "/healthz" || path === "/livez" || path === "/readyz" || path.startsWith("/readyz/") || path.startsWith("/livez/") || path.startsWith("/healthz/")) {
      return this.health(res, path, url.searchParams.has("verbose"));
    }
    if (await this.authenticationAPI(req, res, url, user!)) return;
    for (const h of this.opts.extraHandlers ?? []) if (await h(req, res, url, user!)) return;
    if (path.startsWith("/openapi/")) return this.openapi(res, path);
    const info = parseRequestInfo(req.method ?? "GET", path, url.searchParams);
    if (!info.isResourceRequest) return this.discoveryRequest(req, res, info);
    await handleResource(req, res, info, url.searchParams, { registry: this.opts.registry, streaming: this.opts.streaming });
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    const fail = (e: unknown) => {
      const err = toStatusError(e);
      const body = JSON.stringify(err.toStatus());
      socket.end(`HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    try {
      const url = new URL(req.url ?? "/", "https://localhost");
      const user = authenticate(req, { tokens: this.opts.tokens, serviceAccountTokens: serviceAccountTokenIssuer(this.opts.registry) });
      if (!user) throw new Unauthorized();
      const info = parseRequestInfo(req.method ?? "GET", url.pathname, url.searchParams);
      const sub = info.subresource;
      if (!info.isResourceRequest || !(sub === "exec" || sub === "attach" || sub === "portforward")) throw new StatusError(400, "BadRequest", `connection upgrade is not supported for ${url.pathname}`);
      if (!this.opts.upgrade) throw new StatusError(503, "ServiceUnavailable", `pods/${sub} is not available: no node streaming configured`);
      this.opts.upgrade(req, socket, head, info, url.searchParams).catch(fail);
    } catch (e) {
      fail(e);
    }
  }

  private async health(res: ServerResponse, path: string, verbose: boolean): Promise<void> {
    const checks: [string, boolean][] = [["ping", true]];
    if (path.startsWith("/readyz")) {
      for (const [name, fn] of Object.entries(this.opts.readyChecks ?? {})) {
        let ok = false;
        try {
          ok = await fn();
        } catch {
          ok = false;
        }
        checks.push([name, ok]);
      }
    }
    const ok = checks.every(([, v]) => v);
    const body = verbose ? checks.map(([n, v]) => `[${v ? "+" : "-"}]${n} ${v ? "ok" : "failed"}`).join("\n") + `\n${path.slice(1)} check ${ok ? "passed" : "failed"}\n` : ok ? "ok" : "not ready";
    res.writeHead(ok ? 200 : 500, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache, private" });
    res.end(body);
  }

  private discoveryRequest(req: IncomingMessage, res: ServerResponse, info: ReturnType<typeof parseRequestInfo>): void {
    const agg = aggregatedDiscoveryVersion(req.headers.accept);
    const parts = info.path.split("/").filter(Boolean);
    if (parts.length === 1 && (parts[0] === "api" || parts[0] === "apis")) {
      if (agg) {
        const body = JSON.stringify(this.discovery.aggregated(agg, parts[0] === "api"));
        res.writeHead(200, { "Content-Type": aggregatedContentType(agg), "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-cache, private" });
        res.end(body);
        return;
      }
      return sendJSON(res, 200, parts[0] === "api" ? this.discovery.apiVersions(this.address) : this.discovery.apiGroupList());
    }
    if (parts[0] === "apis" && parts.length === 2) {
      const g = this.discovery.apiGroup(parts[1]!);
      if (!g) throw new NotFoundPath();
      return sendJSON(res, 200, g);
    }
    if ((parts[0] === "api" && parts.length === 2) || (parts[0] === "apis" && parts.length === 3)) {
      const l = this.discovery.resourceList(info.group, info.version);
      if (!l) throw new NotFoundPath();
      return sendJSON(res, 200, l);
    }
    if (parts.length === 0) {
      return sendJSON(res, 200, { paths: ["/api", "/api/v1", "/apis", ...this.opts.registry.catalogue.groups().filter((g) => g.group).map((g) => `/apis/${g.group}`), "/healthz", "/livez", "/openapi/v3", "/readyz", "/version"] });
    }
    throw new NotFoundPath();
  }

  private openapi(res: ServerResponse, path: string): void {
    const defs = this.opts.registry.catalogue.defs;
    if (path === "/openapi/v3") return sendJSON(res, 200, withAuthenticationOpenAPIIndex(buildOpenAPIV3Index(defs)));
    const m = /^\/openapi\/v3\/(api\/v1|apis\/([^/]+)\/([^/]+))$/.exec(path);
    if (!m) throw new NotFoundPath();
    const group = m[2] ?? "";
    const version = m[3] ?? "v1";
    // authentication.k8s.io/v1 is served outside the catalogue (authenticationapi.ts).
    const authentication = path === AUTHENTICATION_OPENAPI_PATH;
    if (!authentication && !this.opts.registry.catalogue.inGroupVersion(group, version).length) throw new NotFoundPath();
    let cached = this.openapiCache.get(path);
    if (!cached) {
      const body = JSON.stringify(authentication ? authenticationOpenAPIV3() : buildOpenAPIV3GroupVersion(defs, group, version));
      cached = { body, hash: "" };
      this.openapiCache.set(path, cached);
    }
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(cached.body), "Cache-Control": "public, immutable" });
    res.end(cached.body);
  }
}

export function defaultHosts(listenHost: string): string[] {
  return [listenHost, "127.0.0.1", "localhost", hostname()];
}

export { StatusError };
