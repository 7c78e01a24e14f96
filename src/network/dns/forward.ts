// Forwarding of names outside the cluster domain to the host's resolvers, as CoreDNS'
// `forward . /etc/resolv.conf` does in a default Kubernetes install
// (https://kubernetes.io/docs/tasks/administer-cluster/dns-custom-nameservers/). The
// upstreams come from the host's resolv.conf (resolv.conf(5)); when that names only the
// systemd-resolved stub (127.0.0.53), the real upstreams in
// /run/systemd/resolve/resolv.conf are used, as the kubelet does. Our own service IP is
// never an upstream (a loop). The query bytes are relayed unchanged over a fresh socket
// per query (random source port), over UDP or TCP as the client asked.

import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { readFileSync } from "node:fs";

export interface Upstream {
  host: string;
  port: number;
}

/** nameserver lines of a resolv.conf text. */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m && !out.includes(m[1]!)) out.push(m[1]!);
  }
  return out;
}

function readNameservers(path: string): string[] {
  try {
    return parseResolvConf(readFileSync(path, "utf8"));
  } catch {
    return [];
  }
}

/**
 * The host's upstream resolvers. `exclude` names addresses that would loop back to us
 * (the cluster DNS service IP).
 */
export function hostUpstreams(opts: { resolvConf?: string; systemdResolvConf?: string; exclude?: string[] } = {}): Upstream[] {
  let servers = readNameservers(opts.resolvConf ?? "/etc/resolv.conf");
  if (servers.length > 0 && servers.every((s) => s.startsWith("127.0.0.53"))) {
    const real = readNameservers(opts.systemdResolvConf ?? "/run/systemd/resolve/resolv.conf");
    if (real.length) servers = real;
  }
  const exclude = new Set(opts.exclude ?? []);
  return servers.filter((s) => !exclude.has(s) && !s.includes("%")).map((host) => ({ host, port: 53 }));
}

export class Forwarder {
  constructor(
    readonly upstreams: Upstream[],
    private readonly timeoutMs = 2000,
  ) {}

  /** The upstream's raw answer to a raw query, trying each upstream in turn; undefined when none answered. */
  async forward(query: Buffer, tcp: boolean): Promise<Buffer | undefined> {
    for (const u of this.upstreams) {
      try {
        const r = tcp ? await this.overTCP(u, query) : await this.overUDP(u, query);
        if (r) return r;
      } catch {
        // Try the next upstream.
      }
    }
    return undefined;
  }

  private overUDP(u: Upstream, query: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const sock = createSocket(u.host.includes(":") ? "udp6" : "udp4");
      const id = query.readUInt16BE(0);
      const done = (r: Buffer | undefined) => {
        clearTimeout(timer);
        sock.close();
        resolve(r);
      };
      const timer = setTimeout(() => done(undefined), this.timeoutMs);
      sock.on("error", () => done(undefined));
      sock.on("message", (msg) => {
        // Only the answer to our query (same ID) counts; anything else is ignored.
        if (msg.length >= 12 && msg.readUInt16BE(0) === id) done(msg);
      });
      sock.send(query, u.port, u.host);
    });
  }

  private overTCP(u: Upstream, query: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const sock = connect({ host: u.host, port: u.port });
      let buf = Buffer.alloc(0);
      const done = (r: Buffer | undefined) => {
        clearTimeout(timer);
        sock.destroy();
        resolve(r);
      };
      const timer = setTimeout(() => done(undefined), this.timeoutMs);
      sock.on("error", () => done(undefined));
      sock.on("connect", () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(query.length);
        sock.write(Buffer.concat([len, query]));
      });
      sock.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      });
      sock.on("end", () => done(undefined));
    });
  }
}
