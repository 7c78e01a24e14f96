// The API server's pod streaming subresources — pods/log, pods/exec, pods/attach,
// pods/portforward — forwarded to the node agent that runs the pod, as upstream's
// apiserver → kubelet path does
// (https://kubernetes.io/docs/concepts/architecture/control-plane-node-communication/#api-server-to-kubelet).
// The node is found from the Pod's spec.nodeName; its address is the Node's InternalIP
// and its port status.daemonEndpoints.kubeletEndpoint.Port. The API server
// authenticates to the agent with a client certificate from the cluster CA (CN
// kube-apiserver-kubelet-client); it does not verify the agent's serving certificate
// unless `agentCA` is given (upstream's default without --kubelet-certificate-authority).
// Logs are a plain GET whose body is streamed back; exec/attach/portforward are
// connection upgrades (WebSocket or SPDY/3.1) passed through to the agent byte for byte:
// the API server never needs to understand those protocols.

import https from "node:https";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import tls from "node:tls";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { BadRequest, MethodNotAllowed, NotFoundPath, StatusError, toStatusError } from "../apimachinery/errors.js";
import type { KObject } from "../apimachinery/types.js";
import type { ResourceDef } from "../api/types.js";
import type { Registry } from "./registry.js";
import type { RequestInfo } from "./requestinfo.js";
import type { CertKey, PKI } from "./pki.js";

export interface PodProxyOptions {
  registry: Registry;
  /** The client certificate presented to agents. */
  clientCert: CertKey;
  /** PEM to verify agents' serving certificates with; default: not verified. */
  agentCA?: string;
}

/** Same shape as handlers.ts StreamingHandler. */
export type PodStreamingHandler = (req: IncomingMessage, res: ServerResponse, def: ResourceDef, info: RequestInfo, query: URLSearchParams) => Promise<void>;
/** For requests that ask for a connection upgrade (the server's "upgrade" event). */
export type PodUpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, info: RequestInfo, query: URLSearchParams) => Promise<void>;

export interface PodProxy {
  streaming: PodStreamingHandler;
  upgrade: PodUpgradeHandler;
}

/** CN of the certificate the API server presents to node agents (agents allow it). */
export const KUBELET_CLIENT_CN = "kube-apiserver-kubelet-client";

/**
 * The API server's client certificate for node agents, kept as
 * DATA/pki/apiserver-kubelet-client.{crt,key} (kubeadm's name) and reissued when missing,
 * not from the current CA, or within 90 days of expiry.
 */
export async function kubeletClientCert(pki: PKI): Promise<CertKey> {
  const crt = join(pki.dir, "apiserver-kubelet-client.crt");
  const key = join(pki.dir, "apiserver-kubelet-client.key");
  try {
    const certPem = readFileSync(crt, "utf8");
    const keyPem = readFileSync(key, "utf8");
    const c = new X509Certificate(certPem);
    const ca = new X509Certificate(pki.ca.certPem);
    if (c.checkIssued(ca) && c.verify(ca.publicKey) && Date.parse(c.validTo) - Date.now() > 90 * 86_400_000 && c.checkPrivateKey(createPrivateKey(keyPem))) return { certPem, keyPem };
  } catch {
    // missing or unreadable: issue a new one
  }
  const issued = await pki.issueClientCert(KUBELET_CLIENT_CN, ["system:masters"]);
  writeFileSync(key, issued.keyPem, { mode: 0o600 });
  writeFileSync(crt, issued.certPem, { mode: 0o644 });
  return issued;
}

const LOG_PARAMS = ["follow", "previous", "timestamps", "tailLines", "sinceSeconds", "sinceTime", "limitBytes", "insecureSkipTLSVerifyBackend"];

/** Where a node's agent listens; undefined when the Node has no usable address or port. */
export function agentEndpoint(node: KObject): { host: string; port: number } | undefined {
  const port = Number(node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0);
  const addrs: { type?: string; address?: string }[] = node.status?.addresses ?? [];
  const host = addrs.find((a) => a.type === "InternalIP")?.address ?? addrs.find((a) => a.type === "Hostname")?.address;
  if (!host || !Number.isInteger(port) || port <= 0) return undefined;
  return { host, port };
}

/** The container a request names, or the pod's only container; errors phrased as upstream's. */
export function resolveContainer(pod: KObject, requested: string | null): string {
  const name = pod.metadata.name ?? "";
  const containers: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
  const inits: string[] = (pod.spec?.initContainers ?? []).map((c: { name: string }) => c.name);
  const ephemeral: string[] = (pod.spec?.ephemeralContainers ?? []).map((c: { name: string }) => c.name);
  if (!requested) {
    if (containers.length === 1) return containers[0]!;
    let msg = `a container name must be specified for pod ${name}, choose one of: [${containers.join(" ")}]`;
    if (inits.length) msg += ` or one of the init containers: [${inits.join(" ")}]`;
    if (ephemeral.length) msg += ` or one of the ephemeral containers: [${ephemeral.join(" ")}]`;
    throw new BadRequest(msg);
  }
  if (![...containers, ...inits, ...ephemeral].includes(requested)) throw new BadRequest(`container ${requested} is not valid for pod ${name}`);
  return requested;
}

