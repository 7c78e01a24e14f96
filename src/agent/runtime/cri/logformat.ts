// The CRI container log format (https://github.com/kubernetes/design-proposals-archive/blob/main/node/kubelet-cri-logging.md):
// one line per chunk, "<RFC3339Nano time> <stdout|stderr> <P|F> <message>", where "P"
// marks a partial line continued by the next record and "F" a full one. The runtime
// writes it; the agent reads it to serve `kubectl logs` (timestamps, tail, since, follow).

export interface CriLogLine {
  /** The timestamp exactly as written (RFC 3339 with nanoseconds). */
  time: string;
  /** Milliseconds since the epoch (nanoseconds dropped). */
  timestampMs: number;
  stream: "stdout" | "stderr";
  /** True for "P" records: the message continues in the next record. */
  partial: boolean;
  message: string;
}

/** Parses one record (without its trailing newline); undefined if malformed. */
export function parseCriLogLine(line: string): CriLogLine | undefined {
  const a = line.indexOf(" ");
  const b = a < 0 ? -1 : line.indexOf(" ", a + 1);
  const c = b < 0 ? -1 : line.indexOf(" ", b + 1);
  if (c < 0 && b < 0) return undefined;
  const time = line.slice(0, a);
  const stream = line.slice(a + 1, b);
  if (stream !== "stdout" && stream !== "stderr") return undefined;
  // The tag field may be followed by the message or end the line (empty message).
  const tag = c < 0 ? line.slice(b + 1) : line.slice(b + 1, c);
  if (tag !== "P" && tag !== "F") return undefined;
  const timestampMs = Date.parse(time);
  if (Number.isNaN(timestampMs)) return undefined;
  return { time, timestampMs, stream, partial: tag === "P", message: c < 0 ? "" : line.slice(c + 1) };
}

/** Formats one record the way a runtime writes it (used by the hollow runtime). */
export function formatCriLogLine(stream: "stdout" | "stderr", message: string, partial = false, at = new Date()): string {
  return `${at.toISOString().replace("Z", "000000Z")} ${stream} ${partial ? "P" : "F"} ${message}\n`;
}
