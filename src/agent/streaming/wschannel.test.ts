// WebSocket channel framing and the remotecommand status objects kubectl reads exit codes from.

import { test } from "node:test";
import assert from "node:assert/strict";
import { CLOSE, RESIZE, STDIN, STDOUT, WS_PORTFORWARD_TUNNEL, WS_V4, WS_V5, closeChannelMessage, decodeChannelMessage, encodeChannelMessage, exitCodeOf, exitStatus, selectWebSocketProtocol } from "./wschannel.js";

test("channel messages carry the channel in the first byte", () => {
  assert.deepEqual([...encodeChannelMessage(STDOUT, "hi")], [1, 0x68, 0x69]);
  assert.deepEqual(decodeChannelMessage(Buffer.from([0, 0x61])), { channel: STDIN, data: Buffer.from("a") });
  assert.deepEqual(decodeChannelMessage(encodeChannelMessage(RESIZE, '{"Width":80,"Height":24}'))?.data.toString(), '{"Width":80,"Height":24}');
  assert.equal(decodeChannelMessage(Buffer.alloc(0)), undefined);
  assert.deepEqual([...closeChannelMessage(STDIN)], [CLOSE, 0]);
});

test("subprotocol selection prefers v5, then v4, and knows the port-forward tunnel", () => {
  assert.equal(selectWebSocketProtocol(["v4.channel.k8s.io", "v5.channel.k8s.io"]), WS_V5);
  assert.equal(selectWebSocketProtocol(["base64url.bearer.authorization.k8s.io.eA", "v4.channel.k8s.io"]), WS_V4);
  assert.equal(selectWebSocketProtocol(["SPDY/3.1+portforward.k8s.io"]), WS_PORTFORWARD_TUNNEL);
  assert.equal(selectWebSocketProtocol(["channel.k8s.io"]), undefined);
});

test("exit statuses in the shape kubectl maps to its own exit code", () => {
  assert.equal(exitCodeOf(exitStatus(0)), 0);
  const s = exitStatus(3) as any;
  assert.equal(s.status, "Failure");
  assert.equal(s.reason, "NonZeroExitCode");
  assert.deepEqual(s.details.causes, [{ reason: "ExitCode", message: "3" }]);
  assert.equal(exitCodeOf(s), 3);
  assert.equal(exitCodeOf({ status: "Failure", reason: "InternalError" }), undefined);
});
