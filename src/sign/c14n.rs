//! XML canonicalization: inclusive C14N 1.0 (W3C REC-xml-c14n-20010315) and exclusive C14N
//! (W3C REC-xml-exc-c14n-20020718), with or without comments, over a parsed document.
//!
//! Input is a `roxmltree` tree, so the parser has already done what C14N §2.1 asks of it:
//! line ends normalized to `#xA`, attribute values normalized (XML 1.0 §3.3.3), character and
//! predefined entity references replaced, CDATA sections merged into text. No DTD is ever
//! accepted, so there are no default attributes and no external entities to expand.
//!
//! The node-set is always "the subtree of an apex node, minus at most one excluded subtree":
//! the whole document (apex = document root), the document without an enveloped signature
//! (XMLDSig §6.6.4), or a document subset made of an element and its descendants (C14N §2.4).

use std::collections::BTreeMap;

use roxmltree::{Node, NodeId, NodeType};

/// The namespace bound to the `xml` prefix (Namespaces in XML §3).
pub const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";

/// Inclusive C14N 1.0 (REC-xml-c14n-20010315).
pub const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
/// Inclusive C14N 1.0 with comments (REC-xml-c14n-20010315 §1).
pub const C14N_WITH_COMMENTS: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
/// Exclusive C14N 1.0 (xml-exc-c14n §1).
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// Exclusive C14N 1.0 with comments (xml-exc-c14n §1).
pub const EXC_C14N_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";

/// One of the four C14N 1.0 algorithms, with the exclusive `InclusiveNamespaces PrefixList`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Method {
    /// Exclusive C14N (render only visibly utilized namespaces) instead of inclusive.
    pub exclusive: bool,
    /// Keep comment nodes.
    pub with_comments: bool,
    /// Exclusive only: prefixes treated as in inclusive C14N (xml-exc-c14n §3); `#default`
    /// stands for the default namespace.
    pub inclusive_prefixes: Vec<String>,
}

impl Method {
    /// Inclusive C14N 1.0.
    pub fn inclusive(with_comments: bool) -> Self {
        Self { exclusive: false, with_comments, inclusive_prefixes: Vec::new() }
    }

    /// Exclusive C14N 1.0 with an empty prefix list.
    pub fn exclusive(with_comments: bool) -> Self {
        Self { exclusive: true, with_comments, inclusive_prefixes: Vec::new() }
    }

    /// The algorithm of a `CanonicalizationMethod`/`Transform` URI, if it is a C14N 1.0 one.
    pub fn from_uri(uri: &str) -> Option<Self> {
        match uri {
            C14N => Some(Self::inclusive(false)),
            C14N_WITH_COMMENTS => Some(Self::inclusive(true)),
            EXC_C14N => Some(Self::exclusive(false)),
            EXC_C14N_WITH_COMMENTS => Some(Self::exclusive(true)),
            _ => None,
        }
    }

    /// The algorithm URI.
    pub fn uri(&self) -> &'static str {
        match (self.exclusive, self.with_comments) {
            (false, false) => C14N,
            (false, true) => C14N_WITH_COMMENTS,
            (true, false) => EXC_C14N,
            (true, true) => EXC_C14N_WITH_COMMENTS,
        }
    }
}

/// Canonicalizes the subtree rooted at `apex` (the document root node for a whole document,
/// or an element for a document subset), leaving out `exclude` and its descendants.
///
/// The walk is iterative, so hostile nesting depth cannot overflow the stack.
pub fn canonicalize(method: &Method, apex: Node<'_, '_>, exclude: Option<Node<'_, '_>>) -> String {
    let mut writer = Writer {
        method,
        apex: apex.id(),
        exclude: exclude.map(|n| n.id()),
        after_document_element: false,
        scopes: vec![Scope::new()],
        out: String::new(),
    };
    let mut node = apex;
    loop {
        if writer.open(node) {
            if let Some(child) = node.first_child() {
                node = child;
                continue;
            }
        }
        loop {
            writer.close(node);
            if node.id() == writer.apex {
                return writer.out;
            }
            if let Some(next) = node.next_sibling() {
                node = next;
                break;
            }
            match node.parent() {
                Some(parent) => node = parent,
                None => return writer.out,
            }
        }
    }
}

/// Namespace declarations in effect in the output: prefix (`""` = default) → URI.
type Scope<'a> = BTreeMap<&'a str, &'a str>;

struct Writer<'m, 'a> {
    method: &'m Method,
    apex: NodeId,
    exclude: Option<NodeId>,
    /// Whether the walk has passed the document element (C14N §2.3, "Document Order" note).
    after_document_element: bool,
    /// Output namespace scopes of the open elements, innermost last.
    scopes: Vec<Scope<'a>>,
    out: String,
}

