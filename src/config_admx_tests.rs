//! The Group Policy template (`installer/windows/policies/Qoltanba.admx` and its `.adml`
//! language files) against the daemon's own reader: every policy, set as Group Policy would
//! write it under `HKLM\SOFTWARE\Policies\Qoltanba`, must read back as a valid policy; the
//! template's bounds must be the daemon's; every `[policy]` key must have a policy; every
//! string and presentation the template names must exist in each language.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{registry, registry_table, Policy};

const NS: &str = "http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions";
const ROOT: &str = r"SOFTWARE\Policies\Qoltanba";

fn policies_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("installer/windows/policies")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Registry writes: (key below the policy root, value name, data).
type Writes = Vec<(String, String, registry::Data)>;

/// The subkey at `key` (below `root`), made when missing, as Group Policy leaves a key.
fn node<'a>(root: &'a mut registry::Key, key: &str) -> &'a mut registry::Key {
    let mut node = root;
    for part in key.split('\\').filter(|p| !p.is_empty()) {
        let at = match node.subkeys.iter().position(|(n, _)| n == part) {
            Some(at) => at,
            None => {
                node.subkeys.push((part.to_string(), registry::Key::default()));
                node.subkeys.len() - 1
            }
        };
        node = &mut node.subkeys[at].1;
    }
    node
}

fn tree(writes: &Writes, empty_keys: &[String]) -> registry::Key {
    let mut root = registry::Key::default();
    for key in empty_keys {
        node(&mut root, key);
    }
    for (key, name, data) in writes {
        node(&mut root, key).values.push((name.clone(), data.clone()));
    }
    root
}

fn relative(key: &str) -> String {
    let rest = key.strip_prefix(ROOT).unwrap_or_else(|| panic!("{key} is not under {ROOT}"));
    rest.trim_start_matches('\\').to_string()
}

fn read_policy(writes: &Writes) -> Result<Policy, String> {
    read_tree(&tree(writes, &[]))
}

fn read_tree(tree: &registry::Key) -> Result<Policy, String> {
    let table = registry_table(tree)?;
    Policy::from_table(table, "admx").map_err(|e| e.to_string())
}

fn number(text: &str) -> u64 {
    text.parse().unwrap_or_else(|_| panic!("{text} is not a number"))
}

/// The policy's own value for `enabledValue` or `disabledValue`, if it has one.
fn switch_value(policy: roxmltree::Node, tag: &str) -> Option<(String, String, registry::Data)> {
    let name = policy.attribute("valueName")?;
    let switch = policy.children().find(|n| n.has_tag_name((NS, tag)))?;
    let value = switch.children().find(|n| n.has_tag_name((NS, "decimal"))).expect("decimal");
    let value = number(value.attribute("value").expect("value"));
    let key = relative(policy.attribute("key").expect("policy key"));
    Some((key, name.into(), registry::Data::Number(value)))
}

/// What Group Policy writes when `policy` is enabled with the sample values; and for each
/// decimal element, its bounds.
fn enabled(policy: roxmltree::Node) -> (Writes, Vec<(String, String, u64, u64)>) {
    let key = policy.attribute("key").expect("policy key");
    let mut writes = Writes::new();
    let mut bounds = Vec::new();
    writes.extend(switch_value(policy, "enabledValue"));
    let elements = policy.children().find(|n| n.has_tag_name((NS, "elements")));
    for element in elements.iter().flat_map(|e| e.children()).filter(|n| n.is_element()) {
        let key = relative(element.attribute("key").unwrap_or(key));
        let name = element.attribute("valueName").unwrap_or_default().to_string();
        match element.tag_name().name() {
            "enum" => {
                let item = element.descendants().find(|n| n.has_tag_name((NS, "string")));
                let text = item.and_then(|n| n.text()).expect("enum string value");
                writes.push((key, name, registry::Data::Text(text.into())));
            }
            "decimal" => {
                let low = number(element.attribute("minValue").expect("minValue"));
                let high = number(element.attribute("maxValue").expect("maxValue"));
                writes.push((key.clone(), name.clone(), registry::Data::Number(low)));
                bounds.push((key, name, low, high));
            }
            "list" if element.attribute("explicitValue") == Some("true") => {
                let path = registry::Data::Text(r"C:\Program Files\Vendor\pkcs11.dll".into());
                writes.push((key, "AKKaztokenStore".into(), path));
            }
            "list" => {
                assert_eq!(element.attribute("valuePrefix"), Some(""), "numbered values");
                for (n, origin) in
                    ["https://portal.test.kz", "https://*.example.kz"].iter().enumerate()
                {
                    let data = registry::Data::Text((*origin).into());
                    writes.push((key.clone(), (n + 1).to_string(), data));
                }
            }
            other => panic!("element {other} is not read by this test"),
        }
    }
    (writes, bounds)
}

/// What Group Policy leaves when `policy` is disabled: its `disabledValue`, and each list
/// element's key emptied but kept (the other elements' values are deleted).
fn disabled(policy: roxmltree::Node) -> (Writes, Vec<String>) {
    let key = policy.attribute("key").expect("policy key");
    let mut writes = Writes::new();
    writes.extend(switch_value(policy, "disabledValue"));
    let lists = policy.descendants().filter(|n| n.has_tag_name((NS, "list")));
    let emptied = lists.map(|l| relative(l.attribute("key").unwrap_or(key))).collect();
    (writes, emptied)
}

