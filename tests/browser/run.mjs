// The browser half of the end-to-end test (tests/it/browser.rs): serves page.html on
// 127.0.0.1, starts Debian's Chromium through playwright-core (from browser-extension's
// node_modules) with the profile QOLTANBA_PROFILE, with or without the unpacked extension
// QOLTANBA_EXTENSION, runs the page's `run()` (and `spoof()` with the extension), and prints
// one JSON line: the results and the page's origin. Bounded in time; exit 2 on timeout.
//
// Environment: QOLTANBA_PROFILE (the user data dir; its NativeMessagingHosts holds the host
// manifest), QOLTANBA_EXTENSION (optional), QOLTANBA_PAGE_QUERY (e.g. ?url=wss://…),
// CHROMIUM (default /usr/lib/chromium/chromium). HOME and the rest pass to Chromium, and
// from it to the native host and the daemon the host starts.

import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../browser-extension/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const limit = setTimeout(() => {
  console.error("browser test: timed out");
  process.exit(2);
}, 150_000);

const page = readFileSync(new URL("./page.html", import.meta.url));
const server = createServer((request, response) => {
  if (request.url.split("?")[0] !== "/page.html") {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
});
await new Promise((done) => server.listen(0, "127.0.0.1", done));
const origin = `http://127.0.0.1:${server.address().port}`;

const extension = process.env.QOLTANBA_EXTENSION;
const args = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-quic",
  "--disable-sync",
  "--no-first-run",
];
if (extension) {
  args.push(`--disable-extensions-except=${extension}`, `--load-extension=${extension}`);
}
const context = await chromium.launchPersistentContext(process.env.QOLTANBA_PROFILE, {
  executablePath: process.env.CHROMIUM || "/usr/lib/chromium/chromium",
  headless: true,
  args,
  ignoreDefaultArgs: extension ? ["--disable-extensions"] : [],
});

let result;
try {
  if (extension && context.serviceWorkers().length === 0) {
    await context.waitForEvent("serviceworker", { timeout: 20_000 });
  }
  const tab = await context.newPage();
  tab.on("console", (message) => console.error(`[page] ${message.text()}`));
  tab.on("pageerror", (error) => console.error(`[page error] ${error.message}`));
  await tab.goto(`${origin}/page.html${process.env.QOLTANBA_PAGE_QUERY || ""}`);
  result = { origin, run: await tab.evaluate(() => window.run()) };
  if (extension) {
    result.spoof = await tab.evaluate(() => window.spoof());
  }
} catch (error) {
  result = { origin, error: String(error && error.stack || error) };
} finally {
  await context.close();
  server.close();
  clearTimeout(limit);
}
console.log(JSON.stringify(result));