function rejectUpgrade(socket: Duplex, err: StatusError): void {
  const body = JSON.stringify(err.toStatus());
  socket.end(`HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

export function podProxy(opts: PodProxyOptions): PodProxy {
  const reg = opts.registry;
  const tlsOpts = {
    cert: opts.clientCert.certPem,
    key: opts.clientCert.keyPem,
    ...(opts.agentCA ? { ca: opts.agentCA, rejectUnauthorized: true } : { rejectUnauthorized: false }),
  };

  async function target(info: RequestInfo): Promise<{ pod: KObject; host: string; port: number }> {
    if (info.group !== "" || info.resource !== "pods" || !info.namespace || !info.name) throw new NotFoundPath();
    const pod = await reg.get(reg.def("v1/pods"), info.namespace, info.name);
    const nodeName: string | undefined = pod.spec?.nodeName;
    if (!nodeName) throw new BadRequest(`pod ${info.name} does not have a host assigned`);
    const node = await reg.get(reg.def("v1/nodes"), undefined, nodeName);
    const ep = agentEndpoint(node);
    if (!ep) throw new StatusError(503, "ServiceUnavailable", `node ${nodeName} does not serve the node API (no InternalIP or kubelet port)`);
    return { pod, ...ep };
  }

  /** GET nodes/N/proxy/<path>: the agent's own API (stats/summary, healthz, containerLogs/…). */
  async function nodeProxy(res: ServerResponse, info: RequestInfo, query: URLSearchParams): Promise<void> {
    if (info.verb !== "get") throw new MethodNotAllowed();
    const node = await reg.get(reg.def("v1/nodes"), undefined, info.name!);
    const ep = agentEndpoint(node);
    if (!ep) throw new StatusError(503, "ServiceUnavailable", `node ${info.name} does not serve the node API (no InternalIP or kubelet port)`);
    const rest = (info.subresource ?? "").slice("proxy".length).split("/").filter(Boolean).map(encodeURIComponent).join("/");
    await forwardGet(res, ep.host, ep.port, `/${rest}${query.size ? `?${query}` : ""}`);
  }

  /** One GET to an agent, its answer streamed back as it comes (kubectl logs -f). */
  function forwardGet(res: ServerResponse, host: string, port: number, path: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const up = https.request({ host, port, path, method: "GET", ...tlsOpts }, (ares) => {
        res.writeHead(ares.statusCode ?? 502, { "Content-Type": ares.headers["content-type"] ?? "text/plain", "Cache-Control": "no-cache, private" });
        res.flushHeaders();
        ares.on("data", (c: Buffer) => res.write(c));
        ares.on("end", () => {
          res.end();
          resolve();
        });
        ares.on("error", () => {
          res.destroy();
          resolve();
        });
      });
      res.on("close", () => up.destroy());
      up.on("error", (err) => (res.headersSent ? (res.destroy(), resolve()) : reject(new StatusError(502, "InternalError", `error talking to the node agent: ${err.message}`))));
      up.end();
    });
  }

  const streaming: PodStreamingHandler = async (req, res, _def, info, query) => {
    const sub = info.subresource;
    if (info.group === "" && info.resource === "nodes" && info.name && (sub === "proxy" || sub?.startsWith("proxy/"))) return nodeProxy(res, info, query);
    if (sub === "exec" || sub === "attach" || sub === "portforward") throw new BadRequest(`Upgrade request required`);
    if (sub !== "log") throw new NotFoundPath();
    if (info.verb !== "get") throw new MethodNotAllowed();
    const { pod, host, port } = await target(info);
    const container = resolveContainer(pod, query.get("container"));
    const q = new URLSearchParams();
    for (const p of LOG_PARAMS) {
      const v = query.get(p);
      if (v !== null && p !== "insecureSkipTLSVerifyBackend") q.set(p, v);
    }
    const path = `/containerLogs/${encodeURIComponent(info.namespace!)}/${encodeURIComponent(info.name!)}/${encodeURIComponent(container)}${q.size ? `?${q}` : ""}`;
    // Each chunk goes out at once so `kubectl logs -f` sees lines as they come.
    await forwardGet(res, host, port, path);
  };

  const upgrade: PodUpgradeHandler = async (req, socket, head, info, query) => {
    try {
      const sub = info.subresource;
      const { pod, host, port } = await target(info);
      const phase = pod.status?.phase;
      let path: string;
      const q = new URLSearchParams(query);
      if (sub === "exec" || sub === "attach") {
        if (phase === "Succeeded" || phase === "Failed") throw new BadRequest(`cannot ${sub} into a container in a completed pod; current phase is ${phase}`);
        const container = resolveContainer(pod, query.get("container"));
        q.delete("container");
        path = `/${sub}/${encodeURIComponent(info.namespace!)}/${encodeURIComponent(info.name!)}/${encodeURIComponent(container)}${q.size ? `?${q}` : ""}`;
      } else if (sub === "portforward") {
        if (phase !== "Running") throw new BadRequest(`unable to do port forwarding: pod ${info.name} is not running - current status=${phase ?? "Unknown"}`);
        path = `/portForward/${encodeURIComponent(info.namespace!)}/${encodeURIComponent(info.name!)}${q.size ? `?${q}` : ""}`;
      } else throw new NotFoundPath();

      const agent = tls.connect({ host, port, servername: undefined, ...tlsOpts });
      await new Promise<void>((resolve, reject) => {
        agent.once("secureConnect", () => resolve());
        agent.once("error", (err) => reject(new StatusError(502, "InternalError", `error dialing the node agent: ${err.message}`)));
      });
      // The request as the client sent it, minus its own credentials, onto the agent's port.
      let headText = `${req.method} ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\n`;
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i]!.toLowerCase();
        if (name === "host" || name === "authorization") continue;
        headText += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      }
      agent.write(headText + "\r\n");
      if (head.length) agent.write(head);
      agent.pipe(socket);
      socket.pipe(agent);
      const done = () => {
        agent.destroy();
        socket.destroy();
      };
      agent.on("close", done);
      agent.on("error", done);
      socket.on("close", done);
      socket.on("error", done);
    } catch (e) {
      rejectUpgrade(socket, toStatusError(e));
    }
  };

  return { streaming, upgrade };
}
