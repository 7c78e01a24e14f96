// SPDY/3.1 framing, the multiplexing layer under Kubernetes' legacy streaming protocols
// (remote command: exec/attach, and port-forward), as described by the SPDY draft 3.1
// (https://www.chromium.org/spdy/spdy-protocol/spdy-protocol-draft3-1/) and used by
// kubectl, the kubelet and containerd's CRI streaming server after an HTTP
// `Upgrade: SPDY/3.1`. Header blocks are zlib-compressed with the SPDY/3 dictionary, one
// zlib context per direction for the whole connection, each block ending in a sync flush
// (Go's inflater needs that). Kubernetes' peers (Go's spdystream) do no flow control, so
// windows are neither enforced nor advertised here; WINDOW_UPDATE/SETTINGS are parsed and
// ignored. Both ends are implemented: the agent is a SPDY client of containerd.

import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import zlib from "node:zlib";

export const SPDY_VERSION = 3;
export const SYN_STREAM = 1;
export const SYN_REPLY = 2;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const PING = 6;
export const GOAWAY = 7;
export const HEADERS = 8;
export const WINDOW_UPDATE = 9;
export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;
/** RST_STREAM status codes. */
export const RST_PROTOCOL_ERROR = 1;
export const RST_INVALID_STREAM = 2;
export const RST_REFUSED_STREAM = 3;
export const RST_CANCEL = 5;
export const RST_INTERNAL_ERROR = 6;

const MAX_FRAME = 0xffffff;
/** Data frames we send are cut at this size so one big write does not hog the connection. */
const DATA_CHUNK = 32 * 1024;

/**
 * The SPDY/3 header compression dictionary (draft 3, section 2.6.10.1): a list of
 * length-prefixed (32-bit big-endian) words followed by one run of raw text.
 */
export const SPDY3_DICTIONARY: Buffer = (() => {
  const words = [
    "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding", "accept-language",
    "accept-ranges", "age", "allow", "authorization", "cache-control", "connection", "content-base", "content-encoding",
    "content-language", "content-length", "content-location", "content-md5", "content-range", "content-type", "date", "etag",
    "expect", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since",
    "last-modified", "location", "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
    "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
    "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive",
    "origin",
  ];
  const tail =
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505" +
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized" +
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable" +
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT" +
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain," +
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";
  const parts: Buffer[] = [];
  for (const w of words) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length);
    parts.push(len, Buffer.from(w, "latin1"));
  }
  parts.push(Buffer.from(tail, "latin1"));
  return Buffer.concat(parts);
})();

/** A frame as read off the wire, before its payload is interpreted. */
export interface RawFrame {
  control: boolean;
  /** Control frames: the frame type. */
  type: number;
  /** Data frames: the stream. */
  streamId: number;
  flags: number;
  payload: Buffer;
}

export function encodeDataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  if (data.length > MAX_FRAME) throw new RangeError("SPDY data frame too large");
  const h = Buffer.alloc(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h.writeUInt32BE(((flags & 0xff) << 24) | data.length, 4);
  return Buffer.concat([h, data]);
}

export function encodeControlFrame(type: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME) throw new RangeError("SPDY control frame too large");
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE((((flags & 0xff) << 24) | payload.length) >>> 0, 4);
  return Buffer.concat([h, payload]);
}

