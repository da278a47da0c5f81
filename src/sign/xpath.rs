//! The XPath 1.0 subset portals pass to `signXml` as `tbsElementXPath` and
//! `signatureParentElementXPath` (XPath 1.0 §2 location paths, abbreviated syntax §2.5):
//!
//! * steps separated by `/` (child axis) or `//` (descendant-or-self, then child);
//! * a name test `name`, `prefix:name`, `*` or `prefix:*`; prefixes resolve against the
//!   document's own declarations (first one wins), an unprefixed name matches the local name
//!   in any namespace;
//! * predicates `[n]` (1-based position among the step's matches under one parent) and
//!   `[@attr='value']`, applied left to right.
//!
//! A path without a leading `/` is read from the document root as well.

use roxmltree::{Document, Node};

use super::SignError;

#[derive(Debug, PartialEq)]
enum Predicate {
    Position(usize),
    Attribute(String, String),
}

#[derive(Debug, PartialEq)]
struct Step {
    descendant: bool,
    /// Namespace URI the element must have (from a prefix), if any.
    namespace: Option<String>,
    /// Local name, `None` for `*`.
    local: Option<String>,
    predicates: Vec<Predicate>,
}

/// The first element (in document order) `path` selects.
pub(crate) fn select<'a, 'i>(doc: &'a Document<'i>, path: &str) -> Result<Node<'a, 'i>, SignError> {
    let steps = parse(doc, path).map_err(|e| {
        SignError::XmlTarget(format!("unsupported XPath expression \"{path}\": {e}"))
    })?;
    let mut context = vec![doc.root()];
    for step in &steps {
        context = apply(&context, step);
    }
    context
        .into_iter()
        .next()
        .ok_or_else(|| SignError::XmlTarget(format!("XPath \"{path}\" selects no element")))
}

fn apply<'a, 'i>(context: &[Node<'a, 'i>], step: &Step) -> Vec<Node<'a, 'i>> {
    let mut selected: Vec<Node<'a, 'i>> = Vec::new();
    for node in context {
        let parents: Vec<Node<'a, 'i>> = if step.descendant {
            node.descendants().filter(|n| n.is_element() || n.is_root()).collect()
        } else {
            vec![*node]
        };
        for parent in parents {
            selected.extend(matches_under(parent, step));
        }
    }
    selected.sort_by_key(|n| n.id().get());
    selected.dedup_by_key(|n| n.id().get());
    selected
}

fn matches_under<'a, 'i>(parent: Node<'a, 'i>, step: &Step) -> Vec<Node<'a, 'i>> {
    let mut nodes: Vec<Node<'a, 'i>> =
        parent.children().filter(|n| n.is_element() && name_matches(*n, step)).collect();
    for predicate in &step.predicates {
        nodes = match predicate {
            Predicate::Position(n) => nodes.into_iter().skip(n.saturating_sub(1)).take(1).collect(),
            Predicate::Attribute(name, value) => nodes
                .into_iter()
                .filter(|e| e.attribute(name.as_str()) == Some(value.as_str()))
                .collect(),
        };
    }
    nodes
}

fn name_matches(node: Node<'_, '_>, step: &Step) -> bool {
    let name = node.tag_name();
    let local_ok = step.local.as_deref().is_none_or(|l| l == name.name());
    let namespace_ok = step.namespace.as_deref().is_none_or(|ns| name.namespace() == Some(ns));
    local_ok && namespace_ok
}

fn parse(doc: &Document<'_>, path: &str) -> Result<Vec<Step>, String> {
    let mut rest = path.trim();
    if rest.is_empty() {
        return Err("empty path".into());
    }
    let mut steps = Vec::new();
    while !rest.is_empty() {
        let descendant = rest.starts_with("//");
        rest = rest.strip_prefix("//").or_else(|| rest.strip_prefix('/')).unwrap_or(rest);
        let end = step_end(rest);
        let (text, tail) = rest.split_at(end);
        steps.push(parse_step(doc, text, descendant)?);
        rest = tail;
    }
    Ok(steps)
}

/// Byte length of the step at the start of `text`: up to the next `/` outside brackets/quotes.
fn step_end(text: &str) -> usize {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => depth = depth.saturating_sub(1),
            (None, '/') if depth == 0 => return i,
            _ => {}
        }
    }
    text.len()
}

