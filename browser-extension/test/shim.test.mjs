// shim.js in a fake page: which URLs it bridges, the direct and extension paths and their
// order, and that the object the page holds behaves as a WebSocket.
import assert from "node:assert/strict";
import { test } from "node:test";
import { daemonHost, record, settle, setup, waitFor } from "../test-support/harness.mjs";

const DAEMON = "wss://127.0.0.1:13579/";

function closed(events) {
  return () => events.some(([type]) => type === "close");
}

test("URLs other than the daemon's get the browser's own WebSocket, untouched", async () => {
  const { WebSocket, native, page } = setup();
  for (const url of ["wss://example.kz/socket", "ws://127.0.0.1:13580/", "wss://127.0.0.2:13579/", "wss://localhost.evil.kz:13579/"]) {
    const ws = new WebSocket(url, "proto");
    assert.equal(Object.getPrototypeOf(ws), native.WebSocket.prototype, url);
    assert.equal(native.created.at(-1), ws, url);
    assert.equal(ws.protocols, "proto", "protocols passed on as given");
  }
  // A subclass of WebSocket still gets the browser's object, with its own prototype.
  const Sub = page.global.eval("(class Sub extends WebSocket {})");
  const sub = new Sub("wss://example.kz/");
  assert.ok(sub instanceof Sub && sub instanceof WebSocket);
  assert.equal(native.created.at(-1), sub);
});

test("daemon URLs: 127.0.0.1, localhost, [::1], ws or wss, any path and query", async () => {
  const { WebSocket, native } = setup({ withExtension: false, timeScale: 0.01 });
  for (const url of [DAEMON, "ws://localhost:13579/x?y=1", "wss://[::1]:13579", "https://127.0.0.1:13579/", "WSS://LOCALHOST:13579/"]) {
    const ws = new WebSocket(url);
    assert.ok(!native.created.includes(ws), `${url} is bridged`);
    assert.ok(ws instanceof WebSocket);
    assert.ok(ws instanceof native.WebSocket, "the browser's WebSocket too");
  }
  assert.equal(new WebSocket("https://127.0.0.1:13579/a").url, "wss://127.0.0.1:13579/a");
});

test("the constructor and statics look like the browser's", () => {
  const { WebSocket, native } = setup();
  assert.equal(WebSocket.name, "WebSocket");
  assert.equal(WebSocket.length, 1);
  assert.equal(WebSocket.prototype, native.WebSocket.prototype);
  assert.equal(WebSocket.prototype.constructor, WebSocket);
  assert.deepEqual([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED], [0, 1, 2, 3]);
  assert.throws(() => WebSocket(DAEMON), { name: "TypeError" }, "needs new");
  const ws = new WebSocket(DAEMON);
  assert.deepEqual([ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED], [0, 1, 2, 3]);
  assert.equal(ws.constructor, WebSocket);
  assert.ok(ws instanceof EventTarget);
  assert.equal(ws.url, DAEMON);
  assert.equal(ws.protocol, "");
  assert.equal(ws.extensions, "");
  assert.equal(ws.binaryType, "blob");
  ws.binaryType = "arraybuffer";
  assert.equal(ws.binaryType, "arraybuffer");
  ws.binaryType = "nonsense";
  assert.equal(ws.binaryType, "arraybuffer", "an invalid value is ignored");
  assert.equal(ws.bufferedAmount, 0);
  assert.equal(ws.readyState, WebSocket.CONNECTING);
});

test("invalid subprotocols throw SyntaxError as the browser's WebSocket does", () => {
  const { WebSocket } = setup();
  assert.throws(() => new WebSocket(DAEMON, ["a", "a"]), { name: "SyntaxError" });
  assert.throws(() => new WebSocket(DAEMON, "bad protocol"), { name: "SyntaxError" });
  new WebSocket(DAEMON, ["a", "b"]);
});