/** Accumulates bytes and yields complete frames. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): RawFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: RawFrame[] = [];
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4) & 0xffffff;
      if (this.buf.length < 8 + len) break;
      const first = this.buf.readUInt32BE(0);
      const control = (first & 0x80000000) !== 0;
      const flags = this.buf[4]!;
      const payload = this.buf.subarray(8, 8 + len);
      if (control) {
        const version = (first >>> 16) & 0x7fff;
        if (version !== SPDY_VERSION) throw new Error(`unsupported SPDY version ${version}`);
        out.push({ control, type: first & 0xffff, streamId: 0, flags, payload });
      } else {
        out.push({ control, type: 0, streamId: first & 0x7fffffff, flags, payload });
      }
      this.buf = this.buf.subarray(8 + len);
    }
    return out;
  }
}

export type HeaderList = [string, string][];

/** Uncompressed name/value block: count, then (len, name, len, value) pairs, 32-bit lengths. */
export function encodeHeaderBlock(headers: HeaderList): Buffer {
  const parts: Buffer[] = [];
  const n = Buffer.alloc(4);
  n.writeUInt32BE(headers.length);
  parts.push(n);
  for (const [k, v] of headers) {
    for (const s of [k.toLowerCase(), v]) {
      const b = Buffer.from(s, "utf8");
      const l = Buffer.alloc(4);
      l.writeUInt32BE(b.length);
      parts.push(l, b);
    }
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(b: Buffer): HeaderList {
  const out: HeaderList = [];
  let off = 0;
  const need = (n: number) => {
    if (off + n > b.length) throw new Error("truncated SPDY header block");
  };
  need(4);
  const count = b.readUInt32BE(off);
  off += 4;
  for (let i = 0; i < count; i++) {
    const pair: string[] = [];
    for (let j = 0; j < 2; j++) {
      need(4);
      const len = b.readUInt32BE(off);
      off += 4;
      need(len);
      pair.push(b.subarray(off, off + len).toString("utf8"));
      off += len;
    }
    out.push([pair[0]!.toLowerCase(), pair[1]!]);
  }
  return out;
}

/** One zlib stream (deflate or inflate) used block by block, each block sync-flushed. */
class ZlibContext {
  private chunks: Buffer[] = [];
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly z: zlib.Deflate | zlib.Inflate) {
    z.on("data", (c: Buffer) => this.chunks.push(c));
    z.on("error", () => {}); // surfaced through the flush callback
  }

  process(block: Buffer): Promise<Buffer> {
    const run = () =>
      new Promise<Buffer>((resolve, reject) => {
        let failed: Error | undefined;
        const onErr = (e: Error) => (failed = e);
        this.z.once("error", onErr);
        this.z.write(block);
        this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
          this.z.off("error", onErr);
          if (failed) return reject(failed);
          const out = Buffer.concat(this.chunks);
          this.chunks = [];
          resolve(out);
        });
      });
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => {});
    return p;
  }

  close(): void {
    this.z.close();
  }
}

export class HeaderCompressor extends ZlibContext {
  constructor() {
    super(zlib.createDeflate({ dictionary: SPDY3_DICTIONARY }));
  }
  compress(h: HeaderList): Promise<Buffer> {
    return this.process(encodeHeaderBlock(h));
  }
}

export class HeaderDecompressor extends ZlibContext {
  constructor() {
    super(zlib.createInflate({ dictionary: SPDY3_DICTIONARY }));
  }
  async decompress(b: Buffer): Promise<HeaderList> {
    return decodeHeaderBlock(await this.process(b));
  }
}

export type Headers = Record<string, string>;

function toList(h: Headers): HeaderList {
  return Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]);
}

function fromList(l: HeaderList): Headers {
  const out: Headers = {};
  for (const [k, v] of l) out[k] = out[k] === undefined ? v : `${out[k]}\0${v}`;
  return out;
}

/** One SPDY stream. Events: "data" (Buffer), "end" (peer half-closed), "reply" (headers), "close". */
export class SpdyStream extends EventEmitter {
  replyHeaders: Headers | undefined;
  localClosed = false;
  remoteClosed = false;
  closed = false;

  constructor(
    private readonly conn: SpdyConnection,
    readonly id: number,
    readonly headers: Headers,
  ) {
    super();
  }

  write(data: Buffer | string): void {
    if (this.localClosed || this.closed) return;
    const b = typeof data === "string" ? Buffer.from(data) : data;
    for (let off = 0; off < b.length; off += DATA_CHUNK) this.conn.sendRaw(encodeDataFrame(this.id, 0, b.subarray(off, off + DATA_CHUNK)));
  }

