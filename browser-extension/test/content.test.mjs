// content.js between a page and background.js: hello, pieces of at most 256 Ki code units
// (never half a surrogate pair), reassembly, only documented fields passed on.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ExtensionBrowser, Frame, daemonHost, loadBackground, loadContent, settle, waitFor } from "../test-support/harness.mjs";

const PIECE = 256 * 1024;

/** A frame with content.js and background.js; the test posts as the page would. */
function relay(options = {}) {
  const frame = new Frame({ origin: options.origin ?? "https://portal.kz" });
  const browser = new ExtensionBrowser(options);
  loadBackground(browser);
  const content = loadContent(frame, browser, options.sender);
  const page = (message) => frame.post("page", { qoltanba: "page", ...message }, frame.origin);
  return { frame, browser, content, page };
}

async function opened(setup, id = 1) {
  setup.page({ op: "open", id });
  await waitFor(() => setup.frame.fromExtension("opened").some((m) => m.id === id), "opened");
  return setup.browser.hosts.at(-1);
}

test("hello is answered with what background.js says about this frame", async () => {
  const { frame, page } = relay({ policy: { preferExtension: true } });
  page({ op: "hello" });
  await waitFor(() => frame.fromExtension("hello").length === 1, "the answer");
  assert.deepEqual(frame.fromExtension("hello")[0], { qoltanba: "ext", op: "hello", enabled: true, prefer: true });
});

test("hello when the extension cannot be asked (reloaded, removed): not enabled", async () => {
  const frame = new Frame();
  const browser = new ExtensionBrowser();
  const api = browser.contentApi(frame);
  api.runtime.sendMessage = () => { throw new Error("Extension context invalidated."); };
  loadContent(frame, browser, {}, api);
  frame.post("page", { qoltanba: "page", op: "hello" }, frame.origin);
  await waitFor(() => frame.fromExtension("hello").length === 1, "the answer");
  assert.deepEqual(frame.fromExtension("hello")[0], { qoltanba: "ext", op: "hello", enabled: false, prefer: false });
});

test("a page message of at most 256 Ki code units is one piece; longer ones are split", async () => {
  const setup = relay({ onHost: daemonHost({ greeting: null, reply: (text) => String(text.length) }) });
  const host = await opened(setup);
  setup.page({ op: "send", id: 1, text: "a".repeat(PIECE) });
  setup.page({ op: "send", id: 1, text: "b".repeat(PIECE + 1) });
  setup.page({ op: "send", id: 1, text: "" });
  await waitFor(() => setup.frame.fromExtension("message").length === 3, "three replies");
  const pieces = host.received.slice(1).map((m) => [m.text.length, m.more]);
  assert.deepEqual(pieces, [[PIECE, false], [PIECE, true], [1, false], [0, false]]);
  assert.deepEqual(setup.frame.fromExtension("message").map((m) => m.text), [String(PIECE), String(PIECE + 1), "0"]);
});

test("a surrogate pair across the 256 Ki boundary stays in one piece", async () => {
  const setup = relay({ onHost: daemonHost({ greeting: null, reply: (text) => text }) });
  const host = await opened(setup);
  const text = `${"a".repeat(PIECE - 1)}😀b${"c".repeat(PIECE)}😀`;
  setup.page({ op: "send", id: 1, text });
  await waitFor(() => setup.frame.fromExtension("message").length === 1, "the echo");
  const pieces = host.received.slice(1);
  assert.deepEqual(pieces.map((m) => [m.text.length, m.more]), [[PIECE - 1, true], [PIECE, true], [5, false]]);
  for (const piece of pieces) {
    assert.equal(piece.text, piece.text.toWellFormed(), "no piece holds half a pair");
  }
  assert.equal(pieces.map((m) => m.text).join(""), text);
  assert.equal(setup.frame.fromExtension("message")[0].text, text, "and back whole");
});

test("a lone surrogate from the page becomes U+FFFD, as a WebSocket sends it", async () => {
  const setup = relay({ onHost: daemonHost({ greeting: null }) });
  const host = await opened(setup);
  setup.page({ op: "send", id: 1, text: "x\udc00y" });
  await waitFor(() => host.received.length === 2, "the data");
  assert.equal(host.received[1].text, "x\ufffdy");
});

test("the host's pieces reach the page as one message", async () => {
  const setup = relay({ onHost: () => {} });
  setup.page({ op: "open", id: 7 });
  await waitFor(() => setup.browser.hosts.length === 1, "the host");
  const host = setup.browser.hosts[0];
  host.send({ type: "opened" });
  host.send({ type: "data", text: "{\"body\":", more: true });
  host.send({ type: "data", text: "\"MII", more: true });
  host.send({ type: "data", text: "…\"}", more: false });
  host.send({ type: "data", text: "next", more: false });
  await waitFor(() => setup.frame.fromExtension("message").length === 2, "two messages");
  assert.deepEqual(setup.frame.fromExtension("message"), [
    { qoltanba: "ext", op: "message", id: 7, text: "{\"body\":\"MII…\"}" },
    { qoltanba: "ext", op: "message", id: 7, text: "next" },
  ]);
});

