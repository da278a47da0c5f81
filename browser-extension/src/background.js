/*
 * background.js: Qoltanba's background (Chrome MV3 service worker, Firefox background script).
 *
 * For each page socket content.js opens a runtime.Port named "qoltanba"; this script checks the
 * frame's origin against the managed policy, opens one native port to the host
 * "kz.qoltanba.native" (one `qoltanba native-host` process, one WebSocket to the daemon),
 * writes {type:"open", origin} first, then relays both ways. It also answers content.js's
 * {type:"config"}: whether the extension serves that frame, and preferExtension.
 * The contract is docs/extension.md.
 *
 * Managed storage can take seconds to answer right after the browser starts; so that a page's
 * hello is not left unanswered, config then uses the policy last read (kept in storage.local),
 * while a connection always waits for the policy itself.
 *
 * What it must not do:
 * - trust any field from the page or content.js: the origin is the browser's
 *   (port.sender.origin, or the origin of port.sender.url), and each message to the host is
 *   rebuilt from whitelisted fields; anything else is dropped;
 * - serve anything but http:/https: frames: "null" origins, file:, extension pages are refused;
 * - keep a native host running for a page that is gone: each side is disconnected when the
 *   other goes.
 *
 * A plain script (an IIFE, no imports) so that the unit tests can load it in a `vm` context.
 */
