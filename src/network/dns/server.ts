// The cluster DNS server (the role CoreDNS plays in Kubernetes,
// https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/): a UDP and
// TCP listener (RFC 1035 §4.2; TCP messages carry a two-byte length prefix, RFC 7766)
// that answers the cluster domain from ClusterRecords and relays every other name to
// the host's resolvers through the Forwarder. Messages are parsed and built with the
// dns-packet library. UDP answers larger than the client can take (512 bytes, or the
// EDNS(0) payload size it advertised, RFC 6891) are sent truncated so the client retries
// over TCP. It runs on every server (it only reads informer caches); a port that cannot
// be bound is retried in the background so a busy port never stops the control plane.

import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server, type Socket as TCPSocket } from "node:net";
import { randomInt } from "node:crypto";
import { networkInterfaces } from "node:os";
import dnsPacket from "dns-packet";
import type { Logger, Runnable } from "../../client/runnable.js";
import { silentLogger } from "../../client/runnable.js";
import type { SharedInformerFactory } from "../../client/sharedinformers.js";
import { ClusterRecords, type Resolution } from "./records.js";
import { Forwarder, hostUpstreams, type Upstream } from "./forward.js";
import { informerClusterView } from "./clusterview.js";

const QR = 1 << 15;
const RCODES: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
const EDNS_PAYLOAD = 1232;

export interface DNSServerOptions {
  records: ClusterRecords;
  /** Upstreams for names outside the cluster domain; none = SERVFAIL for those. */
  forwarder?: Forwarder;
  host?: string;
  port?: number;
  log?: Logger;
}

type Packet = ReturnType<typeof dnsPacket.decode>;

export class ClusterDNSServer {
  private readonly udp = new Map<string, Socket>();
  private tcp?: Server;
  private rescan?: NodeJS.Timeout;
  private readonly conns = new Set<TCPSocket>();
  private readonly log: Logger;

  constructor(private readonly opts: DNSServerOptions) {
    this.log = opts.log ?? silentLogger;
  }

  /**
   * Binds UDP and TCP on the same port (port 0: UDP picks, TCP follows). For the
   * wildcard address UDP is bound per local IPv4 address instead (rescanned every 15 s):
   * a wildcard UDP socket answers from whatever source address routing picks, and a
   * pod that reached us through the kube-dns DNAT drops an answer from an address its
   * conntrack entry does not expect.
   */
  async listen(): Promise<{ host: string; port: number }> {
    // With port 0 the kernel picks a free UDP port; the same number may be taken for TCP
    // by someone else, so try again with a new pick a few times.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.listenOnce();
      } catch (e) {
        if ((this.opts.port ?? 10053) !== 0 || (e as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt >= 5) throw e;
      }
    }
  }

  private async listenOnce(): Promise<{ host: string; port: number }> {
    const host = this.opts.host ?? "0.0.0.0";
    const wildcard = host === "0.0.0.0";
    const addrs = wildcard ? localIPv4Addresses() : [host];
    let port = this.opts.port ?? 10053;
    try {
      for (const a of addrs) {
        await this.bindUDP(a, port);
        port = this.udp.get(a)!.address().port;
      }
      const tcp = createServer((s) => this.serveTCP(s));
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, host, () => {
          tcp.off("error", reject);
          resolve();
        });
      });
      this.tcp = tcp;
    } catch (e) {
      await this.close();
      throw e;
    }
    if (wildcard) {
      this.rescan = setInterval(() => {
        for (const a of localIPv4Addresses()) {
          if (!this.udp.has(a)) this.bindUDP(a, port).catch((err) => this.log.error("cluster DNS: cannot bind a new address", { address: a, error: String(err) }));
        }
      }, 15_000);
      this.rescan.unref();
    }
    return { host, port };
  }

  private async bindUDP(address: string, port: number): Promise<void> {
    const udp = createSocket({ type: address.includes(":") ? "udp6" : "udp4" });
    await new Promise<void>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind(port, address, () => {
        udp.off("error", reject);
        resolve();
      });
    });
    udp.on("error", (err) => this.log.error("cluster DNS: UDP socket error", { address, error: String(err) }));
    udp.on("message", (msg, rinfo) => {
      void this.answer(msg, false).then((out) => {
        if (out) udp.send(out, rinfo.port, rinfo.address);
      });
    });
    this.udp.set(address, udp);
  }

  async close(): Promise<void> {
    if (this.rescan) clearInterval(this.rescan);
    for (const c of this.conns) c.destroy();
    const socks = [...this.udp.values()];
    this.udp.clear();
    const tcp = this.tcp;
    this.tcp = undefined;
    await Promise.all([...socks.map((u) => new Promise<void>((r) => u.close(() => r()))), new Promise<void>((r) => (tcp ? tcp.close(() => r()) : r()))]);
  }

  private serveTCP(s: TCPSocket): void {
    this.conns.add(s);
    s.setTimeout(10_000, () => s.destroy());
    s.on("close", () => this.conns.delete(s));
    s.on("error", () => s.destroy());
    let buf = Buffer.alloc(0);
    s.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        void this.answer(msg, true).then((out) => {
          if (!out || s.destroyed) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length);
          s.write(Buffer.concat([len, out]));
        });
      }
    });
  }

  /** The wire answer to one wire query; undefined = drop (not even a header to answer). */
  async answer(msg: Buffer, tcp: boolean): Promise<Buffer | undefined> {
    if (msg.length < 12) return undefined;
    let q: Packet;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return errorReply(msg, "FORMERR");
    }
    if (q.type === "response") return undefined;
    const opcode = (msg.readUInt16BE(2) >> 11) & 0xf;
    if (opcode !== 0) return errorReply(msg, "NOTIMP");
    const question = q.questions?.[0];
    if (!question || (q.questions?.length ?? 0) !== 1) return errorReply(msg, "FORMERR");
    let res: Resolution | undefined;
    try {
      res = this.opts.records.resolve(question.name, question.type);
    } catch (e) {
      this.log.error("cluster DNS: resolve failed", { name: question.name, error: String(e) });
      return errorReply(msg, "SERVFAIL");
    }
    if (!res) {
      const fwd = this.opts.forwarder;
      if (!fwd || fwd.upstreams.length === 0) return errorReply(msg, "SERVFAIL");
      return (await fwd.forward(msg, tcp)) ?? errorReply(msg, "SERVFAIL");
    }
    if (res.externalTarget && this.opts.forwarder?.upstreams.length && question.type !== "CNAME") {
      res = { ...res, answers: [...res.answers, ...(await this.lookupUpstream(res.externalTarget, question.type, tcp))] };
    }
    const opt = (q.additionals ?? []).find((a: any) => a.type === "OPT") as { udpPayloadSize?: number } | undefined;
    const limit = tcp ? 65535 : opt ? Math.min(Math.max(opt.udpPayloadSize ?? 512, 512), 4096) : 512;
    const rd = (q.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
    const build = (r: Resolution, truncated: boolean) =>
      dnsPacket.encode({
        type: "response",
        id: q.id,
        flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | rd | (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0) | RCODES[r.rcode]!,
        questions: [question],
        answers: r.answers as any,
        authorities: r.authorities as any,
        additionals: [...(r.additionals as any[]), ...(opt ? [{ type: "OPT", name: ".", udpPayloadSize: EDNS_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: 0, options: [] }] : [])] as any,
      });
    let out = build(res, false);
    if (out.length > limit) {
      // Drop the additional records first, then everything (TC makes the client retry on TCP).
      out = build({ ...res, additionals: [] }, false);
      if (out.length > limit) out = build({ ...res, answers: [], authorities: [], additionals: [] }, true);
    }
    return out;
  }

  /** Answers for an out-of-zone CNAME target, asked upstream (best effort). */
  private async lookupUpstream(name: string, type: string, tcp: boolean): Promise<any[]> {
    try {
      const query = dnsPacket.encode({ type: "query", id: randomInt(65536), flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as any, name }] });
      const raw = await this.opts.forwarder!.forward(query, tcp);
      return raw ? (dnsPacket.decode(raw).answers ?? []) : [];
    } catch {
      return [];
    }
  }
}

