// The node agent's own HTTPS port, the kubelet API (port 10250 upstream;
// https://kubernetes.io/docs/reference/access-authn-authz/kubelet-authn-authz/ and
// https://kubernetes.io/docs/concepts/architecture/control-plane-node-communication/#control-plane-to-node):
// the API server reaches it for `kubectl logs/exec/attach/cp/port-forward` and scrapes
// /stats/summary for metrics.k8s.io. Paths follow the kubelet's:
//   GET  /healthz                                       (no authentication)
//   GET  /containerLogs/{ns}/{pod}/{container}?follow&previous&tailLines&timestamps&sinceSeconds&sinceTime&limitBytes
//   *    /exec/{ns}/{pod}/{container}?command=…&stdin&stdout&stderr&tty   (Upgrade: websocket | SPDY/3.1)
//   *    /attach/{ns}/{pod}/{container}?stdin&stdout&stderr&tty           (Upgrade: websocket | SPDY/3.1)
//   *    /portForward/{ns}/{pod}                                          (Upgrade: websocket SPDY/3.1+portforward.k8s.io | SPDY/3.1)
//   GET  /stats/summary
// Authentication: TLS client certificates only. A caller must present a certificate
// signed by the cluster CA whose CN is in `allowedUsers` (default
// "kube-apiserver-kubelet-client", the certificate the API server uses) or whose O is in
// `allowedGroups` (default "system:masters", e.g. the admin); everything else gets 401/403.
// Serving certificate: the one given, else a self-signed one made at start (the API
// server does not verify it, as upstream without --kubelet-certificate-authority).
// Pods and containers are found through CRI labels (tugboat.io/pod-namespace,
// tugboat.io/pod-name on sandboxes; tugboat.io/container-name on containers).

import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import { existsSync } from "node:fs";
import { WebSocketServer } from "ws";
import { BadRequest, Forbidden, NotFound, NotFoundPath, StatusError, Unauthorized, toStatusError } from "../../apimachinery/errors.js";
import { silentLogger, type Logger, type Runnable } from "../../client/runnable.js";
import { selfSignedServingCert, type CertKey } from "../../apiserver/pki.js";
import type { ContainerRuntime, ContainerSummary, PodSandboxSummary } from "../runtime/types.js";
import { CONTAINER_NAME_LABEL, POD_NAME_LABEL, POD_NAMESPACE_LABEL } from "../kubelet/podworker.js";
import { bridgeWebSocketRemoteCommand, proxySpdyUpgrade, tunnelWebSocketToSpdy } from "../streaming/remotecommand.js";
import { SPDY_PORTFORWARD_PROTOCOL, WS_PORTFORWARD_TUNNEL, selectWebSocketProtocol } from "../streaming/wschannel.js";
import { StatsCollector } from "../stats/summary.js";
import { parseLogOptions, writeContainerLog } from "./logs.js";

/** CN of the client certificate the API server presents to agents. */
export const APISERVER_KUBELET_CLIENT_CN = "kube-apiserver-kubelet-client";

const TUNNEL_ALIAS = "SPDY-3.1-portforward.k8s.io";

export interface AgentServerOptions {
  runtime: ContainerRuntime;
  nodeName: string;
  /** PEM of the cluster CA; client certificates must chain to it. */
  ca: string;
  /** Serving certificate and key; default a self-signed one for `hosts`. */
  tls?: CertKey;
  /** Extra SAN entries for the self-signed certificate (node IP, name). */
  hosts?: string[];
  /** Default 0.0.0.0:10250; port 0 picks a free port (see `.port`). */
  listen?: { host?: string; port?: number };
  allowedUsers?: string[];
  allowedGroups?: string[];
  log?: Logger;
  /** Shared collector (default: one of our own). */
  stats?: StatsCollector;
}

export interface AgentServer extends Runnable {
  /** The bound port (valid once ready() resolved). */
  readonly port: number;
  readonly stats: StatsCollector;
}

function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === "" || v === "1" || v === "true";
}