impl<'a> Writer<'_, 'a> {
    fn is_excluded(&self, node: Node<'_, '_>) -> bool {
        self.exclude == Some(node.id())
    }

    /// Writes what comes before a node's children; returns whether to visit them.
    fn open(&mut self, node: Node<'a, '_>) -> bool {
        let at_document_level = node.parent().is_some_and(|p| p.is_root());
        if node.is_element() && at_document_level {
            self.after_document_element = true;
        }
        if self.is_excluded(node) {
            return false;
        }
        match node.node_type() {
            NodeType::Root => true,
            NodeType::Element => {
                self.start_tag(node);
                true
            }
            NodeType::Text => {
                escape_text(&mut self.out, node.text().unwrap_or_default());
                false
            }
            NodeType::Comment | NodeType::PI if at_document_level => {
                self.document_level(node);
                false
            }
            NodeType::Comment | NodeType::PI => {
                self.comment_or_pi(node);
                false
            }
        }
    }

    /// Writes the end tag of an element whose start tag [`Writer::open`] wrote.
    fn close(&mut self, node: Node<'a, '_>) {
        if node.is_element() && !self.is_excluded(node) {
            self.scopes.pop();
            self.out.push_str("</");
            self.out.push_str(element_qname(node));
            self.out.push('>');
        }
    }

    /// C14N §2.3 "Document Order" note: PIs and comments before the document element are
    /// followed by `#xA`, those after it are preceded by `#xA`.
    fn document_level(&mut self, node: Node<'a, '_>) {
        if node.is_comment() && !self.method.with_comments {
            return;
        }
        if self.after_document_element {
            self.out.push('\n');
        }
        self.comment_or_pi(node);
        if !self.after_document_element {
            self.out.push('\n');
        }
    }

    /// Comment and PI nodes (C14N §2.3); comments only in the `WithComments` variants.
    fn comment_or_pi(&mut self, node: Node<'a, '_>) {
        if node.is_comment() && self.method.with_comments {
            self.out.push_str("<!--");
            self.out.push_str(node.text().unwrap_or_default());
            self.out.push_str("-->");
        } else if let Some(pi) = node.pi() {
            self.out.push_str("<?");
            self.out.push_str(pi.target);
            if let Some(value) = pi.value.filter(|v| !v.is_empty()) {
                self.out.push(' ');
                self.out.push_str(value);
            }
            self.out.push_str("?>");
        }
    }

    /// A start tag: namespace declarations then attributes (C14N §2.2, §2.3). Empty elements
    /// get a separate end tag from [`Writer::close`] (C14N §1.1).
    fn start_tag(&mut self, node: Node<'a, '_>) {
        let qname = element_qname(node);
        let parent_scope = self.scopes.last().cloned().unwrap_or_default();
        let declarations = self.declarations(node, qname, &parent_scope);
        let is_apex = node.id() == self.apex;
        let attributes = attributes(node, is_apex && !self.method.exclusive);

        self.out.push('<');
        self.out.push_str(qname);
        for (prefix, uri) in &declarations {
            self.out.push_str(if prefix.is_empty() { " xmlns" } else { " xmlns:" });
            self.out.push_str(prefix);
            self.out.push_str("=\"");
            escape_attribute(&mut self.out, uri);
            self.out.push('"');
        }
        for attribute in &attributes {
            self.out.push(' ');
            self.out.push_str(attribute.qname);
            self.out.push_str("=\"");
            escape_attribute(&mut self.out, attribute.value);
            self.out.push('"');
        }
        self.out.push('>');

        let mut scope = parent_scope;
        scope.extend(declarations);
        self.scopes.push(scope);
    }

    /// Namespace declarations to render on `node`, sorted by prefix (default first).
    ///
    /// Inclusive (C14N §2.3): every in-scope namespace whose binding differs from the one in
    /// effect at the output parent; `xmlns=""` only to undo a rendered default namespace.
    /// Exclusive (xml-exc-c14n §3): the same test, restricted to visibly utilized prefixes
    /// and those of the `InclusiveNamespaces PrefixList`.
    fn declarations(
        &self,
        node: Node<'a, '_>,
        qname: &str,
        parent_scope: &Scope<'a>,
    ) -> Vec<(&'a str, &'a str)> {
        let in_scope = in_scope_namespaces(node);
        let candidates: Vec<&str> = if self.method.exclusive {
            self.utilized_prefixes(node, qname, &in_scope)
        } else {
            let mut all: Vec<&str> = in_scope.keys().copied().collect();
            if !in_scope.contains_key("") {
                all.push("");
            }
            all
        };
        let mut out: Vec<(&'a str, &'a str)> = Vec::new();
        for prefix in candidates {
            let uri = in_scope.get(prefix).copied().unwrap_or("");
            let current = parent_scope.get(prefix).copied().unwrap_or("");
            if uri == current {
                continue;
            }
            if let Some((p, _)) = in_scope.get_key_value(prefix) {
                out.push((p, uri));
            } else if prefix.is_empty() {
                out.push(("", ""));
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Prefixes `node` visibly utilizes (xml-exc-c14n §3): its own (or the default one), those
    /// of its attributes, plus the in-scope ones named in the inclusive prefix list.
    fn utilized_prefixes(
        &self,
        node: Node<'a, '_>,
        qname: &'a str,
        in_scope: &Scope<'a>,
    ) -> Vec<&'a str> {
        let mut prefixes = vec![prefix_of(qname)];
        for attribute in node.attributes() {
            let prefix = prefix_of(attribute_qname(node, &attribute));
            if !prefix.is_empty() {
                prefixes.push(prefix);
            }
        }
        for listed in &self.method.inclusive_prefixes {
            let prefix = if listed == "#default" { "" } else { listed };
            if let Some((p, _)) = in_scope.get_key_value(prefix) {
                prefixes.push(p);
            } else if prefix.is_empty() {
                prefixes.push("");
            }
        }
        prefixes.retain(|p| *p != "xml");
        prefixes
    }
}

/// The namespaces in scope for `node` (prefix `""` = default), without `xml` and without an
/// empty default namespace (an `xmlns=""` undeclaration).
fn in_scope_namespaces<'a>(node: Node<'a, '_>) -> Scope<'a> {
    node.namespaces()
        .map(|ns| (ns.name().unwrap_or(""), ns.uri()))
        .filter(|(prefix, uri)| *prefix != "xml" && !(prefix.is_empty() && uri.is_empty()))
        .collect()
}

struct Attribute<'a> {
    namespace: &'a str,
    local: &'a str,
    qname: &'a str,
    value: &'a str,
}

