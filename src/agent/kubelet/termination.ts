// Container termination: the termination message
// (https://kubernetes.io/docs/tasks/debug/debug-application/determine-reason-pod-failure/#customizing-the-termination-message)
// and graceful stop with preStop (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination).
// The kubelet creates one empty, world-writable file per container instance under the
// pod directory and bind-mounts it at terminationMessagePath (default
// /dev/termination-log); once the container exits its content (at most 4096 bytes)
// becomes state.terminated.message. With terminationMessagePolicy
// FallbackToLogsOnError an empty file on a failed exit falls back to the tail of the
// container log (last 80 lines, at most 2048 bytes).

import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseCriLogLine } from "../runtime/cri/logformat.js";

export const DEFAULT_TERMINATION_MESSAGE_PATH = "/dev/termination-log";
export const MAX_TERMINATION_MESSAGE_BYTES = 4096;
export const FALLBACK_LOG_LINES = 80;
export const FALLBACK_LOG_BYTES = 2048;
/** Upstream minimumGracePeriodInSeconds: a graceful stop gets at least this long. */
export const MIN_GRACE_SECONDS = 2;

/** The kubelet's own directory for a pod (etc-hosts, termination message files). */
export function podDir(dataDir: string, podUID: string): string {
  return join(dataDir, "pods", podUID);
}

/** Creates the termination message file of a new container instance; returns its host path. */
export async function createTerminationMessageFile(podDirectory: string, container: string): Promise<string> {
  const dir = join(podDirectory, "containers", container);
  await mkdir(dir, { recursive: true });
  const file = join(dir, randomBytes(4).toString("hex"));
  await writeFile(file, "");
  // The container may run as any user; the file must be writable by it.
  await chmod(file, 0o666);
  return file;
}

export async function removeTerminationMessageFile(file: string | undefined): Promise<void> {
  if (file) await rm(file, { force: true });
}

async function readHead(file: string, max: number): Promise<string> {
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(max);
    const { bytesRead } = await fh.read(buf, 0, max, 0);
    return buf.subarray(0, bytesRead).toString("utf8");
  } finally {
    await fh.close();
  }
}

/** The last `lines` lines / `maxBytes` bytes of a CRI-format log file, as the container wrote them. */
export async function tailContainerLog(logPath: string, lines = FALLBACK_LOG_LINES, maxBytes = FALLBACK_LOG_BYTES): Promise<string> {
  let text: string;
  try {
    text = await readFile(logPath, "utf8");
  } catch {
    return "";
  }
  const out: string[] = [];
  let cur = "";
  for (const raw of text.split("\n")) {
    const rec = parseCriLogLine(raw);
    if (!rec) continue;
    cur += rec.message;
    if (!rec.partial) {
      out.push(cur);
      cur = "";
    }
  }
  if (cur) out.push(cur);
  let joined = out.slice(-lines).map((l) => `${l}\n`).join("");
  const b = Buffer.from(joined, "utf8");
  if (b.length > maxBytes) joined = b.subarray(b.length - maxBytes).toString("utf8");
  return joined;
}

/** state.terminated.message for an exited instance, or undefined when there is none. */
export async function terminationMessage(opts: { file?: string; policy?: string; exitCode: number; logPath?: string }): Promise<string | undefined> {
  let msg = "";
  if (opts.file) {
    try {
      msg = await readHead(opts.file, MAX_TERMINATION_MESSAGE_BYTES);
    } catch {
      msg = "";
    }
  }
  if (!msg && opts.policy === "FallbackToLogsOnError" && opts.exitCode !== 0 && opts.logPath) msg = await tailContainerLog(opts.logPath);
  return msg || undefined;
}

/** The grace period left for StopContainer after a preStop hook took `elapsedMs` of `graceSeconds`. */
export function remainingGrace(graceSeconds: number, elapsedMs: number): number {
  if (graceSeconds <= 0) return 0;
  return Math.max(MIN_GRACE_SECONDS, Math.ceil(graceSeconds - elapsedMs / 1000));
}