test("direct path: when it opens, every event and call goes to the browser's socket", async () => {
  const { WebSocket, native, browser } = setup({ direct: () => "open", onHost: daemonHost() });
  const ws = new WebSocket(DAEMON, ["p1"]);
  ws.binaryType = "arraybuffer";
  const events = record(ws);
  const handled = [];
  ws.onmessage = (event) => handled.push(event.data);
  await waitFor(() => events.length === 1, "open");
  const direct = native.created[0];
  assert.equal(direct.url, DAEMON);
  assert.deepEqual([...direct.protocols], ["p1"], "protocols forwarded on the direct path");
  assert.equal(direct.binaryType, "arraybuffer");
  assert.equal(ws.readyState, WebSocket.OPEN);
  assert.equal(ws.protocol, "chosen", "read from the browser's socket");

  const bytes = new Uint8Array([1, 2, 3]);
  ws.send("text");
  ws.send(bytes);
  assert.deepEqual(direct.sent, ["text", bytes], "sent as given, binary stays binary");
  direct.receive("greeting");
  assert.deepEqual(events[1], ["message", "greeting", "wss://127.0.0.1:13579"]);
  assert.deepEqual(handled, ["greeting"]);

  ws.close(3000, "bye");
  assert.deepEqual(direct.closeCalls, [[3000, "bye"]]);
  assert.equal(ws.readyState, WebSocket.CLOSING);
  await waitFor(closed(events), "close");
  assert.deepEqual(events.at(-1), ["close", 3000, "bye", true]);
  assert.equal(ws.readyState, WebSocket.CLOSED);
  assert.equal(browser.hosts.length, 0, "the extension was never used");
});

test("direct path: the server's close is handed through", async () => {
  const { WebSocket, native } = setup({ direct: () => "open" });
  const ws = new WebSocket(DAEMON);
  const events = record(ws);
  await waitFor(() => events.length === 1, "open");
  native.created[0].serverClose(1008, "policy");
  assert.deepEqual(events, [["open"], ["close", 1008, "policy", true]]);
});

test("direct failure: the extension opens the same connection; the page sees one socket", async () => {
  const { WebSocket, native, browser } = setup({ onHost: daemonHost({ closeCode: 1000 }) });
  const ws = new WebSocket(DAEMON);
  const events = record(ws);
  await waitFor(() => events.length === 2, "open and the greeting");
  assert.equal(native.created.length, 1, "tried directly first");
  assert.deepEqual(events, [["open"], ["message", '{"result":{"version":"1.4"}}', "wss://127.0.0.1:13579"]]);
  assert.equal(ws.readyState, WebSocket.OPEN);

  for (const text of ["one", "two", "three"]) ws.send(text);
  await waitFor(() => events.length === 5, "three replies");
  assert.deepEqual(events.slice(2).map((e) => e[1]), ["reply:one", "reply:two", "reply:three"]);

  ws.close(4001, "done");
  assert.equal(ws.readyState, WebSocket.CLOSING);
  await waitFor(closed(events), "close");
  assert.deepEqual(events.at(-1), ["close", 1000, "done", true], "the daemon's code, relayed");
  assert.equal(ws.readyState, WebSocket.CLOSED);
  assert.deepEqual(browser.hosts[0].received.at(-1), { type: "close", code: 4001, reason: "done" });
});

test("a close from the daemon reaches the page with its code", async () => {
  let host;
  const { WebSocket } = setup({ onHost: (h) => { host = h; daemonHost()(h); } });
  const ws = new WebSocket(DAEMON);
  const events = record(ws);
  await waitFor(() => events.length === 2, "open");
  host.send({ type: "closed", code: 1011, reason: "internal", clean: true });
  await waitFor(closed(events), "close");
  assert.deepEqual(events.at(-1), ["close", 1011, "internal", true]);
  assert.ok(!events.some(([type]) => type === "error"));
});

test("preferExtension: the extension first, and the direct path is not tried when it opens", async () => {
  const { WebSocket, native, browser, frame } = setup({ policy: { preferExtension: true }, direct: () => "open", onHost: daemonHost() });
  await waitFor(() => frame.fromExtension("hello").length === 1, "hello answer");
  assert.deepEqual(frame.fromExtension("hello")[0], { qoltanba: "ext", op: "hello", enabled: true, prefer: true });
  const ws = new WebSocket(DAEMON);
  const events = record(ws);
  await waitFor(() => events.length === 2, "open");
  assert.equal(native.created.length, 0);
  assert.equal(browser.hosts.length, 1);
});

