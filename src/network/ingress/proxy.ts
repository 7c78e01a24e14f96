// The ingress data path: an HTTP(S) reverse proxy in the manner of the ingress
// controllers Kubernetes lists (https://kubernetes.io/docs/concepts/services-networking/ingress-controllers/).
// For each request it asks a Router for the ordered targets, forwards the request with
// the hop-by-hop headers removed (RFC 9110 §7.6.1) and X-Forwarded-For appended,
// X-Forwarded-Proto/-Host/-Port and X-Real-IP set, keeps the client's Host, and streams
// the answer back. A connection that is refused, unreachable or not made within the
// connect timeout is retried on the next endpoint (nothing has been sent yet, so it is
// safe for any method); a reset on a reused keep-alive socket is
// retried for body-less idempotent requests. WebSockets and other Upgrades are relayed as
// a raw byte pipe after the backend's 101 (RFC 6455 §4). No route → 404; a backend
// without ready endpoints → 503; a backend that fails → 502.

import { Agent, request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse, type OutgoingHttpHeaders } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "../../client/runnable.js";
import { silentLogger } from "../../client/runnable.js";
import type { Target } from "./backends.js";

export type RouteDecision = { targets: Target[] } | { status: number; message: string };

export interface Router {
  route(host: string | undefined, url: string): RouteDecision;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers", "transfer-encoding", "upgrade"]);

function clientIP(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? "";
  return a.startsWith("::ffff:") ? a.slice(7) : a;
}

/** Request headers for the backend: end-to-end headers of the client plus the X-Forwarded set. */
export function forwardedHeaders(req: IncomingMessage, scheme: "http" | "https", upgrade: boolean): OutgoingHttpHeaders {
  const drop = new Set(HOP_BY_HOP);
  for (const t of String(req.headers.connection ?? "").split(",")) if (t.trim()) drop.add(t.trim().toLowerCase());
  const out: OutgoingHttpHeaders = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (drop.has(name) || name.startsWith("x-forwarded-proto") || name === "x-forwarded-host" || name === "x-forwarded-port" || name === "x-real-ip") continue;
    const v = raw[i + 1]!;
    const prev = out[name];
    out[name] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : name === "cookie" ? `${prev}; ${v}` : [String(prev), v];
  }
  const ip = clientIP(req);
  const xff = out["x-forwarded-for"];
  out["x-forwarded-for"] = xff ? `${Array.isArray(xff) ? xff.join(", ") : xff}, ${ip}` : ip;
  out["x-forwarded-proto"] = scheme;
  if (req.headers.host) out["x-forwarded-host"] = req.headers.host;
  out["x-forwarded-port"] = String(req.socket.localPort ?? "");
  out["x-real-ip"] = ip;
  if (upgrade) {
    out.connection = "Upgrade";
    out.upgrade = req.headers.upgrade ?? "";
  }
  return out;
}

/** Response headers for the client: the backend's, minus hop-by-hop ones. */
function responseHeaders(res: IncomingMessage): string[] {
  const drop = new Set(HOP_BY_HOP);
  for (const t of String(res.headers.connection ?? "").split(",")) if (t.trim()) drop.add(t.trim().toLowerCase());
  const out: string[] = [];
  const raw = res.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (!drop.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  return out;
}

const codeOf = (e: unknown) => (e as NodeJS.ErrnoException)?.code;
/** Failures before a connection exists: nothing was sent, so another endpoint may be tried. */
const UNREACHED = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ECONNECTTIMEOUT"]);
const connectTimeout = (t: Target) => Object.assign(new Error(`connect to ${t.host}:${t.port} timed out`), { code: "ECONNECTTIMEOUT" });
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "DELETE", "PUT", "TRACE"]);

export interface IngressProxyOptions {
  router: Router;
  log?: Logger;
  /** Idle keep-alive connections kept per backend. */
  maxFreeSockets?: number;
  /** How long to wait for a backend connection before trying the next endpoint (default 3 s). */
  connectTimeoutMs?: number;
}

export class IngressProxy {
  private readonly agent: Agent;
  private readonly log: Logger;
  private readonly connectTimeoutMs: number;

  constructor(private readonly opts: IngressProxyOptions) {
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 3000;
    this.agent = new Agent({ keepAlive: true, maxFreeSockets: opts.maxFreeSockets ?? 64 });
    this.log = opts.log ?? silentLogger;
  }

  close(): void {
    this.agent.destroy();
  }

