// SPDY/3.1 framing: frame encode/decode, header blocks and their compression context
// (SPDY/3 dictionary, one zlib stream per direction), and two sessions talking over a
// real loopback TCP connection.

import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import zlib from "node:zlib";
import {
  FLAG_FIN,
  FrameReader,
  HeaderCompressor,
  HeaderDecompressor,
  PING,
  SPDY3_DICTIONARY,
  SYN_STREAM,
  SpdyConnection,
  decodeHeaderBlock,
  encodeControlFrame,
  encodeDataFrame,
  encodeHeaderBlock,
  type SpdyStream,
} from "./spdy.js";

test("SPDY/3 dictionary has the spec's shape", () => {
  assert.equal(SPDY3_DICTIONARY.length, 1423);
  assert.deepEqual([...SPDY3_DICTIONARY.subarray(0, 11)], [0, 0, 0, 7, ...Buffer.from("options")]);
  assert.equal(SPDY3_DICTIONARY.subarray(-6).toString(), "enq=0.");
});

test("frames round-trip through the reader, even split into single bytes", () => {
  const data = encodeDataFrame(5, FLAG_FIN, Buffer.from("hello"));
  assert.deepEqual([...data.subarray(0, 8)], [0, 0, 0, 5, 1, 0, 0, 5]);
  const ping = encodeControlFrame(PING, 0, Buffer.from([0, 0, 0, 7]));
  assert.deepEqual([...ping.subarray(0, 8)], [0x80, 3, 0, 6, 0, 0, 0, 4]);
  const r = new FrameReader();
  const all = Buffer.concat([data, ping]);
  const frames = [];
  for (const b of all) frames.push(...r.push(Buffer.from([b])));
  assert.equal(frames.length, 2);
  assert.deepEqual({ ...frames[0], payload: frames[0]!.payload.toString() }, { control: false, type: 0, streamId: 5, flags: FLAG_FIN, payload: "hello" });
  assert.equal(frames[1]!.control, true);
  assert.equal(frames[1]!.type, PING);
  assert.equal(frames[1]!.payload.readUInt32BE(0), 7);
  assert.throws(() => new FrameReader().push(Buffer.from([0x80, 2, 0, 1, 0, 0, 0, 0])), /version 2/);
});

test("header blocks: plain encoding and compression with a shared context per direction", async () => {
  const h: [string, string][] = [["streamType", "stdout"], ["port", "8080"], ["x", ""]];
  assert.deepEqual(decodeHeaderBlock(encodeHeaderBlock(h)), [["streamtype", "stdout"], ["port", "8080"], ["x", ""]]);
  const c = new HeaderCompressor();
  const d = new HeaderDecompressor();
  const b1 = await c.compress([["streamtype", "error"]]);
  const b2 = await c.compress([["streamtype", "stdin"], ["requestid", "0"]]);
  // The first block is a zlib stream that names the dictionary (FDICT), blocks end in a sync flush.
  assert.equal(b1[0]! & 0x0f, 8);
  assert.ok(b1[1]! & 0x20);
  assert.deepEqual([...b1.subarray(-4)], [0, 0, 0xff, 0xff]);
  assert.deepEqual(await d.decompress(b1), [["streamtype", "error"]]);
  assert.deepEqual(await d.decompress(b2), [["streamtype", "stdin"], ["requestid", "0"]]);
  // The second block depends on the first: a fresh inflater cannot read it.
  const fresh = zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
  await assert.rejects(new Promise((res, rej) => {
    fresh.on("error", rej);
    fresh.on("data", res);
    fresh.write(b2);
  }));
  c.close();
  d.close();
});

async function pair(): Promise<{ client: SpdyConnection; server: SpdyConnection; close(): void }> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const accepted = new Promise<net.Socket>((r) => srv.once("connection", r));
  const sock = net.connect((srv.address() as net.AddressInfo).port, "127.0.0.1");
  const server = new SpdyConnection(await accepted, true);
  const client = new SpdyConnection(sock, false);
  return { client, server, close: () => (client.destroy(), server.destroy(), srv.close()) };
}

const collect = (s: SpdyStream) =>
  new Promise<string>((resolve) => {
    const chunks: Buffer[] = [];
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("end", () => resolve(Buffer.concat(chunks).toString()));
  });

test("two sessions: SYN_STREAM headers, SYN_REPLY, data both ways, FIN, RST, PING", async () => {
  const { client, server, close } = await pair();
  try {
    const got = new Promise<SpdyStream[]>((resolve) => {
      const seen: SpdyStream[] = [];
      server.on("stream", (s: SpdyStream) => {
        s.reply({});
        seen.push(s);
        if (seen.length === 2) resolve(seen);
      });
    });
    const a = client.openStream({ streamtype: "stdin" });
    const b = client.openStream({ streamtype: "stdout", requestID: "1" });
    assert.deepEqual([a.id, b.id], [1, 3]);
    const [sa, sb] = await got;
    assert.deepEqual(sa!.headers, { streamtype: "stdin" });
    assert.deepEqual(sb!.headers, { streamtype: "stdout", requestid: "1" });
    const replied = new Promise((r) => b.once("reply", r));
    assert.deepEqual(await replied, {});

    // client → server, half-closed with FIN
    const fromClient = collect(sa!);
    a.write("line 1\n");
    a.write(Buffer.alloc(100_000, 0x61));
    a.end();
    assert.equal((await fromClient).length, 7 + 100_000);

    // server → client
    const fromServer = collect(b);
    sb!.write("out");
    sb!.end();
    assert.equal(await fromServer, "out");

    // reset
    const c = client.openStream({ streamtype: "error" });
    const sc = await new Promise<SpdyStream>((r) => server.once("stream", r));
    const reset = new Promise((r) => c.once("reset", r));
    sc.reset();
    assert.equal(await reset, 5);
    assert.equal(c.closed, true);

    await client.ping();
    await server.ping();
  } finally {
    close();
  }
});

test("a SYN_STREAM with FIN opens an already half-closed stream", async () => {
  const { client, server, close } = await pair();
  try {
    const opened = new Promise<SpdyStream>((r) => server.once("stream", r));
    client.openStream({ streamtype: "error" }, true);
    const s = await opened;
    assert.equal(s.remoteClosed, true);
    assert.equal(SYN_STREAM, 1);
  } finally {
    close();
  }
});

test("closing the socket ends every stream", async () => {
  const { client, server, close } = await pair();
  try {
    const s = client.openStream({ streamtype: "stdout" });
    await new Promise((r) => server.once("stream", r));
    const closed = new Promise((r) => s.once("close", r));
    server.destroy();
    await closed;
    assert.equal(client.closed || s.closed, true);
  } finally {
    close();
  }
});