  /** Half-closes our side (an empty DATA frame with FIN). */
  end(): void {
    if (this.localClosed || this.closed) return;
    this.localClosed = true;
    this.conn.sendRaw(encodeDataFrame(this.id, FLAG_FIN, Buffer.alloc(0)));
    this.maybeClose();
  }

  /** Answers a peer-initiated stream (SYN_REPLY). */
  reply(headers: Headers = {}, fin = false): void {
    this.conn.sendReply(this.id, headers, fin);
    if (fin) {
      this.localClosed = true;
      this.maybeClose();
    }
  }

  reset(status = RST_CANCEL): void {
    if (this.closed) return;
    const p = Buffer.alloc(8);
    p.writeUInt32BE(this.id & 0x7fffffff, 0);
    p.writeUInt32BE(status, 4);
    this.conn.sendRaw(encodeControlFrame(RST_STREAM, 0, p));
    this.finish();
  }

  /** Called by the connection. */
  receive(data: Buffer, fin: boolean): void {
    if (this.remoteClosed) return;
    if (data.length) this.emit("data", data);
    if (fin) this.remoteEnd();
  }

  remoteEnd(): void {
    if (this.remoteClosed) return;
    this.remoteClosed = true;
    this.emit("end");
    this.maybeClose();
  }

  finish(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.remoteClosed) {
      this.remoteClosed = true;
      this.emit("end");
    }
    this.localClosed = true;
    this.conn.forget(this.id);
    this.emit("close");
  }

  private maybeClose(): void {
    if (this.localClosed && this.remoteClosed) this.finish();
  }
}

/**
 * A SPDY/3.1 session over an upgraded socket. Events: "stream" (peer SYN_STREAM; answer
 * with stream.reply()), "close", "error". Frames go out strictly in the order they were
 * produced, header compression included.
 */
export class SpdyConnection extends EventEmitter {
  private readonly reader = new FrameReader();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private nextId: number;
  private out: Promise<void> = Promise.resolve();
  private inq: Promise<void> = Promise.resolve();
  private pings = new Map<number, () => void>();
  private nextPing: number;
  closed = false;

