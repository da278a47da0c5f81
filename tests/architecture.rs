//! The layer test: the top-level modules of `src/` use each other only in the shape written in
//! [`LAYERS`] (`docs/architecture.md`). It reads every `src/**/*.rs` file as text, takes each
//! `crate::X` and `qoltanba::X` path (in `use` lines, `use crate::{X, Y}` groups and inline
//! paths), and fails listing every edge outside the shape. Test code is checked like the rest:
//! a test may reach down, never up. Whole-line comments are skipped; nothing here compiles or
//! runs the crate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module and the modules it may name directly. It may also name whatever those
/// may, transitively (`protocol` names `keystore` types because `service` does), and every
/// module may name `platform`. The crate roots (`lib.rs`, `main.rs`) are `main`.
const LAYERS: &[(&str, &[&str])] = &[
    // Wiring and tools, at the top: the binary and what it composes.
    (
        "main",
        &[
            "cli",
            "commands",
            "daemon",
            "demo",
            "doctor",
            "gui",
            "idcard_command",
            "native_host",
            "verify_command",
        ],
    ),
    // `qoltanba idcard`: the ID card driver, straight from the key stores.
    ("idcard_command", &["keystore", "ui"]),
    // `qoltanba keygen` and `install-cert`: the waiting keys, straight from the key stores.
    ("issuance_command", &["keystore", "ui"]),
    ("verify_command", &["cli", "daemon"]),
    // The browser extension's host: the config and the daemon's files, then the transport.
    ("native_host", &["config", "daemon", "transport"]),
    ("commands", &["cli", "daemon", "doctor"]),
    ("doctor", &["daemon"]),
    ("gui", &["daemon"]),
    // The wiring, as a library: builds the parts below and serves them.
    ("daemon", &["config", "transport", "ui"]),
    ("config", &["service", "ui"]),
    ("cli", &[]),
    ("demo", &["keystore"]),
    // The daemon, top to bottom.
    ("transport", &["protocol"]),
    ("protocol", &["service"]),
    ("ui", &["service"]),
    ("service", &["sign", "keystore", "pki"]),
    ("sign", &["crypto"]),
    ("keystore", &["crypto"]),
    ("pki", &["crypto"]),
    ("crypto", &[]),
    // Beside everything: any module may use it, it uses none.
    ("platform", &[]),
];

/// The module every other one may use.
const SHARED: &str = "platform";

/// One source file: its path under `src/` (with `/`) and its text.
struct SourceFile {
    path: String,
    text: String,
}

#[test]
fn the_module_graph_runs_one_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = source_files(&root, &root);
    assert!(files.len() > 50, "only {} files under {}", files.len(), root.display());
    let wrong = violations(&files);
    assert!(wrong.is_empty(), "edges outside the layer shape:\n{}", wrong.join("\n"));
}

#[test]
fn an_upward_import_is_reported() {
    let files = [
        file("crypto/mod.rs", "//! crate::service in a comment is not an edge\npub fn hex() {}"),
        file("crypto/gost.rs", "use crate::service::consent::Retry;\n"),
        file("service/mod.rs", "use crate::{\n    crypto::hex,\n    platform::{clock, paths},\n};"),
        file("service/flow.rs", "fn f() { let _ = crate::ui::i18n::text(); }"),
        file("platform/mod.rs", "use crate::{crypto, keystore::{self, KeyStore}};"),
        file("keystore/mod.rs", "use crate::crypto::Signer;\n"),
        file("ui/mod.rs", "use crate::service::consent::Prompter;\n"),
    ];
    assert_eq!(
        violations(&files),
        [
            "crypto/gost.rs: crypto -> service",
            "platform/mod.rs: platform -> crypto",
            "platform/mod.rs: platform -> keystore",
            "service/flow.rs: service -> ui",
        ]
    );
}

#[test]
fn a_module_without_a_place_is_reported() {
    let files = [file("tray/mod.rs", "use crate::service::Service;"), file("service/mod.rs", "")];
    assert_eq!(violations(&files), ["tray/mod.rs: module tray is not in LAYERS"]);
}

#[test]
fn a_file_included_by_path_belongs_to_its_includer() {
    let files = [
        file("config.rs", "#[cfg(test)]\n#[path = \"config_admx_tests.rs\"]\nmod tests;"),
        file("config_admx_tests.rs", "use crate::service::policy::Mode;"),
        file("service/mod.rs", ""),
    ];
    assert!(violations(&files).is_empty(), "{:?}", violations(&files));
}