function sendError(res: ServerResponse, err: StatusError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(err.toStatus());
  res.writeHead(err.code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

/** An HTTP error on a socket that asked for an upgrade (no ServerResponse there). */
function rejectUpgrade(socket: Duplex, err: StatusError): void {
  const body = JSON.stringify(err.toStatus());
  socket.end(`HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export function agentServer(opts: AgentServerOptions): AgentServer {
  const log = opts.log ?? silentLogger;
  const rt = opts.runtime;
  const stats = opts.stats ?? new StatsCollector(rt, opts.nodeName);
  const allowedUsers = new Set(opts.allowedUsers ?? [APISERVER_KUBELET_CLIENT_CN]);
  const allowedGroups = new Set(opts.allowedGroups ?? ["system:masters"]);
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => selectWebSocketProtocol([...protocols].map((p) => (p === TUNNEL_ALIAS ? WS_PORTFORWARD_TUNNEL : p))) ?? false,
  });
  let server: https.Server | undefined;
  let port = 0;
  let markReady!: () => void;
  const readyP = new Promise<void>((r) => (markReady = r));

  function authenticate(req: IncomingMessage): void {
    const socket = req.socket as TLSSocket;
    if (!socket.authorized) throw new Unauthorized();
    const subj = socket.getPeerCertificate()?.subject;
    const cn = Array.isArray(subj?.CN) ? subj.CN[0] : subj?.CN;
    const orgs = subj?.O === undefined ? [] : Array.isArray(subj.O) ? subj.O : [subj.O];
    if ((cn && allowedUsers.has(cn)) || orgs.some((o) => allowedGroups.has(o))) return;
    throw new Forbidden(`user "${cn ?? ""}" may not use the node API of ${opts.nodeName}`);
  }

  async function findSandbox(ns: string, pod: string): Promise<PodSandboxSummary> {
    const all = await rt.listPodSandboxes({ labelSelector: { [POD_NAMESPACE_LABEL]: ns, [POD_NAME_LABEL]: pod } });
    const best = all.sort((a, b) => Number(b.state === "Ready") - Number(a.state === "Ready") || b.createdAt - a.createdAt)[0];
    if (!best) throw new NotFound("pods", pod);
    return best;
  }

  async function findContainer(ns: string, pod: string, name: string): Promise<{ sandbox: PodSandboxSummary; container: ContainerSummary }> {
    const sandbox = await findSandbox(ns, pod);
    const cs = await rt.listContainers({ podSandboxId: sandbox.id, labelSelector: { [CONTAINER_NAME_LABEL]: name } });
    const container = cs.sort((a, b) => b.attempt - a.attempt || b.createdAt - a.createdAt)[0];
    if (!container) throw new BadRequest(`container "${name}" in pod "${pod}" is waiting to start: ContainerCreating`);
    return { sandbox, container };
  }

  async function serveLogs(req: IncomingMessage, res: ServerResponse, parts: string[], q: URLSearchParams): Promise<void> {
    const [ns, pod, name] = parts;
    if (!ns || !pod || !name) throw new NotFoundPath();
    const o = parseLogOptions(q);
    const { container } = await findContainer(ns, pod, name);
    const status = await rt.containerStatus(container.id);
    let path = status.logPath;
    let follow = o.follow;
    if (o.previous) {
      // The kubelet names log files <container>/<restartCount>.log: the previous run is one less.
      path = join(dirname(status.logPath), `${container.attempt - 1}.log`);
      if (container.attempt === 0 || !existsSync(path)) throw new BadRequest(`previous terminated container "${name}" in pod "${pod}" not found`);
      follow = false;
    }
    if (!path || !existsSync(path)) throw new BadRequest(`container "${name}" in pod "${pod}" has no log yet`);
    const abort = new AbortController();
    res.on("close", () => abort.abort());
    res.writeHead(200, { "Content-Type": "text/plain", "Transfer-Encoding": "chunked", "Cache-Control": "no-cache" });
    res.flushHeaders();
    await writeContainerLog(path, { ...o, follow }, res, { running: async () => (await rt.containerStatus(container.id)).state === "Running" }, abort.signal);
    res.end();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://agent");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (url.pathname === "/healthz") {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end("ok");
      return;
    }
    authenticate(req);
    if (parts[0] === "containerLogs" && req.method === "GET") return serveLogs(req, res, parts.slice(1), url.searchParams);
    if (url.pathname === "/stats/summary" && req.method === "GET") {
      const body = JSON.stringify(await stats.summary());
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (parts[0] === "exec" || parts[0] === "attach" || parts[0] === "portForward") {
      throw new BadRequest(`${parts[0]} needs a connection upgrade (websocket or SPDY/3.1)`);
    }
    throw new NotFoundPath();
  }

  /** exec/attach/portForward: resolve the runtime's streaming URL, then serve the client's protocol. */
  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    authenticate(req);
    const url = new URL(req.url ?? "/", "https://agent");
    const q = url.searchParams;
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const kind = parts[0];
    const websocket = String(req.headers.upgrade ?? "").toLowerCase() === "websocket";
    let target: string;
    let tty = false;
    const io = { stdin: boolParam(q, "stdin"), stdout: boolParam(q, "stdout"), stderr: boolParam(q, "stderr") };
    if (kind === "exec" || kind === "attach") {
      const [, ns, pod, name] = parts;
      if (!ns || !pod || !name) throw new NotFoundPath();
      tty = boolParam(q, "tty");
      if (!io.stdin && !io.stdout && !io.stderr) throw new BadRequest("you must specify at least 1 of stdin, stdout, stderr");
      const { container } = await findContainer(ns, pod, name);
      if (container.state !== "Running") throw new BadRequest(`container ${name} is not running (state: ${container.state})`);
      if (kind === "exec") {
        const cmd = q.getAll("command");
        if (!cmd.length) throw new BadRequest("you must specify at least one command for the container");
        target = (await rt.exec({ containerId: container.id, cmd, tty, ...io })).url;
      } else {
        target = (await rt.attach({ containerId: container.id, tty, ...io })).url;
      }
      log.info("streaming session", { kind, pod: `${ns}/${pod}`, container: name, websocket });
    } else if (kind === "portForward") {
      const [, ns, pod] = parts;
      if (!ns || !pod) throw new NotFoundPath();
      const sandbox = await findSandbox(ns, pod);
      if (sandbox.state !== "Ready") throw new BadRequest(`pod ${pod} is not running`);
      target = (await rt.portForward(sandbox.id, [])).url;
      log.info("streaming session", { kind, pod: `${ns}/${pod}`, websocket });
    } else throw new NotFoundPath();

    if (!websocket) return proxySpdyUpgrade(req, socket, head, target);
    // "SPDY/3.1+portforward.k8s.io" is not an RFC 6455 token ('/'), which the ws library
    // refuses to parse; kubectl sends it anyway. Parse an alias, answer with the real name.
    const offered = req.headers["sec-websocket-protocol"];
    if (typeof offered === "string") req.headers["sec-websocket-protocol"] = offered.split(",").map((p) => (p.trim() === WS_PORTFORWARD_TUNNEL ? TUNNEL_ALIAS : p.trim())).join(", ");
    wss.handleUpgrade(req, socket, head, (ws) => {
      const protocol = ws.protocol;
      const run =
        kind === "portForward"
          ? protocol === WS_PORTFORWARD_TUNNEL
            ? tunnelWebSocketToSpdy(ws, target, [SPDY_PORTFORWARD_PROTOCOL])
            : Promise.resolve(ws.close(1002, "port-forward needs subprotocol SPDY/3.1+portforward.k8s.io"))
          : protocol === WS_PORTFORWARD_TUNNEL
            ? Promise.resolve(ws.close(1002, "unsupported subprotocol"))
            : bridgeWebSocketRemoteCommand(ws, protocol, target, { ...io, tty });
      run.catch((err) => log.error("streaming session failed", { error: String((err as Error)?.message ?? err) }));
    });
  }

  async function listen(): Promise<void> {
    const tls = opts.tls ?? (await selfSignedServingCert([...new Set(["127.0.0.1", "localhost", hostname().toLowerCase(), ...(opts.hosts ?? [])])], opts.nodeName));
    server = https.createServer({ cert: tls.certPem, key: tls.keyPem, ca: opts.ca, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      handle(req, res).catch((e) => {
        const err = toStatusError(e);
        if (err.code >= 500) log.error("node API request failed", { path: req.url, error: err.message });
        sendError(res, err);
      });
    });
    server.requestTimeout = 0;
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on("error", () => socket.destroy());
      handleUpgrade(req, socket, head).catch((e) => rejectUpgrade(socket, toStatusError(e)));
    });
    const s = server;
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(opts.listen?.port ?? 10250, opts.listen?.host ?? "0.0.0.0", () => {
        s.off("error", reject);
        resolve();
      });
    });
    const a = s.address();
    port = typeof a === "object" && a ? a.port : 0;
    log.info("node API listening", { node: opts.nodeName, port });
  }

  return {
    name: `agent-server-${opts.nodeName}`,
    needsLeader: false,
    get port() {
      return port;
    },
    stats,
    ready: () => readyP,
    async start(signal) {
      await listen();
      markReady();
      // Prime the CPU rates so the first scrape already has usageNanoCores.
      void stats.summary().catch(() => {});
      await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => {
        server!.close(() => resolve());
        server!.closeAllConnections();
      });
    },
  };
}
