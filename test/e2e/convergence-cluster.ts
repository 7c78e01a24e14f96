// A hollow cluster for the convergence end-to-end tests (issue 3's Acceptance): one
// `tug up --hollow-nodes 5` process driven with the real kubectl, plus the small verbs
// those tests share: run kubectl and require success, read objects as JSON, and wait
// for a condition. Several scenarios run concurrently in one cluster, each in its own
// namespace, so a file costs one server start-up rather than one per scenario.
// Hollow nodes: src/agent/hollow (pods run on simulated kubelets; annotations
// tugboat.dev/exit-after, exit-code, cpu-usage drive them; tugboat.dev/hollow-heartbeat
// on a Node stops its heartbeat).

import { eventually, kubectlOk, startTug, type KubectlOptions, type Tug } from "./harness.js";

export interface HollowCluster {
  tug: Tug;
  /** kubectl that must exit 0; returns stdout. */
  ok(args: string[], o?: KubectlOptions): Promise<string>;
  /** `kubectl get … -o json`, parsed. */
  json(args: string[]): Promise<any>;
  /** `kubectl apply -f -` with the given YAML. */
  apply(yaml: string, ns?: string): Promise<void>;
  /** Poll fn (which may throw) until it returns a truthy value. */
  until<T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs?: number, intervalMs?: number): Promise<T>;
  cleanup(): Promise<void>;
}

export async function startHollowCluster(extraArgs: string[] = []): Promise<HollowCluster> {
  const tug = await startTug({ command: "up", args: ["--hollow-nodes", "5", ...extraArgs], readyTimeoutMs: 90_000 });
  const ok = (args: string[], o?: KubectlOptions) => kubectlOk(tug, args, o);
  const c: HollowCluster = {
    tug,
    ok,
    json: async (args) => JSON.parse(await ok([...args, "-o", "json"])),
    apply: async (yaml, ns) => void (await ok(["apply", ...(ns ? ["-n", ns] : []), "-f", "-"], { stdin: yaml })),
    until: (what, fn, timeoutMs = 30_000, intervalMs = 250) => eventually(fn, timeoutMs, intervalMs, what),
    cleanup: () => tug.cleanup(),
  };
  // Nodes register right after /readyz; every scenario needs all five.
  await c.until("5 Ready hollow nodes", async () => {
    const nodes = (await c.json(["get", "nodes"])).items as any[];
    return nodes.filter((n) => n.status?.conditions?.some((x: any) => x.type === "Ready" && x.status === "True")).length === 5;
  }, 60_000);
  return c;
}

export function isReady(pod: any): boolean {
  return !pod.metadata?.deletionTimestamp && pod.status?.phase === "Running" && (pod.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True");
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