test("preferExtension: direct when the extension cannot connect (no host installed)", async () => {
  const { WebSocket, native, browser } = setup({ policy: { preferExtension: true }, direct: () => "open", hostMissing: true });
  const ws = new WebSocket(DAEMON);
  const events = record(ws);
  await waitFor(() => events.length === 1, "open");
  assert.equal(browser.hosts.length, 1, "the extension was tried first");
  assert.equal(native.created.length, 1);
  assert.deepEqual(events, [["open"]]);
  native.created[0].receive("hi");
  assert.deepEqual(events[1], ["message", "hi", "wss://127.0.0.1:13579"]);
});

test("neither path opens: error, then close 1006 not clean", async () => {
  const { WebSocket, native, browser } = setup({ hostMissing: true });
  const ws = new WebSocket(DAEMON);
  const events = record(ws);
  let handlerCalls = 0;
  ws.onerror = () => handlerCalls++;
  ws.onclose = () => handlerCalls++;
  await waitFor(closed(events), "close");
  assert.deepEqual(events, [["error"], ["close", 1006, "", false]]);
  assert.equal(handlerCalls, 2);
  assert.equal(ws.readyState, WebSocket.CLOSED);
  assert.equal(native.created.length, 1);
  assert.equal(browser.hosts.length, 1);
});

test("an origin outside allowedOrigins: hello says disabled, only the direct path is tried", async () => {
  const { WebSocket, native, browser, frame } = setup({ origin: "https://other.kz", policy: { allowedOrigins: ["https://*.gov.kz"] } });
  await waitFor(() => frame.fromExtension("hello").length === 1, "hello answer");
  assert.equal(frame.fromExtension("hello")[0].enabled, false);
  const ws = new WebSocket(DAEMON);
  const events = record(ws);
  await waitFor(closed(events), "close");
  assert.deepEqual(events, [["error"], ["close", 1006, "", false]]);
  assert.equal(native.created.length, 1);
  assert.equal(frame.fromPage("open").length, 0, "no extension socket asked for");
  assert.equal(browser.hosts.length, 0);
});

test("no extension answer within 1 s: direct only; a socket made earlier waits for that", async () => {
  const { WebSocket, native, frame } = setup({ withExtension: false, direct: () => "open", timeScale: 0.05 });
  const ws = new WebSocket(DAEMON);
  const events = record(ws);
  await settle(5);
  assert.equal(native.created.length, 0, "waits for the hello answer or its timeout");
  await waitFor(() => events.length === 1, "open");
  assert.equal(native.created.length, 1);
  assert.equal(frame.fromPage("hello").length, 1);
});

test("a socket made before the hello answer waits for it, then follows it", async () => {
  const { WebSocket, native, browser } = setup({ policy: { preferExtension: true }, policyDelayMs: 50, direct: () => "open", onHost: daemonHost() });
  const ws = new WebSocket(DAEMON);
  const events = record(ws);
  await waitFor(() => events.length === 2, "open through the extension");
  assert.equal(native.created.length, 0, "preferExtension was known before trying");
  assert.equal(browser.hosts.length, 1);
});

test("send() while CONNECTING throws InvalidStateError; after close it only counts bytes", async () => {
  const { WebSocket } = setup({ onHost: daemonHost() });
  const ws = new WebSocket(DAEMON);
  assert.throws(() => ws.send("x"), { name: "InvalidStateError" });
  assert.throws(() => ws.send(), { name: "TypeError" });
  const events = record(ws);
  await waitFor(() => events.length === 2, "open");
  ws.close();
  ws.send("äb"); // 3 UTF-8 bytes
  assert.equal(ws.bufferedAmount, 3);
});

test("close() validates code and reason as the browser does", async () => {
  const { WebSocket } = setup({ onHost: daemonHost() });
  const ws = new WebSocket(DAEMON);
  for (const code of [0, 999, 1001, 1005, 1006, 2999, 5000, 65535]) {
    assert.throws(() => ws.close(code), { name: "InvalidAccessError" }, String(code));
  }
  assert.throws(() => ws.close(1000, "x".repeat(124)), { name: "SyntaxError" });
  assert.throws(() => ws.close(1000, "ж".repeat(62)), { name: "SyntaxError" }, "124 bytes in UTF-8");
  ws.close(1000, "ж".repeat(61) + "x"); // 123 bytes: fine
  assert.equal(ws.readyState, WebSocket.CLOSING);
});