test("extra fields from the page change nothing the host receives", async () => {
  const setup = relay({ onHost: daemonHost({ greeting: null }) });
  setup.page({ op: "open", id: 1, origin: "https://evil.kz", type: "open", url: "https://evil.kz/" });
  await waitFor(() => setup.frame.fromExtension("opened").length === 1, "opened");
  const host = setup.browser.hosts[0];
  setup.page({ op: "send", id: 1, text: "x", origin: "https://evil.kz", type: "open", more: true, code: 1000 });
  setup.page({ op: "close", id: 1, code: 3000, reason: "r", type: "open", origin: "https://evil.kz", clean: true });
  await waitFor(() => setup.frame.fromExtension("closed").length === 1, "closed");
  assert.deepEqual(host.received, [
    { type: "open", origin: "https://portal.kz" },
    { type: "data", text: "x", more: false },
    { type: "close", code: 3000, reason: "r" },
  ]);
  // What content.js itself posted on its port: only the documented fields.
  const port = setup.browser.contentPorts[0].peer;
  assert.deepEqual(port.log, [{ type: "data", text: "x", more: false }, { type: "close", code: 3000, reason: "r" }]);
});

test("malformed page messages are ignored", async () => {
  const setup = relay({ onHost: daemonHost({ greeting: null }) });
  for (const id of [0, -1, 1.5, "1", null, undefined, 2 ** 60]) setup.page({ op: "open", id });
  await settle();
  assert.equal(setup.browser.contentPorts.length, 0);
  const host = await opened(setup);
  setup.page({ op: "send", id: 1, text: 42 });
  setup.page({ op: "send", id: 1, text: { s: "x" } });
  setup.page({ op: "send", id: 1 });
  setup.page({ op: "send", id: 2, text: "no such socket" });
  setup.page({ op: "open", id: 1 }); // already open
  setup.page({ op: "unknown", id: 1 });
  await settle();
  assert.equal(host.received.length, 1, "only the open");
  assert.equal(setup.browser.contentPorts.length, 1);
});

test("messages from another window are ignored", async () => {
  const setup = relay({ onHost: daemonHost() });
  const listener = setup.frame.listeners.find((entry) => entry.global === setup.content.global).fn;
  listener({ data: { qoltanba: "page", op: "open", id: 1 }, source: {} });
  listener({ data: { qoltanba: "page", op: "hello" }, source: null });
  await settle();
  assert.equal(setup.browser.contentPorts.length, 0);
  assert.equal(setup.frame.fromExtension().length, 0);
});

test("a send before opened is dropped; a close before opened drops the port", async () => {
  const setup = relay({ onHost: () => {} });
  setup.page({ op: "open", id: 3 });
  await waitFor(() => setup.browser.hosts.length === 1, "the host");
  setup.page({ op: "send", id: 3, text: "too early" });
  setup.page({ op: "close", id: 3, code: 1000, reason: "" });
  await waitFor(() => setup.frame.fromExtension("closed").length === 1, "closed");
  assert.deepEqual(setup.frame.fromExtension("closed")[0], { qoltanba: "ext", op: "closed", id: 3, code: 1006, reason: "closed before opening", clean: false });
  await waitFor(() => setup.browser.hosts[0].disconnected, "the host disconnected");
  assert.deepEqual(setup.browser.hosts[0].received, [{ type: "open", origin: "https://portal.kz" }]);
});

test("closed from the host goes to the page as is; the port is then dropped", async () => {
  const setup = relay({ onHost: daemonHost({ greeting: null, closeCode: 1000 }) });
  await opened(setup, 4);
  setup.page({ op: "close", id: 4, code: 3001, reason: "bye" });
  await waitFor(() => setup.frame.fromExtension("closed").length === 1, "closed");
  assert.deepEqual(setup.frame.fromExtension("closed")[0], { qoltanba: "ext", op: "closed", id: 4, code: 1000, reason: "bye", clean: true });
  await settle();
  assert.equal(setup.frame.fromExtension("closed").length, 1, "once");
});

test("a port that disconnects without closed: closed 1006, not clean", async () => {
  const setup = relay({ onHost: daemonHost({ greeting: null }) });
  await opened(setup, 5);
  setup.browser.contentPorts[0].disconnect(); // background.js goes away (extension reloaded)
  await waitFor(() => setup.frame.fromExtension("closed").length === 1, "closed");
  const closed = setup.frame.fromExtension("closed")[0];
  assert.equal(closed.code, 1006);
  assert.equal(closed.clean, false);
  assert.equal(closed.id, 5);
});

test("runtime.connect throwing (extension context gone): closed 1006 at once", async () => {
  const frame = new Frame();
  const browser = new ExtensionBrowser();
  const api = browser.contentApi(frame);
  api.runtime.connect = () => { throw new Error("Extension context invalidated."); };
  loadContent(frame, browser, {}, api);
  frame.post("page", { qoltanba: "page", op: "open", id: 1 }, frame.origin);
  await waitFor(() => frame.fromExtension("closed").length === 1, "closed");
  assert.deepEqual(frame.fromExtension("closed")[0], { qoltanba: "ext", op: "closed", id: 1, code: 1006, reason: "Extension context invalidated.", clean: false });
});

test("messages to the page name this frame's origin; an opaque origin uses *", async () => {
  for (const origin of ["https://portal.kz", "null"]) {
    const frame = new Frame({ origin, url: "https://portal.kz/x" });
    const browser = new ExtensionBrowser();
    loadBackground(browser);
    const content = loadContent(frame, browser);
    const targets = [];
    const post = content.global.postMessage;
    content.global.postMessage = (data, target) => { targets.push(target); post(data, target); };
    frame.post("page", { qoltanba: "page", op: "hello" }, "*");
    await waitFor(() => targets.length === 1, "the answer");
    assert.equal(targets[0], origin === "null" ? "*" : origin);
  }
});
