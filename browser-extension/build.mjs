#!/usr/bin/env node
/*
 * build.mjs: builds the unpacked extensions, `OUTDIR/chromium/` and `OUTDIR/firefox/`.
 *
 *   node browser-extension/build.mjs [OUTDIR]     (default: <repo>/target/extension)
 *
 * One source, two manifests: the scripts in src/, _locales/ and the icons are the same for
 * both; manifests/chromium.json and manifests/firefox.json differ only where the browsers do.
 * The build adds what must not be copied by hand: the version (Cargo.toml's [package] version)
 * and, for Chromium, the public key that fixes the extension ID. Then it checks both
 * manifests and fails when anything is off, above all when the key would not give the ID the
 * native-messaging host manifests allow.
 *
 * Node 20, builtins only, no network: it must not fetch or install anything.
 */
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..");
const CHROMIUM_ID = "laligpnnhopilbfbgnjgjnfnjejjainp";
const GECKO_ID = "qoltanba@qoltanba.kz";
const HOST_NAME = "kz.qoltanba.native";
const SCRIPTS = ["shim.js", "content.js", "background.js"];
const ICON_SIZES = [32, 48, 128];
const PERMISSIONS = ["nativeMessaging", "storage"];
const MATCHES = ["https://*/*", "http://localhost/*", "http://127.0.0.1/*", "http://[::1]/*"];

class BuildError extends Error {}

function fail(message) {
  throw new BuildError(message);
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    return fail(`${path}: ${error.message}`);
  }
}

/** The [package] version of Cargo.toml: the one version of Qoltanba. */
export function cargoVersion(text) {
  let inPackage = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("[")) inPackage = line === "[package]";
    const match = inPackage && /^version\s*=\s*"([^"]+)"/.exec(line);
    if (match) return match[1];
  }
  return fail("Cargo.toml: no version in [package]");
}

/**
 * The manifest version fields: browsers want 1–4 dot-separated integers (each 0–65535), so a
 * SemVer pre-release such as 0.2.0-rc.1 becomes version 0.2.0 with Chromium's version_name
 * showing the whole.
 */
export function manifestVersion(semver) {
  const match = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(semver);
  if (!match) fail(`Cargo.toml version ${semver} is not SemVer`);
  const parts = match.slice(1, 4).map(Number);
  if (parts.some((part) => part > 65535)) fail(`version ${semver}: a part is over 65535`);
  const version = parts.join(".");
  return { version, versionName: match[4] ? semver : null };
}

/** Chromium's extension ID: the first 128 bits of SHA-256 of the DER key, hex digits 0-f as a-p. */
export function chromiumId(derKey) {
  const hex = createHash("sha256").update(derKey).digest("hex").slice(0, 32);
  return [...hex].map((digit) => String.fromCharCode(97 + parseInt(digit, 16))).join("");
}

function readKey() {
  const text = readFileSync(join(HERE, "extension-key.pub.b64"), "utf8").replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+=*$/.test(text)) fail("extension-key.pub.b64 is not base64");
  return text;
}

function copyCommon(outDir) {
  for (const script of SCRIPTS) cpSync(join(HERE, "src", script), join(outDir, script));
  cpSync(join(HERE, "_locales"), join(outDir, "_locales"), { recursive: true });
  mkdirSync(join(outDir, "icons"));
  for (const size of ICON_SIZES) {
    const icon = join(ROOT, "installer", "icons", "hicolor", `${size}x${size}`, "qoltanba.png");
    if (!existsSync(icon)) fail(`missing icon ${icon}`);
    cpSync(icon, join(outDir, "icons", `${size}.png`));
  }
}