#[test]
fn the_layer_table_has_no_cycle() {
    for (module, _) in LAYERS {
        let others: BTreeSet<&str> =
            LAYERS.iter().filter(|(m, _)| m != module).map(|(m, _)| *m).collect();
        let reach = reachable(module);
        assert!(!reach.contains(module), "{module} reaches itself");
        assert!(reach.iter().all(|m| others.contains(m)), "{module}: unknown module in {reach:?}");
    }
}

fn file(path: &str, text: &str) -> SourceFile {
    SourceFile { path: path.into(), text: text.into() }
}

/// Every `.rs` file under `dir`, with its path relative to `root`.
fn source_files(root: &Path, dir: &Path) -> Vec<SourceFile> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("src readable") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files.extend(source_files(root, &path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).expect("under src").to_string_lossy();
            let text = std::fs::read_to_string(&path).expect("source readable");
            files.push(SourceFile { path: relative.replace('\\', "/"), text });
        }
    }
    files
}

/// Every edge of `files` outside [`LAYERS`], as `path: from -> to`, sorted.
fn violations(files: &[SourceFile]) -> Vec<String> {
    let included = included_by_path(files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&f.path, &included)).collect();
    let mut wrong = BTreeSet::new();
    for file in files {
        let from = module_of(&file.path, &included);
        if !LAYERS.iter().any(|(m, _)| *m == from) {
            wrong.insert(format!("{}: module {from} is not in LAYERS", file.path));
            continue;
        }
        let allowed = reachable(&from);
        for to in crate_references(&file.text) {
            let known = modules.contains(&to);
            if known && to != from && to != SHARED && !allowed.contains(to.as_str()) {
                wrong.insert(format!("{}: {from} -> {to}", file.path));
            }
        }
    }
    wrong.into_iter().collect()
}

/// The modules `module` may name: its entries in [`LAYERS`] and theirs, transitively.
fn reachable(module: &str) -> BTreeSet<&'static str> {
    let table: BTreeMap<&str, &[&'static str]> = LAYERS.iter().copied().collect();
    let mut seen = BTreeSet::new();
    let mut next: Vec<&'static str> = table.get(module).map(|m| m.to_vec()).unwrap_or_default();
    while let Some(m) = next.pop() {
        if seen.insert(m) {
            next.extend(table.get(m).copied().unwrap_or_default());
        }
    }
    seen
}

/// The top-level module of a file: `service/flow.rs` and `service/mod.rs` → `service`,
/// `config.rs` → `config`, `lib.rs` and `main.rs` → `main`; a crate-root file that another
/// includes with `#[path]` belongs to its includer.
fn module_of(path: &str, included: &BTreeMap<String, String>) -> String {
    if let Some(includer) = included.get(path) {
        return includer.clone();
    }
    let first = path.split('/').next().unwrap_or(path);
    match first.strip_suffix(".rs").unwrap_or(first) {
        "lib" | "main" => "main".into(),
        name => name.into(),
    }
}

/// Crate-root files named by a `#[path = "…"]` in another crate-root file, with the includer's
/// module.
fn included_by_path(files: &[SourceFile]) -> BTreeMap<String, String> {
    let mut included = BTreeMap::new();
    for file in files.iter().filter(|f| !f.path.contains('/')) {
        for line in file.text.lines() {
            let target = line.trim().strip_prefix("#[path = \"").and_then(|r| r.split('"').next());
            if let Some(target) = target {
                included.insert(target.to_string(), module_of(&file.path, &BTreeMap::new()));
            }
        }
    }
    included
}

/// The first segment after each `crate::` / `qoltanba::` in `text` (`$crate::` too), with
/// every member of a `{…}` group; whole-line comments are skipped.
fn crate_references(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut names = BTreeSet::new();
    for prefix in ["crate::", "qoltanba::"] {
        for (at, _) in code.match_indices(prefix) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &code[at + prefix.len()..];
            if let Some(group) = rest.strip_prefix('{') {
                names.extend(group_heads(group));
            } else {
                names.insert(identifier(rest));
            }
        }
    }
    names.retain(|n| !n.is_empty() && n != "self");
    names
}

/// The first segment of each item of a `{…}` group (`group` starts after the `{`).
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut at_item_start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_item_start = true,
            c if at_item_start && depth == 0 && !c.is_whitespace() => {
                heads.push(identifier(&group[i..]));
                at_item_start = false;
            }
            _ => {}
        }
    }
    heads
}

/// The identifier `text` starts with.
fn identifier(text: &str) -> String {
    text.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}
