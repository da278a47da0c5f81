// background.js: the origin from the browser only, the allowedOrigins policy, messages rebuilt
// from whitelisted fields, and each side ended when the other goes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EXTENSION_ID, ExtensionBrowser, Frame, daemonHost, loadBackground, settle, waitFor } from "../test-support/harness.mjs";

/** background.js alone; `connect(sender)` opens a port as content.js in that frame would. */
function background(options = {}) {
  const browser = new ExtensionBrowser(options);
  loadBackground(browser);
  function connect(options = {}) {
    // An origin or url given as undefined stays undefined: the browser did not report it.
    const { name = "qoltanba", ...sender } = options;
    if (!("origin" in sender)) sender.origin = "https://portal.kz";
    if (!("url" in sender)) sender.url = `${sender.origin}/page`;
    const frame = new Frame({ origin: sender.origin ?? "null", url: sender.url });
    const port = browser.contentApi(frame, sender).runtime.connect({ name });
    port.received = [];
    port.onMessage.addListener((message) => port.received.push(message));
    port.disconnected = false;
    port.onDisconnect.addListener(() => { port.disconnected = true; });
    return port;
  }
  return { browser, connect };
}

/** The config answer, through the callback-style API. */
function askConfig(bg, sender) {
  const frame = new Frame({ origin: sender.origin ?? "null", url: sender.url ?? "about:blank" });
  const api = bg.browser.contentApi(frame, sender);
  return new Promise((resolve) => api.runtime.sendMessage({ type: "config" }, resolve));
}

test("the host gets {type:open, origin} first, with the origin the browser reports", async () => {
  const { browser, connect } = background({ onHost: daemonHost({ greeting: null }) });
  const port = connect({ origin: "https://esf.gov.kz" });
  port.postMessage({ type: "data", text: "early", more: false }); // before the policy is read
  await waitFor(() => browser.hosts.length === 1 && browser.hosts[0].received.length === 2, "open and the data");
  assert.deepEqual(browser.hosts[0].received, [
    { type: "open", origin: "https://esf.gov.kz" },
    { type: "data", text: "early", more: false },
  ]);
});

test("without sender.origin (Firefox) the origin of sender.url is used", async () => {
  const { browser, connect } = background({ onHost: () => {} });
  connect({ origin: undefined, url: "https://Portal.KZ:443/a/b?c#d" });
  await waitFor(() => browser.hosts.length === 1 && browser.hosts[0].received.length === 1, "open");
  assert.deepEqual(browser.hosts[0].received[0], { type: "open", origin: "https://portal.kz" });
});

test("loopback http pages are served, with their port", async () => {
  const { browser, connect } = background({ onHost: () => {} });
  connect({ origin: "http://127.0.0.1:8080" });
  connect({ origin: "http://[::1]:3000" });
  await waitFor(() => browser.hosts.filter((h) => h.received.length > 0).length === 2, "two opens");
  assert.deepEqual(browser.hosts.map((h) => h.received[0].origin), ["http://127.0.0.1:8080", "http://[::1]:3000"]);
});

for (const [what, sender] of [
  ["a null origin (sandboxed frame)", { origin: "null", url: "https://portal.kz/sandboxed" }],
  ["a file: page", { origin: undefined, url: "file:///home/u/page.html" }],
  ["a file: page reporting its origin", { origin: "file://", url: "file:///home/u/page.html" }],
  ["an extension page", { origin: `chrome-extension://${EXTENSION_ID}`, url: `chrome-extension://${EXTENSION_ID}/popup.html` }],
  ["a Firefox extension page", { origin: undefined, url: "moz-extension://0f1e2d3c/popup.html" }],
  ["a data: URL", { origin: undefined, url: "data:text/html,x" }],
  ["no origin at all", { origin: undefined, url: undefined }],
  ["another extension", { origin: "https://portal.kz", id: "abcdefghijklmnopabcdefghijklmnop" }],
]) {
  test(`refused: ${what}`, async () => {
    const bg = background({ onHost: daemonHost() });
    const { browser, connect } = bg;
    const port = connect(sender);
    await waitFor(() => port.disconnected, "the port dropped");
    assert.equal(port.received.length, 1);
    assert.equal(port.received[0].type, "closed");
    assert.equal(port.received[0].code, 1006);
    assert.equal(port.received[0].clean, false);
    assert.equal(browser.hosts.length, 0, "no host started");
    const answer = await askConfig(bg, sender);
    if (sender.id === undefined) assert.deepEqual(answer, { enabled: false, prefer: false });
    else assert.equal(answer, undefined, "another extension is not answered");
  });
}

