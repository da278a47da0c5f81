/*
 * The unit tests' fake browser: the real src/*.js files, each loaded into its own `vm` context
 * (the page's world, the content script's isolated world, the background), joined by fakes of
 * what the browser provides: window.postMessage between the two worlds of one frame, the
 * browser's own WebSocket, runtime ports and messages, storage.managed and storage.local, and
 * native ports whose host the test plays.
 *
 * It lives outside test/ because `node --test test/` runs every .mjs file under test/.
 */
import { readFileSync } from "node:fs";
import vm from "node:vm";

export const EXTENSION_ID = "laligpnnhopilbfbgnjgjnfnjejjainp";
const SRC = new URL("../src/", import.meta.url);

/** Node 20 has no CloseEvent. */
export class CloseEvent extends Event {
  constructor(type, init = {}) {
    super(type, init);
    this.code = init.code ?? 0;
    this.reason = init.reason ?? "";
    this.wasClean = init.wasClean ?? false;
  }
}

export function tick() {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Waits until `predicate()` is true (polling once per event-loop turn), or fails. */
export async function waitFor(predicate, what = "the condition", timeoutMs = 3000) {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Lets every queued message, timer of 0 ms and promise run. */
export async function settle(rounds = 30) {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

function load(file, context) {
  vm.runInContext(readFileSync(new URL(file, SRC), "utf8"), context, { filename: file });
}

function browserGlobals(timeScale) {
  return {
    console,
    setTimeout: (fn, ms = 0, ...args) => setTimeout(fn, ms * timeScale, ...args),
    clearTimeout,
    EventTarget,
    Event,
    MessageEvent,
    CloseEvent,
    DOMException,
    URL,
    TextDecoder,
    TextEncoder,
    Blob,
    structuredClone,
  };
}

// ---- A frame: one window, two worlds --------------------------------------------------------

export class Frame {
  constructor({ origin = "https://portal.kz", url = `${origin}/sign`, timeScale = 1 } = {}) {
    this.origin = origin;
    this.url = url;
    this.timeScale = timeScale;
    this.listeners = []; // {world, fn}
    this.posted = []; // {from, data} for every postMessage, in order
  }

  /** A world (vm context) of this frame; `extra` adds globals (chrome, WebSocket…). */
  world(name, extra = {}) {
    const frame = this;
    const sandbox = {
      ...browserGlobals(this.timeScale),
      location: { origin: this.origin, href: this.url },
      document: { baseURI: this.url },
      ...extra,
    };
    const context = vm.createContext(sandbox);
    const global = vm.runInContext("globalThis", context);
    global.window = global;
    global.postMessage = function postMessage(data, targetOrigin) {
      frame.post(name, data, targetOrigin);
    };
    global.addEventListener = function addEventListener(type, fn) {
      if (type === "message") frame.listeners.push({ global, fn });
    };
    global.removeEventListener = function removeEventListener(type, fn) {
      frame.listeners = frame.listeners.filter((entry) => entry.fn !== fn);
    };
    return { name, context, global };
  }

  post(from, data, targetOrigin) {
    if (targetOrigin !== "*" && targetOrigin !== this.origin) return; // as browsers: dropped
    const copy = structuredClone(data);
    this.posted.push({ from, data: copy });
    setImmediate(() => {
      for (const { global, fn } of [...this.listeners]) {
        // Each world sees its own window as the source of a message posted in this frame.
        fn.call(global, { type: "message", data: copy, source: global, origin: this.origin });
      }
    });
  }

  /** What the page-side shim received from the extension. */
  fromExtension(op) {
    return this.posted.filter((m) => m.from === "content" && (op === undefined || m.data.op === op)).map((m) => m.data);
  }

  fromPage(op) {
    return this.posted.filter((m) => m.from === "page" && (op === undefined || m.data.op === op)).map((m) => m.data);
  }
}

// ---- The browser's own WebSocket ------------------------------------------------------------

/**
 * A fake of the browser's WebSocket. `behaviour(url)` says what the connection does:
 * "open" (opens, then the test drives it), "fail" (error + close 1006 before opening) or
 * "hang" (stays CONNECTING).
 */
export function fakeNativeWebSocket(behaviour = () => "fail") {
  const created = [];
  class WebSocket extends EventTarget {
    #url;
    #readyState = 0;
    #binaryType = "blob";
    #handlers = {};
    constructor(url, protocols) {
      super();
      this.#url = String(url);
      this.protocols = protocols;
      this.sent = [];
      this.closeCalls = [];
      created.push(this);
      const what = behaviour(this.#url);
      setImmediate(() => {
        if (this.#readyState !== 0) return;
        if (what === "open") {
          this.#readyState = 1;
          this.dispatchEvent(new Event("open"));
        } else if (what === "fail") {
          this.#readyState = 3;
          this.dispatchEvent(new Event("error"));
          this.dispatchEvent(new CloseEvent("close", { code: 1006, reason: "", wasClean: false }));
        }
      });
    }
    get url() { return this.#url; }
    get readyState() { return this.#readyState; }
    get bufferedAmount() { return 0; }
    get extensions() { return ""; }
    get protocol() { return "chosen"; }
    get binaryType() { return this.#binaryType; }
    set binaryType(value) { if (value === "blob" || value === "arraybuffer") this.#binaryType = value; }
    send(data) {
      if (this.#readyState === 0) throw new DOMException("Still in CONNECTING state.", "InvalidStateError");
      this.sent.push(data);
    }
    close(code, reason) {
      this.closeCalls.push([code, reason]);
      if (this.#readyState >= 2) return;
      const wasConnecting = this.#readyState === 0;
      this.#readyState = 2;
      setImmediate(() => {
        this.#readyState = 3;
        if (wasConnecting) this.dispatchEvent(new Event("error"));
        const init = wasConnecting ? { code: 1006, wasClean: false } : { code: code ?? 1005, reason: reason ?? "", wasClean: true };
        this.dispatchEvent(new CloseEvent("close", init));
      });
    }
    #setHandler(type, value) {
      if (this.#handlers[type]) this.removeEventListener(type, this.#handlers[type]);
      this.#handlers[type] = typeof value === "function" ? value : null;
      if (this.#handlers[type]) this.addEventListener(type, this.#handlers[type]);
    }
    get onopen() { return this.#handlers.open ?? null; }
    set onopen(value) { this.#setHandler("open", value); }
    get onmessage() { return this.#handlers.message ?? null; }
    set onmessage(value) { this.#setHandler("message", value); }
    get onerror() { return this.#handlers.error ?? null; }
    set onerror(value) { this.#setHandler("error", value); }
    get onclose() { return this.#handlers.close ?? null; }
    set onclose(value) { this.#setHandler("close", value); }
    /** The server sends a message. */
    receive(data) {
      this.dispatchEvent(new MessageEvent("message", { data, origin: new URL(this.#url).origin }));
    }
    /** The server closes. */
    serverClose(code, reason) {
      this.#readyState = 3;
      this.dispatchEvent(new CloseEvent("close", { code, reason, wasClean: true }));
    }
  }
  ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach((name, value) => {
    Object.defineProperty(WebSocket, name, { value, enumerable: true });
    Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true });
  });
  return { WebSocket, created };
}

// ---- The extension's browser API ------------------------------------------------------------

function makeEvent() {
  const listeners = [];
  return {
    listeners,
    addListener(fn) { listeners.push(fn); },
    removeListener(fn) { const i = listeners.indexOf(fn); if (i >= 0) listeners.splice(i, 1); },
    hasListener(fn) { return listeners.includes(fn); },
  };
}

function jsonCopy(message) {
  return JSON.parse(JSON.stringify(message));
}

/** One end of a runtime.Port; `runtime` is the API whose lastError onDisconnect sets. */
class Port {
  constructor(name, sender) {
    this.name = name;
    this.sender = sender;
    this.onMessage = makeEvent();
    this.onDisconnect = makeEvent();
    this.gone = false;
    this.peer = null;
    this.log = []; // what was posted on this end
  }
  postMessage(message) {
    if (this.gone) throw new Error("Attempting to use a disconnected port object");
    const copy = jsonCopy(message);
    this.log.push(copy);
    const peer = this.peer;
    setImmediate(() => peer.deliver(copy));
  }
  deliver(message) {
    if (this.gone) return;
    for (const fn of [...this.onMessage.listeners]) fn(message, this);
  }
  disconnect() {
    if (this.gone) return;
    this.gone = true;
    const peer = this.peer;
    setImmediate(() => peer.remoteGone());
  }
  remoteGone(error) {
    if (this.gone) return;
    this.gone = true;
    for (const fn of [...this.onDisconnect.listeners]) withLastError(this.runtime, error, () => fn(this));
  }
}

function withLastError(runtime, error, fn) {
  if (runtime && error) runtime.lastError = { message: error };
  try {
    fn();
  } finally {
    if (runtime) delete runtime.lastError;
  }
}

/**
 * A native host the test plays: `received` is what background.js wrote to it; `send()`
 * answers; `exit(error)` ends the process.
 */
class NativeHost {
  constructor(port) {
    this.port = port; // the host's end
    this.received = [];
  }
  get disconnected() {
    return this.port.gone;
  }
  send(message) {
    this.port.postMessage(message);
  }
  exit(error) {
    if (this.port.gone) return;
    this.port.gone = true;
    const peer = this.port.peer;
    setImmediate(() => peer.remoteGone(error));
  }
}

/**
 * The browser's extension machinery: the background world's API, a content world's API per
 * frame, managed policy and native hosts.
 */
export class ExtensionBrowser {
  constructor({ policy = {}, policyError = null, policyDelayMs = 0, promises = false, hostMissing = false, onHost = null } = {}) {
    this.policy = policy;
    this.policyError = policyError;
    this.policyDelayMs = policyDelayMs;
    this.local = {};
    this.promises = promises;
    this.hostMissing = hostMissing;
    this.onHost = onHost; // called with each new NativeHost
    this.hosts = [];
    this.contentPorts = []; // background ends of content ports
    this.background = this.#backgroundApi();
  }

  #style(fn) {
    // chrome.* style (a trailing callback, runtime.lastError) or browser.* (promises).
    const browser = this;
    return function (...args) {
      const callback = !browser.promises && typeof args[args.length - 1] === "function" ? args.pop() : null;
      const result = fn(...args);
      if (callback === null) return result;
      result.then(
        (value) => callback(value),
        (error) => withLastError(browser.background.runtime, error.message, () => callback(undefined)),
      );
      return undefined;
    };
  }

  #backgroundApi() {
    const browser = this;
    const runtime = {
      id: EXTENSION_ID,
      onConnect: makeEvent(),
      onMessage: makeEvent(),
      connectNative(name) {
        const extensionEnd = new Port(name, undefined);
        extensionEnd.runtime = runtime;
        const hostEnd = new Port(name, undefined);
        extensionEnd.peer = hostEnd;
        hostEnd.peer = extensionEnd;
        const host = new NativeHost(hostEnd);
        hostEnd.onMessage.addListener((message) => host.received.push(message));
        browser.hosts.push(host);
        if (browser.hostMissing) host.exit("Specified native messaging host not found.");
        else if (browser.onHost) browser.onHost(host);
        return extensionEnd;
      },
    };
    const storage = {
      managed: {
        get: this.#style(async (keys) => {
          if (browser.policyDelayMs) await new Promise((resolve) => setTimeout(resolve, browser.policyDelayMs));
          if (browser.policyError) throw new Error(browser.policyError);
          const out = {};
          for (const key of keys) if (key in browser.policy) out[key] = structuredClone(browser.policy[key]);
          return out;
        }),
      },
      local: {
        get: this.#style(async (keys) => {
          const out = {};
          for (const key of keys) if (key in browser.local) out[key] = structuredClone(browser.local[key]);
          return out;
        }),
        set: this.#style(async (items) => {
          Object.assign(browser.local, structuredClone(items));
        }),
      },
    };
    return { runtime, storage };
  }

  /** The API of content.js in `frame`; `sender` overrides what the browser reports. */
  contentApi(frame, sender = {}) {
    const browser = this;
    const fullSender = { id: EXTENSION_ID, url: frame.url, origin: frame.origin, tab: { id: 1 }, frameId: 0, ...sender };
    const runtime = {
      id: EXTENSION_ID,
      connect({ name }) {
        const contentEnd = new Port(name, undefined);
        contentEnd.runtime = runtime;
        const backgroundEnd = new Port(name, structuredClone(fullSender));
        backgroundEnd.runtime = browser.background.runtime;
        contentEnd.peer = backgroundEnd;
        backgroundEnd.peer = contentEnd;
        browser.contentPorts.push(backgroundEnd);
        setImmediate(() => {
          for (const fn of browser.background.runtime.onConnect.listeners) fn(backgroundEnd);
        });
        return contentEnd;
      },
      sendMessage: this.#style((message) => new Promise((resolve) => {
        const copy = jsonCopy(message);
        setImmediate(() => {
          let answered = false;
          const sendResponse = (answer) => {
            if (answered) return;
            answered = true;
            resolve(answer === undefined ? undefined : jsonCopy(answer));
          };
          let keep = false;
          for (const fn of browser.background.runtime.onMessage.listeners) {
            if (fn(copy, structuredClone(fullSender), sendResponse) === true) keep = true;
          }
          if (!keep) sendResponse(undefined);
        });
      })),
    };
    return { runtime };
  }

  /** The API the page's worlds get: `chrome` or `browser` by style. */
  globalsFor(api) {
    return this.promises ? { browser: api, chrome: api } : { chrome: api };
  }
}

/** background.js in its own context, with `browser`'s API. */
export function loadBackground(browser) {
  const context = vm.createContext({ ...browserGlobals(1), ...browser.globalsFor(browser.background) });
  load("background.js", context);
  return context;
}

/** content.js in a world of `frame`; `api` replaces the browser's content-script API. */
export function loadContent(frame, browser, sender = {}, api = browser.contentApi(frame, sender)) {
  const content = frame.world("content", browser.globalsFor(api));
  load("content.js", content.context);
  return content;
}

// ---- Everything together --------------------------------------------------------------------

/**
 * One frame with shim.js, content.js and background.js loaded, the browser's own WebSocket
 * faked by `direct(url)` ("open", "fail", "hang") and the host played by `onHost` (see
 * daemonHost). `withExtension: false` leaves content.js out (the extension does not answer).
 */
export function setup({
  origin = "https://portal.kz",
  url,
  sender = {},
  direct = () => "fail",
  timeScale = 1,
  withExtension = true,
  ...browserOptions
} = {}) {
  const frame = new Frame({ origin, url, timeScale });
  const browser = new ExtensionBrowser(browserOptions);
  const native = fakeNativeWebSocket(direct);
  const background = loadBackground(browser);
  const page = frame.world("page", { WebSocket: native.WebSocket });
  load("shim.js", page.context);
  const content = withExtension ? loadContent(frame, browser, sender) : null;
  return { frame, browser, native, page, content, background, WebSocket: page.global.WebSocket };
}

/**
 * Plays the native host and the daemon behind it: "opened" and the greeting on open, a reply
 * for each whole request (pieces joined), the daemon's close answer.
 */
export function daemonHost({ greeting = '{"result":{"version":"1.4"}}', reply = (text) => `reply:${text}`, closeCode } = {}) {
  return (host) => {
    let pieces = [];
    host.port.onMessage.addListener((message) => {
      if (message.type === "open") {
        host.send({ type: "opened" });
        if (greeting !== null) host.send({ type: "data", text: greeting, more: false });
      } else if (message.type === "data") {
        pieces.push(message.text);
        if (!message.more) {
          const text = pieces.join("");
          pieces = [];
          host.send({ type: "data", text: reply(text), more: false });
        }
      } else if (message.type === "close") {
        host.send({ type: "closed", code: closeCode ?? message.code, reason: message.reason, clean: true });
        host.exit();
      }
    });
  };
}

/** Every event a socket fires, as [type, details]. */
export function record(socket) {
  const events = [];
  socket.addEventListener("open", () => events.push(["open"]));
  socket.addEventListener("message", (e) => events.push(["message", e.data, e.origin]));
  socket.addEventListener("error", () => events.push(["error"]));
  socket.addEventListener("close", (e) => events.push(["close", e.code, e.reason, e.wasClean]));
  return events;
}