/// The `[policy]` keys the daemon knows, from its own "unknown field" error.
fn policy_keys() -> BTreeSet<String> {
    let err = Policy::from_table(toml::from_str("[policy]\nnot_a_key = 1\n").expect("toml"), "x")
        .expect_err("unknown key")
        .to_string();
    let list = err.split("expected one of").nth(1).expect("serde names the fields");
    let list = list.lines().next().unwrap_or_default();
    list.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

#[test]
fn every_template_policy_disabled_reads_back_as_a_valid_policy() {
    let text = read(&policies_dir().join("Qoltanba.admx"));
    let doc = roxmltree::Document::parse(&text).expect("the ADMX is well-formed XML");
    let (mut all, mut emptied) = (Writes::new(), Vec::new());
    for policy in doc.descendants().filter(|n| n.has_tag_name((NS, "policy"))) {
        let name = policy.attribute("name").expect("name");
        let (writes, keys) = disabled(policy);
        read_tree(&tree(&writes, &keys)).unwrap_or_else(|e| panic!("{name} disabled: {e}"));
        all.extend(writes);
        emptied.extend(keys);
    }
    assert!(!emptied.is_empty(), "the template has list policies");
    let policy = read_tree(&tree(&all, &emptied)).expect("every policy disabled");
    assert_eq!(policy.policy.allow_local_programs, Some(false), "disabled writes 0");
    assert_eq!(policy.policy.allowed_origins, None, "an emptied list is absent");
    assert!(policy.pkcs11.modules.is_empty());
}

#[test]
fn every_template_policy_reads_back_as_a_valid_policy_with_the_daemons_bounds() {
    let text = read(&policies_dir().join("Qoltanba.admx"));
    let doc = roxmltree::Document::parse(&text).expect("the ADMX is well-formed XML");
    let mut all = Writes::new();
    for policy in doc.descendants().filter(|n| n.has_tag_name((NS, "policy"))) {
        let name = policy.attribute("name").expect("name");
        assert_eq!(policy.attribute("class"), Some("Machine"), "{name}: HKLM only");
        let (writes, bounds) = enabled(policy);
        assert!(!writes.is_empty(), "{name} writes nothing");
        read_policy(&writes).unwrap_or_else(|e| panic!("{name} enabled: {e}"));
        for (key, value, low, high) in bounds {
            let at = |n: u64| vec![(key.clone(), value.clone(), registry::Data::Number(n))];
            read_policy(&at(high)).unwrap_or_else(|e| panic!("{name} at its maximum: {e}"));
            assert!(read_policy(&at(high + 1)).is_err(), "{name}: the daemon's maximum is {high}");
            assert!(read_policy(&at(low - 1)).is_err(), "{name}: the daemon's minimum is {low}");
        }
        all.extend(writes);
    }
    let policy = read_policy(&all).expect("every policy together");
    assert_eq!(policy.policy.mode, Some(crate::service::policy::Mode::Allowlist));
    let origins = vec!["https://portal.test.kz".to_string(), "https://*.example.kz".into()];
    assert_eq!(policy.policy.allowed_origins, Some(origins));
    assert_eq!(policy.policy.allow_local_programs, Some(true));
    let module = PathBuf::from(r"C:\Program Files\Vendor\pkcs11.dll");
    assert_eq!(policy.pkcs11.modules.get("AKKaztokenStore"), Some(&vec![module]));
    let covered: BTreeSet<String> = all
        .iter()
        .filter(|(k, _, _)| k.starts_with("policy"))
        .map(|(k, n, _)| {
            if n.parse::<u32>().is_ok() {
                k.rsplit('\\').next().unwrap_or_default().to_string()
            } else {
                n.clone()
            }
        })
        .collect();
    assert_eq!(covered, policy_keys(), "every [policy] key has a template policy");
}

fn references(text: &str, kind: &str) -> BTreeSet<String> {
    let marker = format!("$({kind}.");
    text.split(&marker).skip(1).filter_map(|s| s.split(')').next()).map(str::to_string).collect()
}

#[test]
fn every_language_has_every_string_and_presentation_the_template_names() {
    let admx = read(&policies_dir().join("Qoltanba.admx"));
    let doc = roxmltree::Document::parse(&admx).expect("ADMX");
    let mut element_ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for policy in doc.descendants().filter(|n| n.has_tag_name((NS, "policy"))) {
        if let Some(p) = policy.attribute("presentation") {
            let id = p.trim_start_matches("$(presentation.").trim_end_matches(')').to_string();
            let ids = policy.descendants().filter_map(|n| n.attribute("id"));
            element_ids.insert(id, ids.map(str::to_string).collect());
        }
    }
    let languages = ["en-US", "ru-RU"];
    for language in languages {
        let path = policies_dir().join(language).join("Qoltanba.adml");
        let text = read(&path);
        let adml = roxmltree::Document::parse(&text).expect("ADML is well-formed XML");
        let ids = |tag: &str| -> BTreeSet<String> {
            adml.descendants()
                .filter(|n| n.has_tag_name((NS, tag)))
                .filter_map(|n| n.attribute("id"))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(ids("string"), references(&admx, "string"), "{language}: strings");
        assert_eq!(ids("presentation"), references(&admx, "presentation"), "{language}");
        for presentation in adml.descendants().filter(|n| n.has_tag_name((NS, "presentation"))) {
            let id = presentation.attribute("id").unwrap_or_default();
            let refs: BTreeSet<String> = presentation
                .descendants()
                .filter_map(|n| n.attribute("refId"))
                .map(str::to_string)
                .collect();
            assert_eq!(Some(&refs), element_ids.get(id), "{language}: presentation {id}");
        }
    }
}
