// How the node-side networking code runs host tools (`nft`, `ip`): through a small
// runner so the same code can program the host or a network namespace (`ip netns exec
// NS …`, see https://man7.org/linux/man-pages/man8/ip-netns.8.html). Tests run the
// service proxy and the route keeper inside namespaces they create; the agent uses the
// host runner.

import { spawn } from "node:child_process";

export interface CommandRunner {
  /** Runs argv (argv[0] looked up in PATH) with optional stdin; resolves stdout, rejects with stderr. */
  run(argv: string[], input?: string): Promise<string>;
  /** For logs: where the commands run ("host" or "netns NAME"). */
  readonly where: string;
}

export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`${argv.join(" ")}: exit ${code}: ${stderr.trim().slice(0, 2000)}`);
    this.name = "CommandError";
  }
}

function exec(argv: string[], input: string | undefined, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new CommandError(argv, null, e.message));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out).toString());
      else reject(new CommandError(argv, code, Buffer.concat(err).toString() || Buffer.concat(out).toString()));
    });
    // EPIPE when the tool exits early is reported through "close" with its stderr.
    child.stdin.on("error", () => {});
    child.stdin.end(input ?? "");
  });
}

/** Runs commands in this process's network namespace. */
export function hostRunner(timeoutMs = 60_000): CommandRunner {
  return { where: "host", run: (argv, input) => exec(argv, input, timeoutMs) };
}

/** Runs commands inside the named network namespace (`ip netns exec NAME …`). */
export function netnsRunner(name: string, timeoutMs = 60_000): CommandRunner {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new Error(`invalid netns name "${name}"`);
  return { where: `netns ${name}`, run: (argv, input) => exec(["ip", "netns", "exec", name, ...argv], input, timeoutMs) };
}