function writeManifest(outDir, manifest) {
  writeFileSync(join(outDir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
}

// ---- Checks: each returns nothing or fails the build with what is wrong ---------------------

function checkCommon(browser, manifest, outDir, version) {
  const where = `${browser} manifest`;
  if (manifest.manifest_version !== 3) fail(`${where}: manifest_version must be 3`);
  if (manifest.name !== "Qoltanba") fail(`${where}: name must be Qoltanba`);
  if (manifest.version !== version) fail(`${where}: version ${manifest.version}, expected ${version}`);
  if (typeof manifest.description !== "string" || manifest.description === "") fail(`${where}: no description`);
  const permissions = [...(manifest.permissions ?? [])].sort();
  if (JSON.stringify(permissions) !== JSON.stringify([...PERMISSIONS].sort())) {
    fail(`${where}: permissions must be exactly ${PERMISSIONS.join(", ")}`);
  }
  if (manifest.host_permissions !== undefined) fail(`${where}: no host_permissions wanted`);
  checkContentScripts(where, manifest.content_scripts);
  checkLocales(where, manifest, outDir);
  for (const [size, file] of Object.entries(manifest.icons ?? {})) {
    if (!existsSync(join(outDir, file))) fail(`${where}: icon ${size} ${file} missing`);
  }
  for (const file of referencedFiles(manifest)) {
    if (!existsSync(join(outDir, file))) fail(`${where}: ${file} is referenced but not in ${outDir}`);
  }
}

function checkContentScripts(where, scripts) {
  if (!Array.isArray(scripts) || scripts.length !== 2) fail(`${where}: two content_scripts expected`);
  const [shim, content] = scripts;
  for (const entry of scripts) {
    if (JSON.stringify(entry.matches) !== JSON.stringify(MATCHES)) fail(`${where}: content_scripts matches`);
    if (entry.all_frames !== true || entry.run_at !== "document_start") {
      fail(`${where}: content scripts must run in all frames at document_start`);
    }
  }
  if (JSON.stringify(shim.js) !== '["shim.js"]' || shim.world !== "MAIN") fail(`${where}: shim.js must run in the MAIN world`);
  if (JSON.stringify(content.js) !== '["content.js"]' || (content.world ?? "ISOLATED") !== "ISOLATED") {
    fail(`${where}: content.js must run in the isolated world`);
  }
}

function checkLocales(where, manifest, outDir) {
  const keys = JSON.stringify(manifest).match(/__MSG_[A-Za-z0-9_@]+__/g) ?? [];
  if (keys.length === 0) return;
  if (typeof manifest.default_locale !== "string") fail(`${where}: __MSG_ keys need default_locale`);
  for (const locale of readdirSync(join(outDir, "_locales"))) {
    const messages = readJson(join(outDir, "_locales", locale, "messages.json"));
    for (const key of keys) {
      const name = key.slice(6, -2);
      if (typeof messages[name]?.message !== "string") fail(`${where}: _locales/${locale} lacks ${name}`);
    }
  }
}

function referencedFiles(manifest) {
  const files = [...(manifest.content_scripts ?? []).flatMap((entry) => entry.js ?? [])];
  if (manifest.background?.service_worker) files.push(manifest.background.service_worker);
  files.push(...(manifest.background?.scripts ?? []));
  if (manifest.storage?.managed_schema) files.push(manifest.storage.managed_schema);
  return files;
}

function checkChromium(manifest, outDir, version) {
  checkCommon("chromium", manifest, outDir, version);
  if (manifest.background?.service_worker !== "background.js") fail("chromium manifest: background.service_worker");
  if (Number(manifest.minimum_chrome_version) < 111) fail("chromium manifest: MAIN-world content scripts need Chrome 111");
  const id = chromiumId(Buffer.from(manifest.key ?? "", "base64"));
  if (id !== CHROMIUM_ID) fail(`chromium manifest: the key gives the ID ${id}, not ${CHROMIUM_ID}`);
  const schema = readJson(join(outDir, manifest.storage.managed_schema));
  for (const key of ["allowedOrigins", "preferExtension"]) {
    if (schema.properties?.[key] === undefined) fail(`managed-schema.json: no ${key}`);
  }
  const host = readJson(join(ROOT, "installer", "native-messaging", "chromium.json"));
  if (host.name !== HOST_NAME || !host.allowed_origins?.includes(`chrome-extension://${id}/`)) {
    fail("installer/native-messaging/chromium.json does not allow this extension ID");
  }
}

function checkFirefox(manifest, outDir, version) {
  checkCommon("firefox", manifest, outDir, version);
  if (JSON.stringify(manifest.background?.scripts) !== '["background.js"]') fail("firefox manifest: background.scripts");
  const gecko = manifest.browser_specific_settings?.gecko;
  if (gecko?.id !== GECKO_ID) fail(`firefox manifest: gecko.id must be ${GECKO_ID}`);
  if (parseFloat(gecko.strict_min_version) < 128) fail("firefox manifest: MAIN-world content scripts need Firefox 128");
  if (manifest.key !== undefined) fail("firefox manifest: no key");
  const host = readJson(join(ROOT, "installer", "native-messaging", "firefox.json"));
  if (host.name !== HOST_NAME || !host.allowed_extensions?.includes(GECKO_ID)) {
    fail("installer/native-messaging/firefox.json does not allow this add-on ID");
  }
}

// ---- The build ------------------------------------------------------------------------------

export function build(outRoot) {
  const semver = cargoVersion(readFileSync(join(ROOT, "Cargo.toml"), "utf8"));
  const { version, versionName } = manifestVersion(semver);
  const key = readKey();
  const built = {};
  for (const browser of ["chromium", "firefox"]) {
    const outDir = join(outRoot, browser);
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    copyCommon(outDir);
    const manifest = { ...readJson(join(HERE, "manifests", `${browser}.json`)), version };
    if (browser === "chromium") {
      if (versionName !== null) manifest.version_name = versionName;
      manifest.key = key;
      cpSync(join(HERE, "managed-schema.json"), join(outDir, "managed-schema.json"));
      checkChromium(manifest, outDir, version);
    } else {
      checkFirefox(manifest, outDir, version);
    }
    writeManifest(outDir, manifest);
    built[browser] = outDir;
  }
  return built;
}

function main() {
  const outRoot = process.argv[2] ? resolve(process.argv[2]) : join(ROOT, "target", "extension");
  try {
    const built = build(outRoot);
    console.log(`Chromium (ID ${CHROMIUM_ID}): ${built.chromium}`);
    console.log(`Firefox (${GECKO_ID}): ${built.firefox}`);
  } catch (error) {
    if (!(error instanceof BuildError)) throw error;
    console.error(`build.mjs: ${error.message}`);
    process.exit(1);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