test("close() while connecting: error then close 1006, no path is tried after", async () => {
  const { WebSocket, native, browser } = setup({ direct: () => "hang", onHost: daemonHost() });
  const ws = new WebSocket(DAEMON);
  const events = record(ws);
  await waitFor(() => native.created.length === 1, "the direct attempt");
  ws.close();
  assert.equal(ws.readyState, WebSocket.CLOSING);
  await waitFor(closed(events), "close");
  assert.deepEqual(events, [["error"], ["close", 1006, "", false]]);
  assert.deepEqual(native.created[0].closeCalls, [[undefined, undefined]], "the attempt is dropped");
  await settle();
  assert.equal(browser.hosts.length, 0);
  assert.equal(events.length, 2, "nothing after");
});

test("close() while the extension connects: the port is dropped, the host ends", async () => {
  const { WebSocket, browser } = setup({ policy: { preferExtension: true }, onHost: () => {} });
  const ws = new WebSocket(DAEMON);
  const events = record(ws);
  await waitFor(() => browser.hosts.length === 1, "the host started");
  ws.close();
  await waitFor(closed(events), "close");
  assert.deepEqual(events, [["error"], ["close", 1006, "", false]]);
  await waitFor(() => browser.hosts[0].disconnected, "the host disconnected");
});

test("binary and Blob sends go as UTF-8 text, in the order sent", async () => {
  const { WebSocket, browser } = setup({ onHost: daemonHost() });
  const ws = new WebSocket(DAEMON);
  const events = record(ws);
  await waitFor(() => events.length === 2, "open");
  ws.send(new Blob(["first, from a Blob"]));
  ws.send(new TextEncoder().encode("second, bytes").buffer);
  ws.send(new Uint8Array([0, 0x74, 0x68, 0x69, 0x72, 0x64, 0]).subarray(1, 6));
  ws.send("fourth \ud800 lone");
  ws.send(42);
  assert.ok(ws.bufferedAmount > 0, "the Blob and what waits behind it");
  await waitFor(() => events.length === 7, "five replies");
  assert.deepEqual(
    browser.hosts[0].received.slice(1).map((m) => m.text),
    ["first, from a Blob", "second, bytes", "third", "fourth \ufffd lone", "42"],
  );
  assert.equal(ws.bufferedAmount, 0);
});

test("event handler attributes: set, replaced in place, removed with null", async () => {
  const { WebSocket } = setup({ onHost: daemonHost() });
  const ws = new WebSocket(DAEMON);
  const order = [];
  ws.onmessage = () => order.push("first handler");
  ws.addEventListener("message", () => order.push("listener"));
  ws.onmessage = () => order.push("second handler"); // keeps the first one's place
  assert.equal(typeof ws.onmessage, "function");
  ws.onopen = "not a function";
  assert.equal(ws.onopen, null);
  await waitFor(() => order.length === 2, "the greeting");
  assert.deepEqual(order, ["second handler", "listener"]);
  ws.onmessage = null;
  ws.send("x");
  await waitFor(() => order.length === 3, "the reply");
  assert.deepEqual(order, ["second handler", "listener", "listener"]);
});

test("a page that replaces postMessage and addEventListener later does not break the shim", async () => {
  const { WebSocket, page } = setup({ onHost: daemonHost() });
  page.global.postMessage = () => { throw new Error("page's own postMessage"); };
  page.global.addEventListener = () => { throw new Error("page's own addEventListener"); };
  const ws = new WebSocket(DAEMON);
  const events = record(ws);
  await waitFor(() => events.length === 2, "open through the extension");
  ws.send("still works");
  await waitFor(() => events.length === 3, "the reply");
  assert.equal(events[2][1], "reply:still works");
});

test("messages from another window are ignored", async () => {
  const { WebSocket, frame, page } = setup({ withExtension: false, timeScale: 0.05, direct: () => "open" });
  // A message claiming to be the extension's hello, but from another window.
  const listener = frame.listeners.find((entry) => entry.global === page.global).fn;
  listener({ data: { qoltanba: "ext", op: "hello", enabled: true, prefer: true }, source: {} });
  const ws = new WebSocket(DAEMON);
  const events = record(ws);
  await waitFor(() => events.length === 1, "open");
  assert.equal(frame.fromPage("open").length, 0, "the extension was not used");
});
