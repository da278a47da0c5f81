//! C14N tests: the W3C REC-xml-c14n-20010315 §3 examples that need no DTD, and the
//! xml-exc-c14n §2.2 namespace examples.

use super::*;

fn c14n(xml: &str, method: &Method) -> String {
    let doc = roxmltree::Document::parse(xml).expect("test XML parses");
    canonicalize(method, doc.root(), None)
}

fn subset(xml: &str, name: &str, method: &Method) -> String {
    let doc = roxmltree::Document::parse(xml).expect("test XML parses");
    let node = doc.descendants().find(|n| n.has_tag_name(name)).expect("element exists");
    canonicalize(method, node, None)
}

/// §3.1 without the `<!DOCTYPE doc SYSTEM "doc.dtd">` line, which has no effect.
const PIS_AND_COMMENTS: &str = "<?xml version=\"1.0\"?>\n\n<?xml-stylesheet   href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n\n<doc>Hello, world!<!-- Comment 1 --></doc>\n\n<?pi-without-data     ?>\n\n<!-- Comment 2 -->\n\n<!-- Comment 3 -->\n";

#[test]
fn w3c_3_1_pis_comments_outside_document_element() {
    assert_eq!(
        c14n(PIS_AND_COMMENTS, &Method::inclusive(false)),
        "<?xml-stylesheet href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n<doc>Hello, world!</doc>\n<?pi-without-data?>"
    );
    assert_eq!(
        c14n(PIS_AND_COMMENTS, &Method::inclusive(true)),
        "<?xml-stylesheet href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n<doc>Hello, world!<!-- Comment 1 --></doc>\n<?pi-without-data?>\n<!-- Comment 2 -->\n<!-- Comment 3 -->"
    );
}

#[test]
fn w3c_3_2_whitespace_in_document_content() {
    let xml = "<doc>\n   <clean>   </clean>\n   <dirty>   A   B   </dirty>\n   <mixed>\n      A\n      <clean>   </clean>\n      B\n      <dirty>   A   B   </dirty>\n      C\n   </mixed>\n</doc>";
    assert_eq!(c14n(xml, &Method::inclusive(false)), xml);
}

/// §3.3 without the DTD (so `e9` gets no defaulted `attr`).
#[test]
fn w3c_3_3_start_and_end_tags() {
    let xml = r#"<doc>
   <e1   />
   <e2   ></e2>
   <e3   name = "elem3"   id="elem3"   />
   <e4   name="elem4"   id="elem4"   ></e4>
   <e5 a:attr="out" b:attr="sorted" attr2="all" attr="I'm"
      xmlns:b="http://www.ietf.org"
      xmlns:a="http://www.w3.org"
      xmlns="http://example.org"/>
   <e6 xmlns="" xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="" xmlns:a="http://www.w3.org">
            <e9 xmlns="" xmlns:a="http://www.ietf.org"/>
         </e8>
      </e7>
   </e6>
</doc>"#;
    let expected = r#"<doc>
   <e1></e1>
   <e2></e2>
   <e3 id="elem3" name="elem3"></e3>
   <e4 id="elem4" name="elem4"></e4>
   <e5 xmlns="http://example.org" xmlns:a="http://www.w3.org" xmlns:b="http://www.ietf.org" attr="I'm" attr2="all" b:attr="sorted" a:attr="out"></e5>
   <e6 xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="">
            <e9 xmlns:a="http://www.ietf.org"></e9>
         </e8>
      </e7>
   </e6>
</doc>"#;
    assert_eq!(c14n(xml, &Method::inclusive(false)), expected);
}

/// §3.4 without the DTD: `normNames` and `normId` are then CDATA attributes like `norm`.
#[test]
fn w3c_3_4_character_modifications_and_references() {
    let xml = "<doc>\n   <text>First line&#x0d;&#10;Second line</text>\n   <value>&#x32;</value>\n   <compute><![CDATA[value>\"0\" && value<\"10\" ?\"valid\":\"error\"]]></compute>\n   <compute expr='value>\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"'>valid</compute>\n   <norm attr=' &apos;   &#x20;&#13;&#xa;&#9;   &apos; '/>\n   <normNames attr='   A   &#x20;&#13;&#xa;&#9;   B   '/>\n</doc>";
    let expected = "<doc>\n   <text>First line&#xD;\nSecond line</text>\n   <value>2</value>\n   <compute>value&gt;\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"</compute>\n   <compute expr=\"value>&quot;0&quot; &amp;&amp; value&lt;&quot;10&quot; ?&quot;valid&quot;:&quot;error&quot;\">valid</compute>\n   <norm attr=\" '    &#xD;&#xA;&#x9;   ' \"></norm>\n   <normNames attr=\"   A    &#xD;&#xA;&#x9;   B   \"></normNames>\n</doc>";
    assert_eq!(c14n(xml, &Method::inclusive(false)), expected);
}

#[test]
fn w3c_3_6_utf8_encoding() {
    let xml = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<doc>&#169;</doc>";
    assert_eq!(c14n(xml, &Method::inclusive(false)), "<doc>\u{a9}</doc>");
}