/// The attributes of `node` sorted by (namespace URI, local name) (C14N §2.2). With `inherit`
/// (inclusive C14N of a document subset's apex, C14N §2.4) the `xml:*` attributes of the
/// ancestors are added unless the element has its own.
fn attributes<'a>(node: Node<'a, '_>, inherit: bool) -> Vec<Attribute<'a>> {
    let mut list: Vec<Attribute<'a>> = own_attributes(node);
    if inherit {
        for ancestor in node.ancestors().skip(1).filter(|n| n.is_element()) {
            for attribute in own_attributes(ancestor) {
                let present = list
                    .iter()
                    .any(|a| a.namespace == attribute.namespace && a.local == attribute.local);
                if attribute.namespace == XML_NAMESPACE && !present {
                    list.push(attribute);
                }
            }
        }
    }
    list.sort_by(|a, b| (a.namespace, a.local).cmp(&(b.namespace, b.local)));
    list
}

fn own_attributes<'a>(node: Node<'a, '_>) -> Vec<Attribute<'a>> {
    node.attributes()
        .map(|a| Attribute {
            namespace: a.namespace().unwrap_or(""),
            local: a.name(),
            qname: attribute_qname(node, &a),
            value: a.value(),
        })
        .collect()
}

/// The qualified name of an element as written in the source (the prefix is not kept in the
/// tree); falls back to the local name.
pub(crate) fn element_qname<'a>(node: Node<'a, '_>) -> &'a str {
    let source: &'a str = node.document().input_text();
    source
        .get(node.range())
        .and_then(|text| text.strip_prefix('<'))
        .map(|text| {
            let end = text
                .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
                .unwrap_or(text.len());
            text.get(..end).unwrap_or(text)
        })
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| node.tag_name().name())
}

fn attribute_qname<'a>(node: Node<'a, '_>, attribute: &roxmltree::Attribute<'a, '_>) -> &'a str {
    let source: &'a str = node.document().input_text();
    source.get(attribute.range_qname()).unwrap_or_else(|| attribute.name())
}

/// The prefix of a qualified name, `""` when it has none.
pub(crate) fn prefix_of(qname: &str) -> &str {
    qname.split_once(':').map_or("", |(prefix, _)| prefix)
}

/// Text node escaping (C14N §2.3): `&`, `<`, `>` and `#xD`.
fn escape_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
}

/// Attribute value escaping (C14N §2.3): `&`, `<`, `"`, `#x9`, `#xA` and `#xD`.
fn escape_attribute(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
#[path = "c14n_tests.rs"]
mod tests;
