// build.mjs: the Chromium ID from the key, the version from Cargo.toml, both unpacked builds.
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { build, cargoVersion, chromiumId, manifestVersion } from "../build.mjs";

const KEY = readFileSync(new URL("../extension-key.pub.b64", import.meta.url), "utf8").trim();

test("the committed key gives the ID the host manifests allow", () => {
  assert.equal(chromiumId(Buffer.from(KEY, "base64")), "laligpnnhopilbfbgnjgjnfnjejjainp");
  const hex = createHash("sha256").update(Buffer.from(KEY, "base64")).digest("hex");
  assert.equal(hex.slice(0, 2), "b0", "l = b, a = 0: first 32 hex digits mapped 0-f to a-p");
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "der" });
  assert.notEqual(chromiumId(other), "laligpnnhopilbfbgnjgjnfnjejjainp");
});

test("the version comes from [package] in Cargo.toml", () => {
  const toml = '[workspace]\nversion = "9.9.9"\n\n[package]\nname = "qoltanba"\nversion = "0.3.1"\n\n[dependencies]\nversion = "1"\n';
  assert.equal(cargoVersion(toml), "0.3.1");
  assert.deepEqual(manifestVersion("0.1.0"), { version: "0.1.0", versionName: null });
  assert.deepEqual(manifestVersion("0.2.0-rc.1"), { version: "0.2.0", versionName: "0.2.0-rc.1" });
  assert.deepEqual(manifestVersion("1.2.3+build.5"), { version: "1.2.3", versionName: null });
  assert.throws(() => manifestVersion("1.2"), /not SemVer/);
  assert.throws(() => manifestVersion("1.70000.0"), /over 65535/);
});

test("both unpacked extensions are built and carry version, key and files", () => {
  const out = mkdtempSync(join(tmpdir(), "qoltanba-ext-"));
  try {
    const built = build(out);
    const cargo = cargoVersion(readFileSync(new URL("../../Cargo.toml", import.meta.url), "utf8"));
    const chromium = JSON.parse(readFileSync(join(built.chromium, "manifest.json"), "utf8"));
    const firefox = JSON.parse(readFileSync(join(built.firefox, "manifest.json"), "utf8"));
    assert.equal(chromium.version, manifestVersion(cargo).version);
    assert.equal(firefox.version, chromium.version);
    assert.equal(chromium.key, KEY);
    assert.equal(firefox.key, undefined);
    assert.equal(firefox.browser_specific_settings.gecko.id, "qoltanba@qoltanba.kz");
    for (const dir of [built.chromium, built.firefox]) {
      for (const file of ["shim.js", "content.js", "background.js", "icons/128.png", "_locales/en/messages.json"]) {
        assert.ok(existsSync(join(dir, file)), `${dir}/${file}`);
      }
    }
    assert.ok(existsSync(join(built.chromium, "managed-schema.json")));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
