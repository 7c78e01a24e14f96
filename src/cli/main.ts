// The `tug` command line: one program for the control plane (`tug server`), a node
// (`tug agent`), both at once (`tug up`), and tools (`tug kubeconfig`, `tug token`,
// `tug image`), in the shape of k3s's single binary (https://docs.k3s.io/cli).

import { readFileSync } from "node:fs";
import { setMaxListeners } from "node:events";
import { join } from "node:path";
import { isIP } from "node:net";
import { flagHelp, parseFlags, parseListen, UsageError, type FlagSpec } from "./flags.js";
import { agentOnlyFlags, downFlags, imageFlags, nodeFlags, upAgentFlags } from "./agent.js";
import { clusterFlags, clusterOptions, parseGoDuration } from "./clusterflags.js";

interface Command {
  name: string;
  summary: string;
  flags: FlagSpec[];
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

const dataDirFlag: FlagSpec = { name: "data-dir", type: "string", default: "/var/lib/tugboat", help: "where state, certificates and the kubeconfig live" };
const hpaSyncFlag: FlagSpec = { name: "horizontal-pod-autoscaler-sync-period", type: "string", default: "15s", help: "how often the HPA controller re-evaluates each autoscaler (Go duration: 15s, 500ms, 1m)" };

/** A Go-style duration flag ("15s", "500ms", "1m") in milliseconds. */
function durationFlagMs(name: string, v: unknown): number {
  const ms = parseGoDuration(String(v));
  if (ms === undefined) throw new UsageError(`--${name} must be a duration like 15s or 500ms, got ${JSON.stringify(v)}`);
  return ms;
}

// Every interface, like k3s: pods reach the API through the `kubernetes` Service, whose
// endpoint is the advertise address. Clients need a certificate or a token anyway; the
// kubeconfig still says https://127.0.0.1:6443.
const listenFlag: FlagSpec = { name: "listen", type: "string", default: "0.0.0.0:6443", help: "API server address HOST:PORT (127.0.0.1:PORT keeps it off the network, but then pods cannot reach the API)" };

/** Cluster addressing, cluster DNS and ingress (tug server and tug up). */
const networkFlags: FlagSpec[] = [
  { name: "advertise-address", type: "string", help: "address pods and nodes reach this server at (kubernetes/kube-dns endpoints, Ingress status); default: the host's first non-internal IPv4" },
  { name: "cluster-domain", type: "string", default: "cluster.local", help: "the cluster DNS zone" },
  { name: "cluster-dns-port", type: "string", default: "10053", help: "port of the built-in DNS server (UDP and TCP); the kube-dns Service (the tenth address of --service-cidr, port 53) points here" },
  { name: "cluster-dns-bind", type: "string", default: "0.0.0.0", help: "address the built-in DNS server listens on" },
  { name: "ingress-http-port", type: "string", default: "80", help: "HTTP port of the built-in ingress controller" },
  { name: "ingress-https-port", type: "string", default: "443", help: "HTTPS port of the built-in ingress controller" },
  { name: "ingress-bind", type: "string", default: "0.0.0.0", help: "address the ingress controller listens on" },
  { name: "disable", type: "string", help: "built-in components not to run, comma separated: ingress, dns" },
  ...clusterFlags,
];

function portFlag(v: Record<string, string | boolean | undefined>, name: string): number {
  const n = Number(v[name]);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--${name} must be a port number (0-65535), got ${JSON.stringify(v[name])}`);
  return n;
}

function networkOptions(v: Record<string, string | boolean | undefined>) {
  const disable = typeof v.disable === "string" ? v.disable.split(",").map((x) => x.trim()).filter(Boolean) : [];
  for (const d of disable) if (d !== "ingress" && d !== "dns") throw new UsageError(`--disable takes ingress and/or dns, got ${JSON.stringify(d)}`);
  const adv = v["advertise-address"];
  if (typeof adv === "string" && isIP(adv) === 0) throw new UsageError(`--advertise-address must be an IP address, got ${JSON.stringify(adv)}`);
  return {
    advertiseAddress: typeof v["advertise-address"] === "string" ? v["advertise-address"] : undefined,
    clusterDomain: String(v["cluster-domain"] ?? "cluster.local"),
    clusterDNSPort: portFlag(v, "cluster-dns-port"),
    clusterDNSBind: String(v["cluster-dns-bind"] ?? "0.0.0.0"),
    ingressHttpPort: portFlag(v, "ingress-http-port"),
    ingressHttpsPort: portFlag(v, "ingress-https-port"),
    ingressBind: String(v["ingress-bind"] ?? "0.0.0.0"),
    disable,
    ...clusterOptions(v),
  };
}

/** Runs until SIGINT/SIGTERM, then stops everything in order. */
function signalController(): AbortController {
  const ac = new AbortController();
  // Every runnable and informer listens on the one process-wide signal.
  setMaxListeners(0, ac.signal);
  // …and the supervisor's and informers' derived signals.
  setMaxListeners(0);
  const stop = () => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  return ac;
}

const commands: Command[] = [
  {
    name: "server",
    summary: "run the control plane: API server, store, controllers",
    flags: [
      dataDirFlag,
      listenFlag,
      { name: "store", type: "string", help: "store URL (sqlite:///path or etcd://host:port); default sqlite in the data dir" },
      { name: "leader-elect", type: "boolean", default: true, help: "elect a leader among servers sharing a store before running controllers" },
      { name: "controllers", type: "string", default: "*", help: "controllers to run: '*' all, 'name' enable, '-name' disable (comma separated)" },
      hpaSyncFlag,
      ...networkFlags,
    ],
    async run(v) {
      const { startServer } = await import("./server.js");
      const { host, port } = parseListen(String(v.listen));
      const ac = signalController();
      const t0 = performance.now();
      const s = await startServer(
        {
          dataDir: String(v["data-dir"]),
          host,
          port,
          storeURL: v.store as string | undefined,
          leaderElect: v["leader-elect"] !== false,
          controllers: String(v.controllers).split(","),
          hpaSyncPeriodMs: durationFlagMs(hpaSyncFlag.name, v[hpaSyncFlag.name]),
          ...networkOptions(v),
        },
        ac.signal,
      );
      console.error(`tug server listening on ${s.url} (ready in ${Math.round(performance.now() - t0)} ms)`);
      console.error(`kubeconfig: ${s.kubeconfigPath}    try: kubectl --kubeconfig ${s.kubeconfigPath} get nodes`);
      await s.done;
      return 0;
    },
  },
  {
    name: "up",
    summary: "run a whole cluster in one process: server plus a containerd node and a demo app (--hollow-nodes N: simulated nodes)",
    flags: [
      dataDirFlag,
      listenFlag,
      { name: "hollow-nodes", type: "string", help: "run N hollow (simulated) nodes instead of the containerd agent" },
      { name: "hollow-cpu", type: "string", default: "4", help: "cpu capacity of each hollow node" },
      { name: "hollow-memory", type: "string", default: "16Gi", help: "memory capacity of each hollow node" },
      { name: "hollow-pods", type: "string", default: "110", help: "pod capacity of each hollow node" },
      hpaSyncFlag,
      ...upAgentFlags,
      ...networkFlags,
    ],
    async run(v) {
      const { startServer } = await import("./server.js");
      const { hollowAgent, nodeClient } = await import("./up.js");
      const { host, port } = parseListen(String(v.listen));
      const hollow = v["hollow-nodes"] === undefined ? undefined : Number(v["hollow-nodes"]);
      if (hollow === undefined) {
        const { runUpReal } = await import("./up.js");
        const server = { dataDir: String(v["data-dir"]), host, port, hpaSyncPeriodMs: durationFlagMs(hpaSyncFlag.name, v[hpaSyncFlag.name]), ...networkOptions(v) };
        return runUpReal({ server, values: v }, signalController().signal);
      }
      if (!Number.isInteger(hollow) || hollow < 0) throw new UsageError(`--hollow-nodes must be a non-negative integer, got ${String(v["hollow-nodes"])}`);
      const ac = signalController();
      const { hollowMetricsSource } = await import("../agent/hollow/metricssource.js");
      const serverOpts = { dataDir: String(v["data-dir"]), host, port, hpaSyncPeriodMs: durationFlagMs(hpaSyncFlag.name, v[hpaSyncFlag.name]), ...networkOptions(v) };
      const s = await startServer(serverOpts, ac.signal, (base) => {
        base.metrics.add(hollowMetricsSource());
        return [
        hollowAgent(nodeClient(base.kubeconfigPath), {
          count: hollow,
          capacity: { cpu: String(v["hollow-cpu"]), memory: String(v["hollow-memory"]), pods: String(v["hollow-pods"]) },
          clusterCIDR: serverOpts.clusterCIDR,
        }),
        ];
      });
      console.error(`tug up: server ${s.url} with ${hollow} hollow nodes`);
      console.error(`export KUBECONFIG=${s.kubeconfigPath}; kubectl get nodes`);
      await s.done;
      return 0;
    },
  },
  {
    name: "agent",
    summary: "run a containerd node that joins a server (--hollow N for simulated nodes)",
    flags: [
      { name: "kubeconfig", type: "string", help: "kubeconfig to reach the server (default: --server/--token/--ca-file)" },
      { name: "server", type: "string", help: "API server URL, e.g. https://127.0.0.1:6443" },
      { name: "token", type: "string", help: "join token (tug token on the server)" },
      { name: "ca-file", type: "string", help: "the cluster CA certificate (DATA/pki/ca.crt on the server)" },
      { name: "hollow", type: "string", help: "run N hollow (simulated) nodes" },
      { name: "name-prefix", type: "string", default: "hollow-node-", help: "hollow node name prefix" },
      ...agentOnlyFlags,
      ...nodeFlags,
    ],
    async run(v) {
      const { hollowAgent, nodeClient } = await import("./up.js");
      const { createHttpClient } = await import("../client/http.js");
      if (v.hollow === undefined) {
        const { runRealAgent } = await import("./agent.js");
        return runRealAgent(v, signalController().signal);
      }
      const n = Number(v.hollow);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`--hollow must be a non-negative integer, got ${String(v.hollow)}`);
      let client;
      if (v.kubeconfig) client = nodeClient(String(v.kubeconfig));
      else {
        if (!v.server || !v.token || !v["ca-file"]) throw new UsageError("give --kubeconfig, or --server, --token and --ca-file");
        client = createHttpClient({ server: String(v.server), token: String(v.token), ca: readFileSync(String(v["ca-file"]), "utf8") });
      }
      const ac = signalController();
      // Hollow nodes pick their pod subnets from the server's --cluster-cidr (kube-system/tugboat-config).
      const { readClusterNetwork } = await import("../apiserver/clusterconfig.js");
      const { consoleLogger } = await import("../client/runnable.js");
      const net = await readClusterNetwork(client, { signal: ac.signal, log: consoleLogger("hollow") });
      if (!net) return 0;
      await hollowAgent(client, { count: n, namePrefix: String(v["name-prefix"]), clusterCIDR: net.clusterCIDR }).start(ac.signal);
      return 0;
    },
  },
  {
    name: "image",
    summary: "node images: 'build' (tugboat/busybox:1 and pause from busybox-static, offline), 'import FILE.tar'",
    flags: imageFlags,
    async run(v, positionals) {
      const { runImage } = await import("./agent.js");
      return runImage(v, positionals);
    },
  },
  {
    name: "down",
    summary: "stop every pod of this node and remove containerd, the pod bridge and routes (like k3s-killall.sh)",
    flags: downFlags,
    async run(v) {
      const { runDown } = await import("./agent.js");
      return runDown(v);
    },
  },
  {
    name: "kubeconfig",
    summary: "print the admin kubeconfig of a data dir",
    flags: [dataDirFlag],
    async run(v) {
      process.stdout.write(readFileSync(join(String(v["data-dir"]), "kubeconfig.yaml"), "utf8"));
      return 0;
    },
  },
  {
    name: "token",
    summary: "print the join token agents use to register with this server",
    flags: [dataDirFlag],
    async run(v) {
      process.stdout.write(readFileSync(join(String(v["data-dir"]), "pki", "token"), "utf8").trim() + "\n");
      return 0;
    },
  },
  {
    name: "version",
    summary: "print the Tugboat and Kubernetes API versions",
    flags: [],
    async run() {
      const { versionInfo } = await import("../apiserver/server.js");
      const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8"));
      console.log(`tugboat ${pkg.version} (Kubernetes API ${(versionInfo() as { gitVersion: string }).gitVersion})`);
      return 0;
    },
  },
];

export function usage(): string {
  const lines = [
    "tug: a small Kubernetes-compatible container orchestrator",
    "",
    "Usage: tug COMMAND [flags]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`),
    "",
    "Run 'tug COMMAND --help' for a command's flags.",
  ];
  return lines.join("\n");
}

export function registerCommand(c: Command): void {
  commands.push(c);
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    console.error(`unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(`Usage: tug ${cmd.name} [flags]\n\n${cmd.summary}\n\nFlags:\n${flagHelp(cmd.flags)}`);
    return 0;
  }
  try {
    const { values, positionals } = parseFlags(rest, cmd.flags);
    return await cmd.run(values, positionals);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`tug ${cmd.name}: ${e.message}\n\nFlags:\n${flagHelp(cmd.flags)}`);
      return 2;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err?.stack ?? String(err));
    process.exit(1);
  },
);
