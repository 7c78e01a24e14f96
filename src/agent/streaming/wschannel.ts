// The WebSocket channel protocol of Kubernetes' remote command API (exec/attach,
// https://kubernetes.io/docs/reference/kubernetes-api/ and KEP-4006 "Transition from
// SPDY to WebSockets"): each binary message starts with one channel byte — 0 stdin,
// 1 stdout, 2 stderr, 3 error (a metav1 Status), 4 resize (JSON {Width, Height}) — and
// v5.channel.k8s.io adds channel 255, "close": the message [255, n] half-closes channel
// n (kubectl sends [255, 0] at the end of its stdin). Port-forward over WebSocket
// (KEP-4006, kubectl 1.31+) tunnels a whole SPDY/3.1 session inside binary messages under
// the subprotocol SPDY/3.1+portforward.k8s.io. Also here: the remotecommand status
// objects written on the error channel/stream.

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const ERROR = 3;
export const RESIZE = 4;
export const CLOSE = 255;

export const WS_V5 = "v5.channel.k8s.io";
export const WS_V4 = "v4.channel.k8s.io";
export const WS_PORTFORWARD_TUNNEL = "SPDY/3.1+portforward.k8s.io";
/** Remote command protocols spoken with SPDY streams (what containerd's server offers). */
export const SPDY_REMOTECOMMAND_PROTOCOLS = ["v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io"];
export const SPDY_PORTFORWARD_PROTOCOL = "portforward.k8s.io";

/** The WebSocket subprotocols the agent accepts, by preference. */
export const WS_PROTOCOLS = [WS_V5, WS_V4, WS_PORTFORWARD_TUNNEL];

/** Picks our protocol from a client's offer (Sec-WebSocket-Protocol); undefined if none. */
export function selectWebSocketProtocol(offered: Iterable<string>): string | undefined {
  const set = new Set([...offered].map((s) => s.trim()));
  return WS_PROTOCOLS.find((p) => set.has(p));
}

export function encodeChannelMessage(channel: number, data: Buffer | string): Buffer {
  const b = typeof data === "string" ? Buffer.from(data) : data;
  const out = Buffer.alloc(b.length + 1);
  out[0] = channel;
  b.copy(out, 1);
  return out;
}

export interface ChannelMessage {
  channel: number;
  data: Buffer;
}

export function decodeChannelMessage(msg: Buffer): ChannelMessage | undefined {
  if (msg.length === 0) return undefined;
  return { channel: msg[0]!, data: msg.subarray(1) };
}

/** The v5 close signal for a channel. */
export function closeChannelMessage(channel: number): Buffer {
  return Buffer.from([CLOSE, channel]);
}

/** metav1.Status for a finished command, as remotecommand v4+ reports it on the error stream. */
export function exitStatus(exitCode: number, message?: string): object {
  if (exitCode === 0) return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success" };
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: message ?? `command terminated with non-zero exit code: error executing command, exit status ${exitCode}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  };
}

/** metav1.Status for a failure that is not the command's own exit (container gone, runtime error). */
export function failureStatus(message: string, reason = "InternalError", code = 500): object {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

/** The exit code carried by a remotecommand status; undefined if it is not a status at all. */
export function exitCodeOf(status: unknown): number | undefined {
  const s = status as { status?: string; reason?: string; details?: { causes?: { reason?: string; message?: string }[] } } | undefined;
  if (!s || typeof s !== "object") return undefined;
  if (s.status === "Success") return 0;
  if (s.reason === "NonZeroExitCode") {
    const c = s.details?.causes?.find((x) => x.reason === "ExitCode");
    const n = Number(c?.message);
    return Number.isInteger(n) ? n : 1;
  }
  return undefined;
}