  /** The 'request' handler of the HTTP and HTTPS servers. */
  handle(req: IncomingMessage, res: ServerResponse, scheme: "http" | "https"): void {
    const d = this.opts.router.route(req.headers.host, req.url ?? "/");
    if ("status" in d) return plain(res, d.status, d.message);
    const headers = forwardedHeaders(req, scheme, false);
    const bodyless = !req.headers["content-length"] && !req.headers["transfer-encoding"];
    let i = 0;
    let resetRetried = false;
    let current: ClientRequest | undefined;
    // A client that goes away takes its backend request with it.
    res.on("close", () => {
      if (!res.writableFinished) current?.destroy();
    });
    const attempt = (t: Target) => {
      let sending = false;
      let timer: NodeJS.Timeout | undefined;
      const preq: ClientRequest = (current = httpRequest({ host: t.host, port: t.port, method: req.method, path: req.url, headers, agent: this.agent }));
      preq.on("socket", (s) => {
        // Stream the body only once connected, so an endpoint we cannot reach can be swapped for another.
        const connected = () => {
          clearTimeout(timer);
          if (bodyless || sending) return;
          sending = true;
          req.pipe(preq);
        };
        if ((s as { connecting?: boolean }).connecting) {
          timer = setTimeout(() => preq.destroy(connectTimeout(t)), this.connectTimeoutMs);
          s.once("connect", connected);
        } else connected();
      });
      // Nothing to stream: end at once (a failed connection has consumed nothing either).
      if (bodyless) preq.end();
      preq.on("response", (pres) => {
        res.writeHead(pres.statusCode ?? 502, pres.statusMessage, responseHeaders(pres));
        pres.pipe(res);
        pres.on("error", () => res.destroy());
      });
      preq.on("error", (err) => {
        clearTimeout(timer);
        const code = codeOf(err);
        if (!sending && UNREACHED.has(code ?? "") && !res.headersSent && i < d.targets.length) return attempt(d.targets[i++]!);
        if (code === "ECONNRESET" && preq.reusedSocket && bodyless && IDEMPOTENT.has(req.method ?? "") && !res.headersSent && !resetRetried) {
          resetRetried = true;
          return attempt(t);
        }
        this.log.debug?.("ingress: backend failed", { target: `${t.host}:${t.port}`, error: String(err) });
        if (!res.headersSent) plain(res, 502, `502 Bad Gateway: ${code ?? "error"} from ${t.host}:${t.port}\n`);
        else res.destroy();
      });
    };
    attempt(d.targets[i++]!);
  }

  /** The 'upgrade' handler: WebSockets and other protocol switches. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, scheme: "http" | "https"): void {
    socket.on("error", () => socket.destroy());
    const d = this.opts.router.route(req.headers.host, req.url ?? "/");
    if ("status" in d) return rawReply(socket, d.status, d.message);
    const headers = forwardedHeaders(req, scheme, true);
    let i = 0;
    const attempt = (t: Target) => {
      const preq = httpRequest({ host: t.host, port: t.port, method: req.method, path: req.url, headers, agent: false });
      let timer: NodeJS.Timeout | undefined;
      preq.on("socket", (s) => {
        timer = setTimeout(() => preq.destroy(connectTimeout(t)), this.connectTimeoutMs);
        s.once("connect", () => clearTimeout(timer));
      });
      preq.on("upgrade", (pres, psock, phead) => {
        const lines = [`HTTP/1.1 ${pres.statusCode} ${pres.statusMessage ?? "Switching Protocols"}`];
        for (let k = 0; k < pres.rawHeaders.length; k += 2) lines.push(`${pres.rawHeaders[k]}: ${pres.rawHeaders[k + 1]}`);
        socket.write(lines.join("\r\n") + "\r\n\r\n");
        if (phead.length) socket.write(phead);
        if (head.length) psock.write(head);
        psock.on("error", () => socket.destroy());
        socket.on("close", () => psock.destroy());
        psock.on("close", () => socket.destroy());
        psock.pipe(socket).pipe(psock);
      });
      preq.on("response", (pres) => {
        // The backend declined to switch: relay its plain answer.
        const lines = [`HTTP/1.1 ${pres.statusCode} ${pres.statusMessage ?? ""}`];
        const hs = responseHeaders(pres);
        for (let k = 0; k < hs.length; k += 2) lines.push(`${hs[k]}: ${hs[k + 1]}`);
        socket.write(lines.join("\r\n") + "\r\nconnection: close\r\n\r\n");
        pres.pipe(socket);
      });
      preq.on("error", (err) => {
        clearTimeout(timer);
        if (UNREACHED.has(codeOf(err) ?? "") && i < d.targets.length) return attempt(d.targets[i++]!);
        rawReply(socket, 502, `502 Bad Gateway: ${codeOf(err) ?? "error"} from ${t.host}:${t.port}\n`);
      });
      preq.end();
    };
    attempt(d.targets[i++]!);
  }
}

function plain(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(message) });
  res.end(message);
}

function rawReply(socket: Duplex, status: number, message: string): void {
  const reason = status === 404 ? "Not Found" : status === 503 ? "Service Unavailable" : status === 502 ? "Bad Gateway" : "Error";
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(message)}\r\nconnection: close\r\n\r\n${message}`);
}
