/*
 * content.js: Qoltanba's content script (isolated world, document_start, every frame).
 *
 * The relay between shim.js in the page (window.postMessage, this window only) and
 * background.js (one runtime.Port per page socket). It answers the page's hello with what
 * background.js says about this frame, splits long page messages into pieces of at most
 * 256 Ki UTF-16 code units, and joins the host's pieces back into whole messages.
 * The contract is docs/extension.md.
 *
 * What it must not do:
 * - pass on anything from the page but the documented fields: each message to background.js
 *   is built here from `text`, `code` and `reason` only, so a page cannot name an origin, a
 *   message type or any other field (background.js re-checks it all anyway);
 * - listen to other windows: only messages whose source is this very window count;
 * - split a surrogate pair: a piece ending in half a pair would not survive JSON.
 *
 * A plain script (an IIFE, no imports) so that the unit tests can load it in a `vm` context.
 */
(function (global) {
  "use strict";

  const api = global.browser ?? global.chrome;
  if (!api || !api.runtime) return;
  // Firefox's `browser.*` returns promises; Chrome's `chrome.*` takes callbacks everywhere.
  const promises = global.browser !== undefined;
  // Firefox's content-script global is not the window itself: use `window` for the window.
  const win = global.window ?? global;

  const PORT_NAME = "qoltanba";
  const PIECE = 256 * 1024; // UTF-16 code units per piece sent to the host
  const pageOrigin = win.location.origin;
  const targetOrigin = pageOrigin === "null" ? "*" : pageOrigin;

  const sockets = new Map(); // page socket id → {port, opened, pieces}

  function toPage(message) {
    win.postMessage({ qoltanba: "ext", ...message }, targetOrigin);
  }

  function lastErrorMessage(port) {
    // Read runtime.lastError even when unused, or Chrome logs it as unchecked.
    const error = (port && port.error) || api.runtime.lastError;
    return error && error.message ? String(error.message) : "";
  }

  function askBackground(message) {
    return new Promise((resolve, reject) => {
      if (promises) {
        resolve(api.runtime.sendMessage(message));
        return;
      }
      api.runtime.sendMessage(message, (answer) => {
        const error = api.runtime.lastError;
        if (error) reject(new Error(error.message));
        else resolve(answer);
      });
    });
  }

  // ---- From the page ------------------------------------------------------------------------

  function onPageMessage(event) {
    if (event.source !== win) return;
    const data = event.data;
    if (data === null || typeof data !== "object" || data.qoltanba !== "page") return;
    switch (data.op) {
      case "hello":
        answerHello();
        break;
      case "open":
        open(data.id);
        break;
      case "send":
        send(data.id, data.text);
        break;
      case "close":
        close(data.id, data.code, data.reason);
        break;
      default:
        break;
    }
  }

  async function answerHello() {
    let config = null;
    try {
      config = await askBackground({ type: "config" });
    } catch {
      config = null; // the extension is being reloaded or removed: it does not serve the page
    }
    const enabled = config !== null && typeof config === "object" && config.enabled === true;
    const prefer = config !== null && typeof config === "object" && config.prefer === true;
    toPage({ op: "hello", enabled, prefer });
  }

  function validId(id) {
    return Number.isSafeInteger(id) && id > 0;
  }

  function open(id) {
    if (!validId(id) || sockets.has(id)) return;
    let port;
    try {
      port = api.runtime.connect({ name: PORT_NAME });
    } catch (error) {
      toPage({ op: "closed", id, code: 1006, reason: String(error && error.message), clean: false });
      return;
    }
    const socket = { port, opened: false, pieces: [] };
    sockets.set(id, socket);
    port.onMessage.addListener((message) => fromBackground(id, socket, message));
    port.onDisconnect.addListener((gone) => {
      const reason = lastErrorMessage(gone) || "the extension closed the connection";
      if (sockets.get(id) !== socket) return;
      sockets.delete(id);
      toPage({ op: "closed", id, code: 1006, reason, clean: false });
    });
  }

  /** The pieces of `text`, each at most PIECE code units, none ending inside a surrogate pair. */
  function splitText(text) {
    const pieces = [];
    let start = 0;
    do {
      let end = Math.min(start + PIECE, text.length);
      if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1)) && isLowSurrogate(text.charCodeAt(end))) {
        end -= 1;
      }
      pieces.push(text.slice(start, end));
      start = end;
    } while (start < text.length);
    return pieces;
  }

  function isHighSurrogate(unit) {
    return unit >= 0xd800 && unit <= 0xdbff;
  }

  function isLowSurrogate(unit) {
    return unit >= 0xdc00 && unit <= 0xdfff;
  }

  function send(id, text) {
    const socket = sockets.get(id);
    // The shim never sends before "opened" (a real WebSocket throws); a page that does is ignored.
    if (socket === undefined || !socket.opened || typeof text !== "string") return;
    // A lone surrogate cannot cross JSON; a WebSocket would send U+FFFD for it too.
    const whole = typeof text.toWellFormed === "function" ? text.toWellFormed() : text;
    const pieces = splitText(whole);
    pieces.forEach((piece, index) => {
      postQuietly(socket.port, { type: "data", text: piece, more: index < pieces.length - 1 });
    });
  }

  function close(id, code, reason) {
    const socket = sockets.get(id);
    if (socket === undefined) return;
    if (!socket.opened) {
      // Nothing to close on the daemon's side yet: dropping the port ends the host.
      sockets.delete(id);
      disconnectQuietly(socket.port);
      toPage({ op: "closed", id, code: 1006, reason: "closed before opening", clean: false });
      return;
    }
    postQuietly(socket.port, {
      type: "close",
      code: Number.isInteger(code) ? code : 1000,
      reason: typeof reason === "string" ? reason : "",
    });
  }

  function postQuietly(port, message) {
    try {
      port.postMessage(message);
    } catch {
      // The port is gone; its onDisconnect tells the page.
    }
  }

  function disconnectQuietly(port) {
    try {
      port.disconnect();
    } catch {
      // Already disconnected.
    }
  }

  // ---- From background.js (the host's messages) ---------------------------------------------

  function fromBackground(id, socket, message) {
    if (sockets.get(id) !== socket || message === null || typeof message !== "object") return;
    switch (message.type) {
      case "opened":
        if (socket.opened) return;
        socket.opened = true;
        toPage({ op: "opened", id });
        break;
      case "data":
        if (typeof message.text !== "string") return;
        socket.pieces.push(message.text);
        if (message.more === true) return;
        toPage({ op: "message", id, text: socket.pieces.join("") });
        socket.pieces = [];
        break;
      case "closed":
        sockets.delete(id);
        toPage({
          op: "closed",
          id,
          code: Number.isInteger(message.code) ? message.code : 1006,
          reason: typeof message.reason === "string" ? message.reason : "",
          clean: message.clean === true,
        });
        disconnectQuietly(socket.port);
        break;
      default:
        break;
    }
  }

  win.addEventListener("message", onPageMessage);
})(globalThis);