test("a port with another name is not ours", async () => {
  const { browser, connect } = background();
  const port = connect({ name: "other" });
  await settle();
  assert.equal(browser.hosts.length, 0);
  assert.equal(port.received.length, 0);
});

// [allowedOrigins, origin, served]
const POLICY_CASES = [
  [undefined, "https://anything.kz", true],
  [[], "https://anything.kz", true],
  [["*"], "https://anything.kz", true],
  [["https://esf.gov.kz"], "https://esf.gov.kz", true],
  [["https://esf.gov.kz/"], "https://esf.gov.kz", true],
  [["HTTPS://ESF.GOV.KZ"], "https://esf.gov.kz", true],
  [["https://esf.gov.kz:443"], "https://esf.gov.kz", true],
  [["https://esf.gov.kz"], "https://esf.gov.kz:8443", false],
  [["https://esf.gov.kz:8443"], "https://esf.gov.kz:8443", true],
  [["https://esf.gov.kz"], "http://esf.gov.kz", false],
  [["https://esf.gov.kz"], "https://a.esf.gov.kz", false],
  [["https://*.gov.kz"], "https://esf.gov.kz", true],
  [["https://*.gov.kz"], "https://a.b.gov.kz", true],
  [["https://*.gov.kz"], "https://gov.kz", false],
  [["https://*.gov.kz"], "https://evilgov.kz", false],
  [["https://*.gov.kz"], "https://gov.kz.evil.kz", false],
  [["https://*.gov.kz"], "http://esf.gov.kz", false],
  [["https://*.gov.kz"], "https://esf.gov.kz:8443", false],
  [["https://*.gov.kz:8443"], "https://esf.gov.kz:8443", true],
  [["https://*.kz"], "https://esf.gov.kz", false], // never a bare top-level domain
  [["*.gov.kz"], "https://esf.gov.kz", false], // a scheme is needed
  [["esf.gov.kz"], "https://esf.gov.kz", false],
  [["https://esf.gov.kz/path"], "https://esf.gov.kz", false],
  [["not an origin"], "https://esf.gov.kz", false], // a list of only invalid entries allows none
  [["not an origin", "https://esf.gov.kz"], "https://esf.gov.kz", true],
  ["https://egov.kz, https://*.gov.kz", "https://esf.gov.kz", true], // one string, as an installer writes it
  ["https://egov.kz https://*.gov.kz", "https://egov.kz", true],
  [["http://localhost:3000"], "http://localhost:3000", true],
  [["http://[::1]:3000"], "http://[::1]:3000", true],
  [["https://xn--80ak6aa92e.kz"], "https://xn--80ak6aa92e.kz", true],
];

test("allowedOrigins: exact origins, *.domain for subdomains only, * for all", async () => {
  for (const [allowedOrigins, origin, served] of POLICY_CASES) {
    const policy = allowedOrigins === undefined ? {} : { allowedOrigins };
    const bg = background({ policy });
    const answer = await askConfig(bg, { origin, url: `${origin}/` });
    assert.equal(answer.enabled, served, `${JSON.stringify(allowedOrigins)} ${origin}`);
  }
});