function localIPv4Addresses(): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) if (a.family === "IPv4" && !out.includes(a.address)) out.push(a.address);
  return out;
}

/** A header-only reply with the query's ID and question count zeroed out of the way. */
function errorReply(msg: Buffer, rcode: keyof typeof RCODES): Buffer {
  const out = Buffer.alloc(12);
  msg.copy(out, 0, 0, 2);
  const flags = msg.readUInt16BE(2);
  // Keep opcode and RD, set QR, RA and the rcode.
  out.writeUInt16BE(QR | (flags & 0x7900) | dnsPacket.RECURSION_AVAILABLE | RCODES[rcode]!, 2);
  return out;
}

export interface ClusterDNSRunnableOptions {
  informers: SharedInformerFactory;
  domain?: string;
  host?: string;
  port?: number;
  /** Default: the host's resolvers (resolv.conf), minus `dnsServiceIP`. */
  upstreams?: Upstream[];
  dnsServiceIP?: string;
  /** Cluster ranges whose reverse (PTR) names are answered here (default the pod and service ranges 10.42/16, 10.43/16). */
  reverseCIDRs?: string[];
  log?: Logger;
  /** How long to wait before retrying a port that could not be bound. */
  bindRetryMs?: number;
}

/** The DNS server as a Runnable: needs no leader (it only reads). */
export function clusterDNSRunnable(o: ClusterDNSRunnableOptions): Runnable {
  const log = o.log ?? silentLogger;
  return {
    name: "cluster-dns",
    needsLeader: false,
    async start(signal) {
      const { view } = informerClusterView(o.informers);
      // Never forward to ourselves: the service IP, and on port 53 the addresses we listen on.
      const self = (o.port ?? 10053) === 53 ? ((o.host ?? "0.0.0.0") === "0.0.0.0" ? localIPv4Addresses() : [o.host!]) : [];
      const upstreams = o.upstreams ?? hostUpstreams({ exclude: [...(o.dnsServiceIP ? [o.dnsServiceIP] : []), ...self] });
      const server = new ClusterDNSServer({ records: new ClusterRecords(view, { domain: o.domain, reverseCIDRs: o.reverseCIDRs }), forwarder: new Forwarder(upstreams), host: o.host, port: o.port, log });
      let warned = false;
      while (!signal.aborted) {
        try {
          const a = await server.listen();
          log.info("cluster DNS listening", { address: `${a.host}:${a.port}`, domain: o.domain ?? "cluster.local", upstreams: upstreams.map((u) => u.host) });
          break;
        } catch (e) {
          if (!warned) log.error("cluster DNS: cannot listen, retrying in the background", { port: o.port ?? 10053, error: String((e as Error).message ?? e) });
          warned = true;
          await new Promise<void>((r) => {
            const t = setTimeout(r, o.bindRetryMs ?? 5000);
            signal.addEventListener("abort", () => (clearTimeout(t), r()), { once: true });
          });
        }
      }
      if (!signal.aborted) await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
      await server.close();
    },
  };
}