  constructor(
    readonly socket: Duplex,
    readonly isServer: boolean,
  ) {
    super();
    // Clients open odd streams, servers even ones (also for pings).
    this.nextId = isServer ? 2 : 1;
    this.nextPing = isServer ? 2 : 1;
    // Errors end the session (and are reported to listeners, if any); never an uncaught throw.
    this.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      let frames: RawFrame[];
      try {
        frames = this.reader.push(chunk);
      } catch (err) {
        this.emit("error", err);
        this.close();
        return;
      }
      for (const f of frames) this.inq = this.inq.then(() => this.handle(f)).catch((err) => {
        this.emit("error", err);
        this.close();
      });
    });
    socket.on("close", () => this.teardown());
    socket.on("end", () => this.teardown());
    socket.on("error", () => this.teardown());
  }

  /** Opens a stream (SYN_STREAM). */
  openStream(headers: Headers, fin = false): SpdyStream {
    if (this.closed) throw new Error("SPDY connection closed");
    const id = this.nextId;
    this.nextId += 2;
    const s = new SpdyStream(this, id, headers);
    this.streams.set(id, s);
    this.enqueue(async () => {
      const block = await this.compressor.compress(toList(headers));
      const p = Buffer.alloc(10);
      p.writeUInt32BE(id, 0);
      p.writeUInt32BE(0, 4);
      p.writeUInt16BE(0, 8); // priority 0, slot 0
      return encodeControlFrame(SYN_STREAM, fin ? FLAG_FIN : 0, Buffer.concat([p, block]));
    });
    if (fin) s.localClosed = true;
    return s;
  }

  ping(): Promise<void> {
    const id = this.nextPing;
    this.nextPing += 2;
    const p = Buffer.alloc(4);
    p.writeUInt32BE(id >>> 0);
    this.sendRaw(encodeControlFrame(PING, 0, p));
    return new Promise((resolve) => this.pings.set(id, resolve));
  }

  /** Sends GOAWAY and closes the socket once everything queued is written. */
  close(status = 0): void {
    if (this.closed) return;
    const p = Buffer.alloc(8);
    p.writeUInt32BE(0, 0);
    p.writeUInt32BE(status, 4);
    this.sendRaw(encodeControlFrame(GOAWAY, 0, p));
    this.out = this.out.then(() => new Promise<void>((r) => this.socket.end(r))).catch(() => {});
    this.teardown();
  }

  /** Ends every stream and the socket without waiting. */
  destroy(): void {
    this.socket.destroy();
    this.teardown();
  }

  // ---- used by SpdyStream ----

  sendRaw(frame: Buffer): void {
    this.enqueue(() => frame);
  }

  sendReply(id: number, headers: Headers, fin: boolean): void {
    this.enqueue(async () => {
      const block = await this.compressor.compress(toList(headers));
      const p = Buffer.alloc(4);
      p.writeUInt32BE(id, 0);
      return encodeControlFrame(SYN_REPLY, fin ? FLAG_FIN : 0, Buffer.concat([p, block]));
    });
  }

  forget(id: number): void {
    this.streams.delete(id);
  }

  // ---- internals ----

  private enqueue(build: () => Buffer | Promise<Buffer>): void {
    if (this.closed && this.socket.destroyed) return;
    this.out = this.out
      .then(async () => {
        const b = await build();
        if (!this.socket.destroyed && this.socket.writable) this.socket.write(b);
      })
      .catch((err) => void this.emit("error", err));
  }

  private teardown(): void {
    const wasOpen = !this.closed;
    this.closed = true;
    for (const s of [...this.streams.values()]) s.finish();
    this.streams.clear();
    for (const r of this.pings.values()) r();
    this.pings.clear();
    if (wasOpen) {
      // Let queued frames flush before the zlib contexts go away.
      void this.out.finally(() => {
        this.compressor.close();
        this.decompressor.close();
      });
      this.emit("close");
    }
  }

  private async handle(f: RawFrame): Promise<void> {
    if (!f.control) {
      const s = this.streams.get(f.streamId);
      if (s) s.receive(f.payload, (f.flags & FLAG_FIN) !== 0);
      return;
    }
    const p = f.payload;
    switch (f.type) {
      case SYN_STREAM: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const headers = fromList(await this.decompressor.decompress(p.subarray(10)));
        const s = new SpdyStream(this, id, headers);
        this.streams.set(id, s);
        if (f.flags & FLAG_UNIDIRECTIONAL) s.localClosed = true;
        this.emit("stream", s);
        if (f.flags & FLAG_FIN) s.remoteEnd();
        return;
      }
      case SYN_REPLY:
      case HEADERS: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const headers = fromList(await this.decompressor.decompress(p.subarray(4)));
        const s = this.streams.get(id);
        if (!s) return;
        if (f.type === SYN_REPLY) {
          s.replyHeaders = headers;
          s.emit("reply", headers);
        }
        if (f.flags & FLAG_FIN) s.remoteEnd();
        return;
      }
      case RST_STREAM: {
        const s = this.streams.get(p.readUInt32BE(0) & 0x7fffffff);
        if (s) {
          s.emit("reset", p.readUInt32BE(4));
          s.finish();
        }
        return;
      }
      case PING: {
        const id = p.readUInt32BE(0);
        // Our own pings come back with our parity; answer the peer's.
        if ((id % 2 === 0) === this.isServer) {
          this.pings.get(id)?.();
          this.pings.delete(id);
        } else this.sendRaw(encodeControlFrame(PING, 0, Buffer.from(p)));
        return;
      }
      case GOAWAY:
        this.emit("goaway");
        return;
      default:
        return; // SETTINGS, WINDOW_UPDATE, …: no flow control between Kubernetes peers
    }
  }
}