test("a connection from an origin outside allowedOrigins is refused before any host starts", async () => {
  const { browser, connect } = background({ policy: { allowedOrigins: ["https://*.gov.kz"] }, onHost: daemonHost() });
  const port = connect({ origin: "https://portal.kz" });
  await waitFor(() => port.disconnected, "the port dropped");
  assert.match(port.received[0].reason, /allowedOrigins/);
  assert.equal(browser.hosts.length, 0);
  const allowed = connect({ origin: "https://esf.gov.kz" });
  await waitFor(() => allowed.received.length === 2, "opened and the greeting");
  assert.equal(browser.hosts.length, 1);
});

test("config: preferExtension, and the defaults when managed storage fails", async () => {
  assert.deepEqual(await askConfig(background({ policy: { preferExtension: true } }), { origin: "https://a.kz" }), { enabled: true, prefer: true });
  assert.deepEqual(await askConfig(background({ policy: { preferExtension: "yes" } }), { origin: "https://a.kz" }), { enabled: true, prefer: false });
  const failing = background({ policyError: "Managed storage manifest not found", policy: { preferExtension: true } });
  assert.deepEqual(await askConfig(failing, { origin: "https://a.kz" }), { enabled: true, prefer: false });
  const port = failing.connect({ origin: "https://a.kz" });
  await settle();
  assert.equal(failing.browser.hosts.length, 1, "a connection goes ahead with the defaults");
  assert.equal(port.disconnected, false);
});

test("config while managed storage is slow: the policy last read, at once; connections wait", async () => {
  const bg = background({ policy: { allowedOrigins: ["https://esf.gov.kz"], preferExtension: true }, onHost: () => {} });
  assert.deepEqual(await askConfig(bg, { origin: "https://esf.gov.kz" }), { enabled: true, prefer: true });
  await waitFor(() => bg.browser.local.lastManagedPolicy !== undefined, "the copy");

  // The browser restarts; managed storage now takes 1.2 s to answer, and IT changed the policy.
  const restarted = new ExtensionBrowser({ policy: { allowedOrigins: ["https://other.kz"] }, policyDelayMs: 1200, onHost: () => {} });
  restarted.local = structuredClone(bg.browser.local);
  loadBackground(restarted);
  const frame = new Frame({ origin: "https://esf.gov.kz" });
  const started = Date.now();
  const answer = await new Promise((resolve) => restarted.contentApi(frame).runtime.sendMessage({ type: "config" }, resolve));
  assert.ok(Date.now() - started < 1000, "answered well within the page's 1 s");
  assert.deepEqual(answer, { enabled: true, prefer: true }, "from the copy");

  const port = restarted.contentApi(frame).runtime.connect({ name: "qoltanba" });
  const received = [];
  port.onMessage.addListener((message) => received.push(message));
  await waitFor(() => received.length === 1, "the refusal", 5000);
  assert.match(received[0].reason, /allowedOrigins/, "the connection used the policy itself");
  assert.equal(restarted.hosts.length, 0);
});

test("with no copy yet, a slow managed storage gives the defaults to config", async () => {
  const bg = background({ policy: { allowedOrigins: ["https://other.kz"] }, policyDelayMs: 1200 });
  const started = Date.now();
  assert.deepEqual(await askConfig(bg, { origin: "https://esf.gov.kz" }), { enabled: true, prefer: false });
  assert.ok(Date.now() - started < 1000);
});