(function (global) {
  "use strict";

  const api = global.browser ?? global.chrome;
  // Firefox's `browser.*` returns promises; Chrome's `chrome.*` takes callbacks everywhere.
  const promises = global.browser !== undefined;

  const HOST = "kz.qoltanba.native";
  const PORT_NAME = "qoltanba";
  const POLICY_KEYS = ["allowedOrigins", "preferExtension"];
  const POLICY_COPY_KEY = "lastManagedPolicy";
  // How long hello's config waits for managed storage before using the remembered policy: the
  // page's shim gives up on the extension after 1 s.
  const QUICK_POLICY_MS = 250;

  // ---- Origins and the allowedOrigins policy ------------------------------------------------

  /** The frame's origin as the browser reports it; never anything the page said. */
  function senderOrigin(sender) {
    if (!sender) return null;
    if (typeof sender.origin === "string" && sender.origin !== "") return sender.origin;
    try {
      return new URL(sender.url).origin;
    } catch {
      return null;
    }
  }

  /**
   * `{scheme, host, port}` of `scheme://host[:port]` (a trailing "/" allowed), normalised as
   * the daemon's Origin::parse (src/service/origin.rs): lowercase, default port dropped.
   * null when it is not one.
   */
  function parseOrigin(text) {
    const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#@]+)\/?$/.exec(text.trim());
    if (match === null) return null;
    const scheme = match[1].toLowerCase();
    let host = match[2];
    let port = "";
    if (host.startsWith("[")) {
      const end = host.indexOf("]");
      if (end < 0) return null;
      const after = host.slice(end + 1);
      if (after !== "" && !after.startsWith(":")) return null;
      port = after.slice(1);
      if (after.startsWith(":") && port === "") return null;
      host = host.slice(0, end + 1);
    } else {
      const colon = host.lastIndexOf(":");
      if (colon >= 0) {
        port = host.slice(colon + 1);
        host = host.slice(0, colon);
        if (port === "") return null;
      }
    }
    host = host.toLowerCase();
    if (!validHost(host)) return null;
    if (port !== "") {
      if (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535) return null;
      port = String(Number(port));
      if ((scheme === "http" && port === "80") || (scheme === "https" && port === "443")) port = "";
    }
    return { scheme, host, port };
  }

  function validHost(host) {
    if (host.startsWith("[")) {
      if (!host.endsWith("]")) return false;
      try {
        return new URL(`http://${host}/`).hostname === host;
      } catch {
        return false;
      }
    }
    return host.length > 0 && host.length <= 253
      && host.split(".").every((label) => /^[a-z0-9_-]+$/.test(label));
  }

  /** A web origin the extension may serve (http: or https:), normalised; else null. */
  function webOrigin(text) {
    if (typeof text !== "string") return null;
    const origin = parseOrigin(text);
    if (origin === null || (origin.scheme !== "http" && origin.scheme !== "https")) return null;
    return origin;
  }

  function serialise(origin) {
    return `${origin.scheme}://${origin.host}${origin.port === "" ? "" : `:${origin.port}`}`;
  }

  /**
   * One allowedOrigins entry: "*" (every origin), an exact origin ("https://esf.gov.kz", the
   * default port may be written or not), or "scheme://*.domain[:port]" for every subdomain of
   * domain, not domain itself, and never a bare top-level domain: the same patterns as the
   * daemon's policy.allowed_origins, so IT can give both the same list. null when invalid.
   */
  function parsePattern(text) {
    const trimmed = text.trim();
    if (trimmed === "*") return { any: true };
    const wildcard = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/\*\.(.*)$/.exec(trimmed);
    const origin = parseOrigin(wildcard === null ? trimmed : `${wildcard[1]}://${wildcard[2]}`);
    if (origin === null) return null;
    if (wildcard === null) return { any: false, subdomains: false, origin };
    if (!origin.host.includes(".") || origin.host.startsWith("[")) return null;
    return { any: false, subdomains: true, origin };
  }

  function patternMatches(pattern, origin) {
    if (pattern.any) return true;
    const base = pattern.origin;
    if (base.scheme !== origin.scheme || base.port !== origin.port) return false;
    if (!pattern.subdomains) return base.host === origin.host;
    return origin.host.length > base.host.length + 1 && origin.host.endsWith(`.${base.host}`);
  }

  /** The policy's list: an array, or one string of origins separated by commas or spaces. */
  function patternList(value) {
    if (Array.isArray(value)) return value.filter((item) => typeof item === "string");
    if (typeof value === "string") return value.split(/[\s,;]+/).filter((item) => item !== "");
    return [];
  }

  /** Absent or empty list: every origin. A list of only invalid entries allows none. */
  function originAllowed(origin, policy) {
    if (policy.allowedOrigins.length === 0) return true;
    return policy.allowedOrigins.some((text) => {
      const pattern = parsePattern(text);
      return pattern !== null && patternMatches(pattern, origin);
    });
  }

  // ---- The managed policy -------------------------------------------------------------------

  function storageCall(area, method, argument) {
    if (!area) return Promise.reject(new Error("no such storage area"));
    return new Promise((resolve, reject) => {
      if (promises) {
        resolve(area[method](argument));
        return;
      }
      area[method](argument, (result) => {
        const error = api.runtime.lastError;
        if (error) reject(new Error(error.message));
        else resolve(result);
      });
    });
  }

  function policyFrom(items) {
    const source = items !== null && typeof items === "object" ? items : {};
    return {
      allowedOrigins: patternList(source.allowedOrigins),
      prefer: source.preferExtension === true,
    };
  }

  /**
   * {allowedOrigins: [text], prefer}, as managed storage holds it now (it can take seconds
   * right after the browser starts: Chromium waits for its policy service). A policy that
   * cannot be read is the default one.
   */
  async function readPolicy() {
    let items;
    try {
      items = (await storageCall(api.storage && api.storage.managed, "get", POLICY_KEYS)) ?? {};
    } catch {
      return policyFrom({}); // no managed storage (Firefox without policies.json, say)
    }
    rememberPolicy(items);
    return policyFrom(items);
  }

  // The last policy read, kept in storage.local: only for answering hello while managed
  // storage is still slow. Never used to let a socket through: onConnect waits for the real one.
  let remembered = null; // what this worker last wrote, as JSON

  function rememberPolicy(items) {
    const copy = {};
    for (const key of POLICY_KEYS) if (items[key] !== undefined) copy[key] = items[key];
    const text = JSON.stringify(copy);
    if (text === remembered) return;
    remembered = text;
    const local = api.storage && api.storage.local;
    storageCall(local, "set", { [POLICY_COPY_KEY]: copy }).catch(() => {
      remembered = null;
    });
  }

  async function rememberedPolicy() {
    try {
      const items = await storageCall(api.storage && api.storage.local, "get", [POLICY_COPY_KEY]);
      return policyFrom(items && items[POLICY_COPY_KEY]);
    } catch {
      return policyFrom({});
    }
  }

  /** The policy, or when managed storage is slow to answer, the last one read (or defaults). */
  function readPolicySoon() {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(rememberedPolicy()), QUICK_POLICY_MS);
      readPolicy().then((policy) => {
        clearTimeout(timer);
        resolve(policy); // ignored when the timer came first
      });
    });
  }

  // ---- Messages, rebuilt from whitelisted fields --------------------------------------------

  /** What content.js may have the host receive: data and close, nothing else. */
  function fromContent(message) {
    if (message === null || typeof message !== "object") return null;
    if (message.type === "data" && typeof message.text === "string") {
      return { type: "data", text: message.text, more: message.more === true };
    }
    if (message.type === "close" && Number.isInteger(message.code) && message.code >= 0
      && message.code <= 65535 && typeof message.reason === "string") {
      return { type: "close", code: message.code, reason: message.reason };
    }
    return null;
  }

  /** What the host may have content.js receive. */
  function fromHost(message) {
    if (message === null || typeof message !== "object") return null;
    switch (message.type) {
      case "opened":
        return { type: "opened" };
      case "data":
        return typeof message.text === "string"
          ? { type: "data", text: message.text, more: message.more === true }
          : null;
      case "closed":
        return {
          type: "closed",
          code: Number.isInteger(message.code) ? message.code : 1006,
          reason: typeof message.reason === "string" ? message.reason : "",
          clean: message.clean === true,
        };
      default:
        return null;
    }
  }

  function lastErrorMessage(port) {
    // Read runtime.lastError even when unused, or Chrome logs it as unchecked. Firefox puts the
    // error on the port instead.
    const error = (port && port.error) || api.runtime.lastError;
    return error && error.message ? String(error.message) : "";
  }

  function postQuietly(port, message) {
    try {
      port.postMessage(message);
      return true;
    } catch {
      return false; // the port is gone: its onDisconnect does the rest
    }
  }

  function disconnectQuietly(port) {
    try {
      port.disconnect();
    } catch {
      // Already gone.
    }
  }

  function ownSender(sender) {
    return sender !== undefined && sender !== null && sender.id === api.runtime.id;
  }

  // ---- One page socket: the content port and its native port --------------------------------

  function onConnect(port) {
    if (port.name !== PORT_NAME) return;
    const link = { port, native: null, pending: [], over: false, closedSeen: false };
    // Listeners first, synchronously: content.js may post before the policy has been read.
    port.onMessage.addListener((message) => fromContentPort(link, message));
    port.onDisconnect.addListener((gone) => {
      lastErrorMessage(gone);
      link.over = true;
      if (link.native !== null) disconnectQuietly(link.native);
    });
    const origin = ownSender(port.sender) ? webOrigin(senderOrigin(port.sender)) : null;
    if (origin === null) {
      refuse(link, "Qoltanba serves only http and https pages");
      return;
    }
    readPolicy().then((policy) => {
      if (link.over) return;
      if (!originAllowed(origin, policy)) {
        refuse(link, `${serialise(origin)} is not in the extension's allowedOrigins policy`);
        return;
      }
      connectHost(link, serialise(origin));
    });
  }

  function refuse(link, reason) {
    link.over = true;
    postQuietly(link.port, { type: "closed", code: 1006, reason, clean: false });
    disconnectQuietly(link.port);
  }

  function fromContentPort(link, message) {
    const clean = fromContent(message);
    if (clean === null || link.over) return;
    if (link.native === null) link.pending.push(clean);
    else postQuietly(link.native, clean);
  }

  function connectHost(link, origin) {
    let native;
    try {
      native = api.runtime.connectNative(HOST);
    } catch (error) {
      refuse(link, `cannot start the Qoltanba native host: ${error && error.message}`);
      return;
    }
    link.native = native;
    native.onMessage.addListener((message) => {
      const clean = fromHost(message);
      if (clean === null || link.over) return;
      if (clean.type === "closed") link.closedSeen = true;
      postQuietly(link.port, clean);
    });
    native.onDisconnect.addListener((gone) => {
      const error = lastErrorMessage(gone);
      if (link.over) return;
      link.over = true;
      if (!link.closedSeen) {
        const reason = error || "the Qoltanba native host exited";
        postQuietly(link.port, { type: "closed", code: 1006, reason, clean: false });
      }
      disconnectQuietly(link.port);
    });
    // The origin first, once, from the browser: the host refuses anything before it.
    postQuietly(native, { type: "open", origin });
    for (const message of link.pending.splice(0)) postQuietly(native, message);
  }

  // ---- Config for content.js's hello --------------------------------------------------------

  async function configFor(sender) {
    const origin = webOrigin(senderOrigin(sender));
    const policy = await readPolicySoon();
    return { enabled: origin !== null && originAllowed(origin, policy), prefer: policy.prefer };
  }

  function onMessage(message, sender, sendResponse) {
    if (message === null || typeof message !== "object" || message.type !== "config") return false;
    if (!ownSender(sender)) return false;
    configFor(sender).then(sendResponse, () => sendResponse({ enabled: false, prefer: false }));
    return true; // the answer comes asynchronously
  }

  api.runtime.onConnect.addListener(onConnect);
  api.runtime.onMessage.addListener(onMessage);
})(globalThis);
