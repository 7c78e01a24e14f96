// `tug up` and `tug agent --hollow N`: a node side next to (or away from) the control
// plane. In `tug up` the node talks to the server over HTTPS with the admin kubeconfig,
// exactly as a remote agent would: no in-process back door (ARCHITECTURE.md, Runnables).
// Hollow nodes (src/agent/hollow) simulate kubelets for fast tests and scale runs.

import { loadKubeconfig } from "../client/kubeconfig.js";
import { createHttpClient } from "../client/http.js";
import { SharedInformerFactory } from "../client/sharedinformers.js";
import { consoleLogger, type Logger, type Runnable } from "../client/runnable.js";
import type { Client } from "../client/types.js";
import { hollowFleet } from "../agent/hollow/fleet.js";

export interface HollowAgentOptions {
  count: number;
  namePrefix?: string;
  capacity?: { cpu?: string; memory?: string; pods?: string };
  leaseRenewIntervalMs?: number;
  log?: Logger;
}

/** A client for a node: HTTPS with the given kubeconfig. */
export function nodeClient(kubeconfigPath: string): Client {
  return createHttpClient(loadKubeconfig(kubeconfigPath));
}

/** Hollow nodes as one Runnable with their own informers over the given client. */
export function hollowAgent(client: Client, opts: HollowAgentOptions): Runnable {
  const informers = new SharedInformerFactory(client, {});
  const fleet = hollowFleet({
    client,
    informers,
    count: opts.count,
    namePrefix: opts.namePrefix,
    capacity: opts.capacity,
    leaseRenewIntervalMs: opts.leaseRenewIntervalMs,
    log: opts.log ?? consoleLogger("hollow"),
    onRegistered: (ms) => (opts.log ?? consoleLogger("hollow")).info(`${opts.count} hollow nodes registered in ${Math.round(ms)} ms`),
  });
  return {
    name: "hollow-agent",
    needsLeader: false,
    async start(signal) {
      informers.start(signal);
      await fleet.start(signal);
      await informers.stopped();
    },
  };
}