test("messages from content.js are rebuilt from whitelisted fields; others are dropped", async () => {
  const { browser, connect } = background({ onHost: daemonHost({ greeting: null, reply: () => "r" }) });
  const port = connect({ origin: "https://portal.kz" });
  await waitFor(() => port.received.length === 1, "opened");
  for (const message of [
    { type: "open", origin: "https://evil.kz" },
    { type: "data", text: 5, more: false },
    { type: "data", more: false },
    { type: "close", code: "1000", reason: "" },
    { type: "close", code: 1000 },
    { type: "close", code: 70000, reason: "" },
    { type: "other" },
    "data",
    null,
    { type: "data", text: "kept", more: "yes", origin: "https://evil.kz", type2: "open" },
    { type: "close", code: 1000, reason: "r", origin: "https://evil.kz", clean: true },
  ]) {
    port.postMessage(message);
  }
  await waitFor(() => port.received.some((m) => m.type === "closed"), "closed");
  assert.deepEqual(browser.hosts[0].received, [
    { type: "open", origin: "https://portal.kz" },
    { type: "data", text: "kept", more: false },
    { type: "close", code: 1000, reason: "r" },
  ]);
});

test("the host's messages are relayed (whitelisted), pieces as they come", async () => {
  const { browser, connect } = background({ onHost: () => {} });
  const port = connect();
  await waitFor(() => browser.hosts.length === 1, "the host");
  const host = browser.hosts[0];
  host.send({ type: "opened", extra: 1 });
  host.send({ type: "data", text: "a", more: true });
  host.send({ type: "data", text: "b" });
  host.send({ type: "weird" });
  host.send({ type: "data", text: 1 });
  host.send({ type: "closed", code: 1000, reason: "", clean: true });
  host.exit();
  await waitFor(() => port.disconnected, "the port dropped");
  assert.deepEqual(port.received, [
    { type: "opened" },
    { type: "data", text: "a", more: true },
    { type: "data", text: "b", more: false },
    { type: "closed", code: 1000, reason: "", clean: true },
  ], "one closed only: the host's");
});

test("the host exits without closed: closed 1006 with the browser's error, port dropped", async () => {
  const { browser, connect } = background({ onHost: (host) => host.send({ type: "opened" }) });
  const port = connect();
  await waitFor(() => port.received.length === 1, "opened");
  browser.hosts[0].exit("Native host has exited.");
  await waitFor(() => port.disconnected, "the port dropped");
  assert.deepEqual(port.received.at(-1), { type: "closed", code: 1006, reason: "Native host has exited.", clean: false });
});

test("no host installed: closed 1006 naming the browser's error", async () => {
  const { connect } = background({ hostMissing: true });
  const port = connect();
  await waitFor(() => port.disconnected, "the port dropped");
  assert.deepEqual(port.received, [{ type: "closed", code: 1006, reason: "Specified native messaging host not found.", clean: false }]);
});

test("the page goes away: the native port is disconnected (the host ends)", async () => {
  const { browser, connect } = background({ onHost: daemonHost() });
  const port = connect();
  await waitFor(() => port.received.length === 2, "opened");
  port.disconnect();
  await waitFor(() => browser.hosts[0].disconnected, "the host disconnected");
});

test("the page goes away while the policy is read: no host is started", async () => {
  const { browser, connect } = background({ policyDelayMs: 50, onHost: daemonHost() });
  const port = connect();
  port.disconnect();
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(browser.hosts.length, 0);
});

test("promise-style APIs (Firefox's browser.*) work the same", async () => {
  const bg = background({ promises: true, policy: { preferExtension: true, allowedOrigins: ["https://*.gov.kz"] }, onHost: daemonHost({ greeting: null }) });
  const frame = new Frame({ origin: "https://esf.gov.kz" });
  const answer = await bg.browser.contentApi(frame).runtime.sendMessage({ type: "config" });
  assert.deepEqual(answer, { enabled: true, prefer: true });
  const port = bg.connect({ origin: "https://esf.gov.kz" });
  await waitFor(() => port.received.length === 1, "opened");
  assert.deepEqual(bg.browser.hosts[0].received[0], { type: "open", origin: "https://esf.gov.kz" });
});

test("other runtime messages are not answered", async () => {
  const bg = background();
  const frame = new Frame();
  const answer = await new Promise((resolve) => bg.browser.contentApi(frame).runtime.sendMessage({ type: "other" }, resolve));
  assert.equal(answer, undefined);
});