fn parse_step(doc: &Document<'_>, text: &str, descendant: bool) -> Result<Step, String> {
    let (name, mut predicates_text) = text.split_at(text.find('[').unwrap_or(text.len()));
    let name = name.trim();
    let (prefix, local) = match name.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, name),
    };
    if local.is_empty() || !local.chars().all(|c| c == '*' || is_name_char(c)) {
        return Err(format!("bad step \"{text}\""));
    }
    let namespace = prefix.map(|p| resolve_prefix(doc, p)).transpose()?;
    let mut predicates = Vec::new();
    while let Some(inner) = predicates_text.trim().strip_prefix('[') {
        let close = inner.find(']').ok_or("unclosed predicate")?;
        let (body, tail) = inner.split_at(close);
        predicates.push(parse_predicate(body.trim())?);
        predicates_text = tail.get(1..).unwrap_or("");
    }
    if !predicates_text.trim().is_empty() {
        return Err(format!("bad step \"{text}\""));
    }
    Ok(Step { descendant, namespace, local: (local != "*").then(|| local.to_string()), predicates })
}

fn parse_predicate(body: &str) -> Result<Predicate, String> {
    if let Ok(n) = body.parse::<usize>() {
        return if n == 0 {
            Err("positions start at 1".into())
        } else {
            Ok(Predicate::Position(n))
        };
    }
    let (name, value) = body
        .strip_prefix('@')
        .and_then(|b| b.split_once('='))
        .ok_or_else(|| format!("unsupported predicate [{body}]"))?;
    let value = value.trim();
    let unquoted = value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
        .ok_or_else(|| format!("unsupported predicate [{body}]"))?;
    Ok(Predicate::Attribute(name.trim().to_string(), unquoted.to_string()))
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// The URI the document binds `prefix` to (first declaration in document order).
fn resolve_prefix(doc: &Document<'_>, prefix: &str) -> Result<String, String> {
    doc.descendants()
        .filter(|n| n.is_element())
        .flat_map(|n| n.namespaces())
        .find(|ns| ns.name() == Some(prefix))
        .map(|ns| ns.uri().to_string())
        .ok_or_else(|| format!("the prefix \"{prefix}\" is not declared in the document"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str =
        r#"<r xmlns:a="urn:a"><x n="1"><y/></x><x n="2"><y/><a:z/></x><a:z id="q"/></r>"#;

    fn pick(path: &str) -> Option<String> {
        let doc = Document::parse(XML).ok()?;
        let node = select(&doc, path).ok()?;
        let n = node.attribute("n").or(node.attribute("id")).unwrap_or("");
        Some(format!("{}:{}", node.tag_name().name(), n))
    }

    #[test]
    fn absolute_paths_and_indexes() {
        assert_eq!(pick("/r").as_deref(), Some("r:"));
        assert_eq!(pick("/r/x").as_deref(), Some("x:1"));
        assert_eq!(pick("/r/x[2]").as_deref(), Some("x:2"));
        assert_eq!(pick("/*/x[2]").as_deref(), Some("x:2"));
        assert_eq!(pick("r/x[@n='2']").as_deref(), Some("x:2"));
        assert_eq!(pick("/r/x[3]"), None);
        assert_eq!(pick("/x"), None);
    }

    #[test]
    fn descendant_paths_and_prefixes() {
        assert_eq!(pick("//a:z").as_deref(), Some("z:"));
        assert_eq!(pick("/r/a:z").as_deref(), Some("z:q"));
        assert_eq!(pick("//z[@id=\"q\"]").as_deref(), Some("z:q"));
        assert_eq!(pick("//x//y").as_deref(), Some("y:"));
        assert_eq!(pick("//b:z"), None);
    }

    #[test]
    fn errors_are_xml_target() {
        let doc = Document::parse(XML).expect("parses");
        for path in ["", "/r/x[", "/r/x[last()]", "/r/x[0]", "//b:z", "/nothing"] {
            assert!(matches!(select(&doc, path), Err(SignError::XmlTarget(_))), "{path}");
        }
    }
}
