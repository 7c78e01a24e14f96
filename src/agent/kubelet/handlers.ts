// The actions shared by probes and lifecycle hooks — ProbeHandler and LifecycleHandler
// in the API (https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#Probe,
// https://kubernetes.io/docs/concepts/containers/container-lifecycle-hooks/#hook-handler-implementations):
// exec (a command run in the container through CRI ExecSync, success = exit 0), httpGet
// (a request from the node to the pod IP or `host`, success = status 200–399), tcpSocket
// (a TCP connect) and sleep (hooks only). Each returns ok plus the output that goes into
// the probe's event message.

import http from "node:http";
import https from "node:https";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { ContainerRuntime } from "../runtime/types.js";
import { expandVars, type EnvVar } from "./env.js";

/** User-Agent of probes and hook requests (kube-probe/<major.minor>). */
export const PROBE_USER_AGENT = "kube-probe/1.32";
/** Output kept for events and messages. */
const MAX_OUTPUT = 10 * 1024;

export interface ActionTarget {
  runtime: ContainerRuntime;
  containerId: string;
  /** The container spec (named ports, env for $(VAR) in exec commands). */
  container: any;
  podIP: string;
  /** Literal env of the container, for $(VAR) in exec commands. */
  env?: EnvVar[];
}

export interface ActionResult {
  ok: boolean;
  /** Command output / response body / error text, trimmed. */
  output: string;
}

const errText = (e: unknown): string => String((e as Error)?.message ?? e);

/** A port given as a number or as the name of one of the container's ports. */
export function resolvePort(port: unknown, container: any): number | undefined {
  if (typeof port === "number") return port > 0 && port < 65536 ? port : undefined;
  const s = String(port ?? "");
  if (/^\d+$/.test(s)) return resolvePort(Number(s), container);
  const named = (Array.isArray(container?.ports) ? container.ports : []).find((p: any) => p?.name === s);
  return named?.containerPort;
}

async function execAction(a: any, t: ActionTarget, timeoutSeconds: number): Promise<ActionResult> {
  const env = new Map((t.env ?? []).map((e) => [e.name, e.value]));
  const cmd: string[] = (Array.isArray(a.command) ? a.command : []).map((s: unknown) => expandVars(String(s), (n) => env.get(n)));
  if (cmd.length === 0) return { ok: false, output: "exec action has no command" };
  try {
    const r = await t.runtime.execSync(t.containerId, cmd, timeoutSeconds);
    const out = Buffer.concat([r.stdout, r.stderr]).subarray(0, MAX_OUTPUT).toString("utf8");
    return { ok: r.exitCode === 0, output: r.exitCode === 0 ? out : out || `command ${JSON.stringify(cmd.join(" "))} exited with ${r.exitCode}` };
  } catch (err) {
    const msg = errText(err);
    if (/timeout|deadline/i.test(msg)) return { ok: false, output: `command ${JSON.stringify(cmd.join(" "))} timed out` };
    return { ok: false, output: msg };
  }
}

async function httpAction(a: any, t: ActionTarget, timeoutSeconds: number): Promise<ActionResult> {
  const port = resolvePort(a.port, t.container);
  if (!port) return { ok: false, output: `invalid port ${JSON.stringify(a.port)}` };
  const scheme = String(a.scheme ?? "HTTP").toUpperCase() === "HTTPS" ? "https" : "http";
  const host = a.host || t.podIP;
  let path = String(a.path ?? "/");
  if (!path.startsWith("/")) path = `/${path}`;
  const hostPart = host.includes(":") ? `[${host}]` : host;
  const url = `${scheme}://${hostPart}:${port}${path}`;
  const headers: Record<string, string> = { "User-Agent": PROBE_USER_AGENT, Accept: "*/*" };
  for (const h of Array.isArray(a.httpHeaders) ? a.httpHeaders : []) if (h?.name) headers[h.name] = String(h.value ?? "");
  return new Promise<ActionResult>((resolve) => {
    const lib = scheme === "https" ? https : http;
    const req = lib.request(url, { method: "GET", headers, timeout: timeoutSeconds * 1000, rejectUnauthorized: false, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        if (size < MAX_OUTPUT) chunks.push(c);
        size += c.length;
      });
      res.on("end", () => {
        const code = res.statusCode ?? 0;
        const body = Buffer.concat(chunks).subarray(0, MAX_OUTPUT).toString("utf8");
        if (code >= 200 && code < 400) resolve({ ok: true, output: body });
        else resolve({ ok: false, output: `HTTP probe failed with statuscode: ${code}` });
      });
      res.on("error", (err) => resolve({ ok: false, output: errText(err) }));
    });
    req.on("timeout", () => {
      req.destroy();
      resolve({ ok: false, output: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      const why = err.code === "ECONNREFUSED" ? "connect: connection refused" : errText(err);
      resolve({ ok: false, output: `Get "${url}": dial tcp ${hostPart}:${port}: ${why}` });
    });
    req.end();
  });
}

async function tcpAction(a: any, t: ActionTarget, timeoutSeconds: number): Promise<ActionResult> {
  const port = resolvePort(a.port, t.container);
  if (!port) return { ok: false, output: `invalid port ${JSON.stringify(a.port)}` };
  const host = a.host || t.podIP;
  return new Promise<ActionResult>((resolve) => {
    const sock = net.connect({ host, port });
    const done = (r: ActionResult) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, output: `dial tcp ${host}:${port}: i/o timeout` }), timeoutSeconds * 1000);
    sock.on("connect", () => done({ ok: true, output: "" }));
    sock.on("error", (err: NodeJS.ErrnoException) => done({ ok: false, output: `dial tcp ${host}:${port}: ${err.code === "ECONNREFUSED" ? "connect: connection refused" : errText(err)}` }));
  });
}

/** Runs whichever action the handler holds; `timeoutSeconds` bounds it (0 = none for exec). */
export async function runAction(handler: any, t: ActionTarget, timeoutSeconds: number): Promise<ActionResult> {
  if (handler?.exec) return execAction(handler.exec, t, timeoutSeconds);
  if (handler?.httpGet) return httpAction(handler.httpGet, t, timeoutSeconds > 0 ? timeoutSeconds : 3600);
  if (handler?.tcpSocket) return tcpAction(handler.tcpSocket, t, timeoutSeconds > 0 ? timeoutSeconds : 3600);
  if (handler?.sleep) {
    await sleep(Math.max(0, Number(handler.sleep.seconds ?? 0)) * 1000);
    return { ok: true, output: "" };
  }
  if (handler?.grpc) return { ok: false, output: "gRPC probes are not supported by this node" };
  return { ok: false, output: "handler has no action" };
}