#[test]
fn line_ends_in_text_and_attributes() {
    let xml = "<a b='x\r\ny\tz'>1\r\n2\r3</a>";
    assert_eq!(c14n(xml, &Method::inclusive(false)), "<a b=\"x y z\">1\n2\n3</a>");
}

const EXC_EXAMPLE: &str = "<n0:local xmlns:n0=\"foo:bar\" xmlns:n3=\"ftp://example.org\">\n  <n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\">\n     <n3:stuff xmlns:n3=\"ftp://example.org\"/>\n  </n1:elem2>\n</n0:local>";

/// xml-exc-c14n §2.2: inclusive C14N of `elem2` drags in the ancestor's namespaces.
#[test]
fn subset_inclusive_renders_ancestor_namespaces() {
    assert_eq!(
        subset(EXC_EXAMPLE, "elem2", &Method::inclusive(false)),
        "<n1:elem2 xmlns:n0=\"foo:bar\" xmlns:n1=\"http://example.net\" xmlns:n3=\"ftp://example.org\" xml:lang=\"en\">\n     <n3:stuff></n3:stuff>\n  </n1:elem2>"
    );
}

/// xml-exc-c14n §2.2: exclusive C14N of `elem2` renders only visibly utilized namespaces.
#[test]
fn subset_exclusive_renders_utilized_namespaces() {
    assert_eq!(
        subset(EXC_EXAMPLE, "elem2", &Method::exclusive(false)),
        "<n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\">\n     <n3:stuff xmlns:n3=\"ftp://example.org\"></n3:stuff>\n  </n1:elem2>"
    );
}

#[test]
fn subset_inclusive_inherits_xml_attributes() {
    let xml = "<a xml:lang=\"kk\" xml:space=\"preserve\" xmlns=\"urn:a\"><b xml:lang=\"ru\" c=\"1\"/></a>";
    assert_eq!(
        subset(xml, "b", &Method::inclusive(false)),
        "<b xmlns=\"urn:a\" c=\"1\" xml:lang=\"ru\" xml:space=\"preserve\"></b>"
    );
    assert_eq!(
        subset(xml, "b", &Method::exclusive(false)),
        "<b xmlns=\"urn:a\" c=\"1\" xml:lang=\"ru\"></b>"
    );
}

#[test]
fn exclusive_default_namespace_and_undeclaration() {
    let xml = "<a xmlns=\"urn:a\" xmlns:p=\"urn:p\"><b xmlns=\"\"><p:c/></b></a>";
    assert_eq!(
        c14n(xml, &Method::exclusive(false)),
        "<a xmlns=\"urn:a\"><b xmlns=\"\"><p:c xmlns:p=\"urn:p\"></p:c></b></a>"
    );
    assert_eq!(
        c14n(xml, &Method::inclusive(false)),
        "<a xmlns=\"urn:a\" xmlns:p=\"urn:p\"><b xmlns=\"\"><p:c></p:c></b></a>"
    );
}

#[test]
fn exclusive_attribute_prefix_and_prefix_list() {
    let xml =
        "<r xmlns:x=\"urn:x\" xmlns:y=\"urn:y\" xmlns:z=\"urn:z\"><e y:a=\"1\"><x:f/></e></r>";
    let mut method = Method::exclusive(false);
    assert_eq!(
        subset(xml, "e", &method),
        "<e xmlns:y=\"urn:y\" y:a=\"1\"><x:f xmlns:x=\"urn:x\"></x:f></e>"
    );
    method.inclusive_prefixes = vec!["z".into(), "#default".into()];
    assert_eq!(
        subset(xml, "e", &method),
        "<e xmlns:y=\"urn:y\" xmlns:z=\"urn:z\" y:a=\"1\"><x:f xmlns:x=\"urn:x\"></x:f></e>"
    );
}

#[test]
fn redundant_declarations_are_dropped() {
    let xml = "<a xmlns:p=\"urn:p\"><p:b xmlns:p=\"urn:p\"><c xmlns:p=\"urn:q\"/></p:b></a>";
    assert_eq!(
        c14n(xml, &Method::inclusive(false)),
        "<a xmlns:p=\"urn:p\"><p:b><c xmlns:p=\"urn:q\"></c></p:b></a>"
    );
}

#[test]
fn excluded_subtree_is_left_out() {
    let xml = "<a><b>x</b><!--c--><s><t/></s></a>";
    let doc = roxmltree::Document::parse(xml).expect("parses");
    let s = doc.descendants().find(|n| n.has_tag_name("s"));
    assert_eq!(canonicalize(&Method::inclusive(true), doc.root(), s), "<a><b>x</b><!--c--></a>");
}

#[test]
fn method_uris_round_trip() {
    for uri in [C14N, C14N_WITH_COMMENTS, EXC_C14N, EXC_C14N_WITH_COMMENTS] {
        assert_eq!(Method::from_uri(uri).map(|m| m.uri()), Some(uri));
    }
    assert_eq!(Method::from_uri("urn:other"), None);
}

#[test]
fn nesting_at_the_parser_limit() {
    let depth = crate::sign::xml_parse::MAX_DEPTH;
    let xml = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
    let out = c14n(&xml, &Method::exclusive(true));
    assert_eq!(out, xml);
}
