/*
 * shim.js: Qoltanba's page-side WebSocket (MAIN world, document_start, every frame).
 *
 * It replaces window.WebSocket so that a portal's `new WebSocket("wss://127.0.0.1:13579")`
 * reaches the Qoltanba daemon either directly (the browser's own WebSocket) or, when the browser
 * blocks that (Local Network Access denied, certificate not trusted, port unreachable), through
 * the extension: window.postMessage → content.js → background.js → the native host.
 * The contract is docs/extension.md.
 *
 * What it must not do:
 * - touch any other URL: those get the browser's own WebSocket, untouched;
 * - depend on anything the page can replace later: the globals it uses are captured at load;
 * - claim anything about the page: it runs as the page's own code, so everything it posts can
 *   be forged by the page. The origin the daemon sees is taken by background.js from the
 *   browser, never from here.
 *
 * It is a plain script (an IIFE over globalThis, no imports) so that the unit tests can load it
 * in a `vm` context with a fake window.
 */
(function (global) {
  "use strict";

  const MARK = Symbol.for("qoltanba.shim");
  const NativeWebSocket = global.WebSocket;
  // Loaded twice into one window (an extension reload), or no WebSocket at all: leave it be.
  if (typeof NativeWebSocket !== "function" || NativeWebSocket[MARK]) return;

  // Captured at load, before any page script runs: a page that later replaces these must not
  // break the shim or steer it.
  const apply = Reflect.apply;
  const construct = Reflect.construct;
  const defineProperty = Object.defineProperty;
  const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  const postMessage = global.postMessage;
  const addEventListener = global.addEventListener;
  const setTimer = global.setTimeout;
  const EventTargetClass = global.EventTarget;
  const dispatchEvent = EventTargetClass.prototype.dispatchEvent;
  const addListener = EventTargetClass.prototype.addEventListener;
  const removeListener = EventTargetClass.prototype.removeEventListener;
  const EventClass = global.Event;
  const MessageEventClass = global.MessageEvent;
  const CloseEventClass = global.CloseEvent;
  const DOMExceptionClass = global.DOMException;
  const URLClass = global.URL;
  const BlobClass = global.Blob;
  const blobText = BlobClass ? BlobClass.prototype.text : undefined;
  const decoder = new global.TextDecoder("utf-8");
  const decode = global.TextDecoder.prototype.decode;
  const isView = ArrayBuffer.isView;
  const objectToString = Object.prototype.toString;
  const toWellFormed = String.prototype.toWellFormed;
  const weakGet = WeakMap.prototype.get;
  const weakSet = WeakMap.prototype.set;
  const mapGet = Map.prototype.get;
  const mapSet = Map.prototype.set;
  const mapDelete = Map.prototype.delete;
  const pageOrigin = global.location.origin;
  // An opaque origin ("null", a sandboxed frame) cannot be named as a target; the message still
  // stays in this window.
  const targetOrigin = pageOrigin === "null" ? "*" : pageOrigin;

  const CONNECTING = 0;
  const OPEN = 1;
  const CLOSING = 2;
  const CLOSED = 3;
  const DAEMON_HOSTS = ["127.0.0.1", "localhost", "[::1]"];
  const DAEMON_PORT = "13579";
  const HELLO_TIMEOUT_MS = 1000;
  const EVENT_TYPES = ["open", "message", "error", "close"];
  // RFC 6455 subprotocol names are HTTP tokens.
  const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

  // ---- The extension's answer to hello ------------------------------------------------------

  let hello = null; // {enabled, prefer} once content.js answered
  let helloSettled = false; // answered, or the timeout passed: the extension is then absent
  const helloWaiters = [];

  function settleHello() {
    if (helloSettled) return;
    helloSettled = true;
    const waiters = helloWaiters.splice(0);
    for (const start of waiters) start();
  }

  /** Runs `start` once the hello answer (or its timeout) is known; at once if it is. */
  function whenHello(start) {
    if (helloSettled) start();
    else helloWaiters.push(start);
  }

  function post(message) {
    apply(postMessage, global, [message, targetOrigin]);
  }

  // ---- Messages from content.js -------------------------------------------------------------

  const channels = new Map(); // extension socket id → handler of its messages
  let lastId = 0;

  function onWindowMessage(event) {
    // Only this window's own messages; another frame cannot speak for the extension.
    if (event.source !== global) return;
    const data = event.data;
    if (data === null || typeof data !== "object" || data.qoltanba !== "ext") return;
    if (data.op === "hello") {
      // A late answer (after the timeout) still serves the sockets created from now on.
      hello = { enabled: data.enabled === true, prefer: data.prefer === true };
      settleHello();
      return;
    }
    const handler = apply(mapGet, channels, [data.id]);
    if (handler !== undefined) handler(data);
  }

  // ---- The daemon's URL ---------------------------------------------------------------------

  function baseUrl() {
    const document = global.document;
    return document && typeof document.baseURI === "string" ? document.baseURI : global.location.href;
  }

  /**
   * The parsed URL when it names the daemon (ws[s]://127.0.0.1|localhost|[::1]:13579, any path
   * or query), else null. Anything unusual (unparsable, a fragment) is left to the browser's
   * own WebSocket, which then throws the error a page expects.
   */
  function daemonUrl(url) {
    let parsed;
    try {
      parsed = new URLClass(String(url), baseUrl());
    } catch {
      return null;
    }
    // Browsers accept http(s) URLs in new WebSocket() and turn them into ws(s).
    if (parsed.protocol === "http:") parsed.protocol = "ws:";
    else if (parsed.protocol === "https:") parsed.protocol = "wss:";
    if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") return null;
    if (!DAEMON_HOSTS.includes(parsed.hostname) || parsed.port !== DAEMON_PORT) return null;
    if (parsed.href.includes("#")) return null;
    return parsed;
  }

  /** The subprotocols as the browser checks them: tokens, no repeats; else SyntaxError. */
  function checkProtocols(protocols) {
    if (protocols === undefined) return [];
    const sequence = protocols !== null && typeof protocols === "object" && typeof protocols[Symbol.iterator] === "function";
    const list = sequence ? Array.from(protocols, String) : [String(protocols)];
    list.forEach((protocol, index) => {
      if (!TOKEN.test(protocol) || list.indexOf(protocol) !== index) {
        throw new DOMExceptionClass(
          `Failed to construct 'WebSocket': The subprotocol '${protocol}' is invalid.`,
          "SyntaxError",
        );
      }
    });
    return list;
  }

  // ---- Bridged sockets ----------------------------------------------------------------------

  // A bridged socket (the object the page holds) → its state. Native sockets are not in it.
  const states = new WeakMap();

  function stateOf(socket) {
    return socket !== null && typeof socket === "object" ? apply(weakGet, states, [socket]) : undefined;
  }

  function createBridged(url, protocols, newTarget) {
    const protocolList = checkProtocols(protocols);
    // A real EventTarget whose prototype is WebSocket.prototype: instanceof, addEventListener
    // and dispatchEvent are the browser's own.
    const socket = construct(EventTargetClass, [], newTarget);
    const state = {
      socket,
      url: url.href,
      origin: url.origin, // MessageEvent.origin of a WebSocket is the origin of its URL
      protocols: protocols === undefined ? undefined : protocolList,
      readyState: CONNECTING,
      plan: [], // paths still to try: "direct", "extension"
      live: null, // the path that opened: "direct" or "extension"
      direct: null, // the browser's WebSocket, while tried and once live
      extId: 0, // the extension channel, while tried and once live
      binaryType: "blob",
      buffered: 0,
      queue: [], // extension path: sends and the close, in the page's order
      handlers: { open: null, message: null, error: null, close: null },
      handlerListeners: {},
    };
    apply(weakSet, states, [socket, state]);
    whenHello(() => start(state));
    return socket;
  }

  function start(state) {
    if (state.readyState !== CONNECTING) return; // closed by the page while waiting for hello
    const extension = hello !== null && hello.enabled;
    if (!extension) state.plan = ["direct"];
    else if (hello.prefer) state.plan = ["extension", "direct"];
    else state.plan = ["direct", "extension"];
    next(state);
  }

  function next(state) {
    const path = state.plan.shift();
    if (path === "direct") tryDirect(state);
    else if (path === "extension") tryExtension(state);
    else later(() => failBeforeOpen(state));
  }

  function later(task) {
    apply(setTimer, global, [task, 0]);
  }

  function fire(state, event) {
    apply(dispatchEvent, state.socket, [event]);
  }

  /** Neither path opened, or the page closed it while connecting: as a real WebSocket does. */
  function failBeforeOpen(state) {
    if (state.readyState === CLOSED) return;
    state.readyState = CLOSED;
    state.queue.length = 0;
    fire(state, new EventClass("error"));
    fire(state, new CloseEventClass("close", { code: 1006, reason: "", wasClean: false }));
  }

  // The direct path: the browser's own WebSocket; once it opens, every event is handed through.
  function tryDirect(state) {
    let ws;
    try {
      const args = state.protocols === undefined ? [state.url] : [state.url, state.protocols];
      ws = construct(NativeWebSocket, args);
    } catch {
      later(() => next(state));
      return;
    }
    apply(nativeBinaryType.set, ws, [state.binaryType]);
    state.direct = ws;
    const relay = (event) => relayDirect(state, ws, event);
    for (const type of EVENT_TYPES) apply(addListener, ws, [type, relay]);
  }

  function relayDirect(state, ws, event) {
    if (state.direct !== ws) return; // given up on (the page closed while connecting)
    if (state.live === null) {
      if (event.type === "open") {
        state.live = "direct";
        state.readyState = OPEN;
        fire(state, new EventClass("open"));
      } else if (event.type === "error" || event.type === "close") {
        // Failed before opening: the page never learns of it, the next path is tried.
        state.direct = null;
        next(state);
      }
      return;
    }
    if (event.type === "message") {
      const init = { data: event.data, origin: event.origin, lastEventId: event.lastEventId };
      fire(state, new MessageEventClass("message", init));
    } else if (event.type === "error") {
      fire(state, new EventClass("error"));
    } else if (event.type === "close") {
      state.readyState = CLOSED;
      const init = { code: event.code, reason: event.reason, wasClean: event.wasClean };
      fire(state, new CloseEventClass("close", init));
    }
  }

  // The extension path: one channel id per attempt, messages through content.js.
  function tryExtension(state) {
    const id = ++lastId;
    state.extId = id;
    apply(mapSet, channels, [id, (message) => onExtensionMessage(state, id, message)]);
    post({ qoltanba: "page", op: "open", id });
  }

  function forgetChannel(state) {
    apply(mapDelete, channels, [state.extId]);
    state.extId = 0;
  }

  function onExtensionMessage(state, id, message) {
    if (state.extId !== id) return;
    if (message.op === "opened") {
      if (state.live !== null || state.readyState !== CONNECTING) return;
      state.live = "extension";
      state.readyState = OPEN;
      fire(state, new EventClass("open"));
    } else if (message.op === "message") {
      // As a real WebSocket: a message that arrives after close() was called is dropped.
      if (state.readyState !== OPEN || typeof message.text !== "string") return;
      fire(state, new MessageEventClass("message", { data: message.text, origin: state.origin }));
    } else if (message.op === "closed") {
      forgetChannel(state);
      if (state.live === null) {
        next(state); // the extension could not connect: the next path, if any
        return;
      }
      state.readyState = CLOSED;
      state.queue.length = 0;
      const code = Number.isInteger(message.code) ? message.code : 1006;
      const reason = typeof message.reason === "string" ? message.reason : "";
      fire(state, new CloseEventClass("close", { code, reason, wasClean: message.clean === true }));
    }
  }

  // ---- send() -------------------------------------------------------------------------------

  function isArrayBuffer(value) {
    return apply(objectToString, value, []) === "[object ArrayBuffer]";
  }

  function isBlob(value) {
    return BlobClass !== undefined && value instanceof BlobClass;
  }

  function bytesOf(value) {
    return isView(value) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : new Uint8Array(value);
  }

  /** A string as a WebSocket sends it (a USVString: lone surrogates become U+FFFD). */
  function wellFormed(text) {
    return toWellFormed ? apply(toWellFormed, text, []) : text;
  }

  function utf8Length(text) {
    let length = 0;
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      if (unit < 0x80) length += 1;
      else if (unit < 0x800) length += 2;
      else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
        const low = text.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          length += 4;
          i++;
        } else length += 3;
      } else length += 3;
    }
    return length;
  }

  /** The size send() adds to bufferedAmount. */
  function sizeOf(data) {
    if (isBlob(data)) return data.size;
    if (isArrayBuffer(data) || isView(data)) return data.byteLength;
    return utf8Length(wellFormed(String(data)));
  }

  function invalidState(method) {
    return new DOMExceptionClass(`Failed to execute '${method}' on 'WebSocket': Still in CONNECTING state.`, "InvalidStateError");
  }

  function bridgedSend(state, args) {
    if (args.length < 1) {
      throw new TypeError("Failed to execute 'send' on 'WebSocket': 1 argument required, but only 0 present.");
    }
    const data = args[0];
    const readyState = readers.readyState(state);
    if (readyState === CONNECTING) throw invalidState("send");
    if (state.live === "direct") {
      apply(nativeMethods.send, state.direct, [data]);
      return;
    }
    if (readyState !== OPEN) {
      state.buffered += sizeOf(data); // as a real WebSocket: counted, never sent
      return;
    }
    // The bridge carries text: binary data is decoded as UTF-8 (the daemon treats binary
    // frames of UTF-8 as text). Decoded now, so a buffer the page changes later is not affected.
    const item = { text: null, size: 0, close: null, failed: false };
    if (isBlob(data)) {
      item.size = data.size;
      apply(blobText, data, []).then(
        (text) => { item.text = text; flush(state); },
        () => { item.failed = true; flush(state); },
      );
    } else if (isArrayBuffer(data) || isView(data)) {
      item.size = data.byteLength;
      item.text = apply(decode, decoder, [bytesOf(data)]);
    } else {
      item.text = wellFormed(String(data));
      if (state.queue.length > 0) item.size = utf8Length(item.text);
    }
    state.buffered += item.size;
    state.queue.push(item);
    flush(state);
  }

  /** Posts queued sends (and a queued close) in order, stopping at a Blob still being read. */
  function flush(state) {
    const queue = state.queue;
    while (queue.length > 0) {
      const item = queue[0];
      if (item.close === null && item.text === null && !item.failed) return;
      queue.shift();
      state.buffered -= item.size;
      if (state.extId === 0) continue; // closed meanwhile
      if (item.close !== null) post({ qoltanba: "page", op: "close", id: state.extId, ...item.close });
      else if (!item.failed) post({ qoltanba: "page", op: "send", id: state.extId, text: item.text });
    }
  }

  // ---- close() ------------------------------------------------------------------------------

  /** WebIDL [Clamp] unsigned short. */
  function clampCode(value) {
    const number = Number(value);
    if (Number.isNaN(number)) return 0;
    const clamped = Math.min(Math.max(number, 0), 65535);
    const floor = Math.floor(clamped);
    const fraction = clamped - floor;
    if (fraction > 0.5 || (fraction === 0.5 && floor % 2 === 1)) return floor + 1;
    return floor;
  }

  function bridgedClose(state, args) {
    const code = args.length > 0 && args[0] !== undefined ? clampCode(args[0]) : undefined;
    const reason = args.length > 1 && args[1] !== undefined ? wellFormed(String(args[1])) : undefined;
    if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999)) {
      throw new DOMExceptionClass(
        `Failed to execute 'close' on 'WebSocket': The close code must be either 1000, or between 3000 and 4999. ${code} is neither.`,
        "InvalidAccessError",
      );
    }
    if (reason !== undefined && utf8Length(reason) > 123) {
      throw new DOMExceptionClass(
        "Failed to execute 'close' on 'WebSocket': The close reason must not be greater than 123 UTF-8 bytes.",
        "SyntaxError",
      );
    }
    if (state.live === "direct") {
      apply(nativeMethods.close, state.direct, args);
      return;
    }
    if (state.readyState === CLOSING || state.readyState === CLOSED) return;
    if (state.readyState === CONNECTING) {
      abortConnecting(state);
      return;
    }
    state.readyState = CLOSING;
    // Queued behind any send still waiting for its Blob, as a close frame follows the data.
    state.queue.push({ text: null, size: 0, failed: false, close: { code: code ?? 1000, reason: reason ?? "" } });
    flush(state);
  }

  /** close() while connecting: give up on the path being tried; error + close 1006 follow. */
  function abortConnecting(state) {
    state.readyState = CLOSING;
    state.plan = [];
    if (state.direct !== null) {
      const ws = state.direct;
      state.direct = null; // its own error and close events are no longer relayed
      apply(nativeMethods.close, ws, []);
    }
    if (state.extId !== 0) {
      post({ qoltanba: "page", op: "close", id: state.extId, code: 1000, reason: "" });
      forgetChannel(state);
    }
    later(() => failBeforeOpen(state));
  }

  // ---- event handler attributes (onopen, onmessage, onerror, onclose) -----------------------

  function setHandler(state, type, value) {
    // As an EventHandler attribute: non-objects are null; the listener keeps the position it
    // got when first set, and setting null removes it.
    const handler = value !== null && (typeof value === "object" || typeof value === "function") ? value : null;
    state.handlers[type] = handler;
    let listener = state.handlerListeners[type];
    if (handler === null) {
      if (listener !== undefined) {
        apply(removeListener, state.socket, [type, listener]);
        delete state.handlerListeners[type];
      }
      return;
    }
    if (listener === undefined) {
      listener = function (event) {
        const current = state.handlers[type];
        if (typeof current === "function") return apply(current, this, [event]);
        return undefined;
      };
      state.handlerListeners[type] = listener;
      apply(addListener, state.socket, [type, listener]);
    }
  }

  // ---- WebSocket.prototype: one prototype for both kinds ------------------------------------

  const proto = NativeWebSocket.prototype;
  const readers = {
    url: (state) => state.url,
    readyState: (state) => (state.live === "direct" ? state.direct.readyState : state.readyState),
    bufferedAmount: (state) => (state.live === "direct" ? state.direct.bufferedAmount : state.buffered),
    extensions: (state) => (state.live === "direct" ? state.direct.extensions : ""),
    protocol: (state) => (state.live === "direct" ? state.direct.protocol : ""),
    binaryType: (state) => state.binaryType,
  };
  const nativeBinaryType = getOwnPropertyDescriptor(proto, "binaryType");
  const nativeMethods = { send: proto.send, close: proto.close };

  // Each accessor serves a bridged socket from its state and a native socket as before, so
  // WebSocket.prototype stays one prototype: instanceof, prototype checks and subclasses work.
  function patchGetter(name, read) {
    const descriptor = getOwnPropertyDescriptor(proto, name);
    if (descriptor === undefined || typeof descriptor.get !== "function") return;
    const original = descriptor.get;
    const holder = {
      get [name]() {
        const state = stateOf(this);
        return state !== undefined ? read(state) : apply(original, this, []);
      },
    };
    defineProperty(proto, name, { ...descriptor, get: getOwnPropertyDescriptor(holder, name).get });
  }

  function patchSetter(name, write) {
    const descriptor = getOwnPropertyDescriptor(proto, name);
    if (descriptor === undefined || typeof descriptor.set !== "function") return;
    const original = descriptor.set;
    const holder = {
      set [name](value) {
        const state = stateOf(this);
        if (state !== undefined) write(state, value);
        else apply(original, this, [value]);
      },
    };
    defineProperty(proto, name, { ...descriptor, set: getOwnPropertyDescriptor(holder, name).set });
  }

  function patchMethod(name, bridged) {
    const descriptor = getOwnPropertyDescriptor(proto, name);
    const original = descriptor.value;
    const holder = {
      [name]() {
        const state = stateOf(this);
        if (state !== undefined) return bridged(state, arguments);
        return apply(original, this, arguments);
      },
    };
    defineProperty(holder[name], "length", { value: original.length });
    defineProperty(proto, name, { ...descriptor, value: holder[name] });
  }

  for (const name of Object.keys(readers)) patchGetter(name, readers[name]);
  patchSetter("binaryType", (state, value) => {
    if (value !== "blob" && value !== "arraybuffer") return; // an enum attribute ignores others
    state.binaryType = value;
    if (state.direct !== null) apply(nativeBinaryType.set, state.direct, [value]);
  });
  for (const type of EVENT_TYPES) {
    const name = `on${type}`;
    patchGetter(name, (state) => state.handlers[type]);
    patchSetter(name, (state, value) => setHandler(state, type, value));
  }
  patchMethod("send", bridgedSend);
  patchMethod("close", bridgedClose);

  // ---- The constructor --------------------------------------------------------------------

  // `url` is the one declared parameter so that WebSocket.length is 1, as the browser's.
  function WebSocket(url) {
    if (new.target === undefined) {
      throw new TypeError("Failed to construct 'WebSocket': Please use the 'new' operator, this DOM object constructor cannot be called as a function.");
    }
    if (arguments.length < 1) {
      throw new TypeError("Failed to construct 'WebSocket': 1 argument required, but only 0 present.");
    }
    const target = daemonUrl(url);
    if (target === null) {
      // Not the daemon: the browser's own WebSocket, exactly as the page asked for it.
      const newTarget = new.target === WebSocket ? NativeWebSocket : new.target;
      return construct(NativeWebSocket, arguments.length > 1 ? [url, arguments[1]] : [url], newTarget);
    }
    return createBridged(target, arguments.length > 1 ? arguments[1] : undefined, new.target);
  }

  defineProperty(WebSocket, "prototype", { value: proto, writable: false, enumerable: false, configurable: false });
  Object.setPrototypeOf(WebSocket, Object.getPrototypeOf(NativeWebSocket));
  for (const [name, value] of [["CONNECTING", CONNECTING], ["OPEN", OPEN], ["CLOSING", CLOSING], ["CLOSED", CLOSED]]) {
    defineProperty(WebSocket, name, { value, writable: false, enumerable: true, configurable: false });
  }
  defineProperty(WebSocket, MARK, { value: true });
  defineProperty(proto, "constructor", { value: WebSocket, writable: true, enumerable: false, configurable: true });
  defineProperty(global, "WebSocket", { value: WebSocket, writable: true, enumerable: false, configurable: true });

  // ---- Start: ask whether the extension serves this page ------------------------------------

  apply(addEventListener, global, ["message", onWindowMessage, true]);
  post({ qoltanba: "page", op: "hello" });
  apply(setTimer, global, [settleHello, HELLO_TIMEOUT_MS]);
})(globalThis);
