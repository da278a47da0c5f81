//! Parsing of documents to sign or verify: `roxmltree` without DTD support (no entity
//! expansion, so no XXE and no entity bombs), with errors in the shape NCALayer's Java (Xerces)
//! parser gives them (`ncalayer-protocol.md` §3.2):
//! `org.xml.sax.SAXParseException; lineNumber: L; columnNumber: C; <message>`.

use roxmltree::{Document, Error, ParsingOptions};

use super::SignError;

/// Deepest element nesting accepted. `roxmltree` parses recursively (about 0.6 KiB of stack per
/// level optimized, several KiB unoptimized), so a hostile document could otherwise overflow
/// the 2 MiB stack of a worker thread. Real documents stay far below this.
pub(crate) const MAX_DEPTH: usize = 256;

/// Xerces' text for a document that ends inside markup.
const UNEXPECTED_EOF: &str = "XML document structures must start and end within the same entity.";

/// Parses `xml` (a leading byte-order mark is skipped); DTDs are refused.
pub(crate) fn parse(xml: &str) -> Result<Document<'_>, SignError> {
    let text = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    if let Some(offset) = too_deep(text) {
        let (line, column) = position_at(text, offset);
        return Err(SignError::XmlParse(format!(
            "org.xml.sax.SAXParseException; lineNumber: {line}; columnNumber: {column}; \
             JAXP00010006: The element has a depth that exceeds the limit \"{MAX_DEPTH}\"."
        )));
    }
    let options = ParsingOptions { allow_dtd: false, ..ParsingOptions::default() };
    Document::parse_with_options(text, options)
        .map_err(|error| SignError::XmlParse(java_message(text, &error)))
}

/// Byte offset of the first start tag nested deeper than [`MAX_DEPTH`], found by a light scan
/// that skips comments, CDATA sections, PIs and quoted attribute values. Malformed markup ends
/// the scan; the parser then reports it.
fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(start) = bytes.get(i..)?.iter().position(|&b| b == b'<').map(|p| p + i) {
        let rest = text.get(start..)?;
        i = if rest.starts_with("<!--") {
            skip_past(text, start, "-->")?
        } else if rest.starts_with("<![CDATA[") {
            skip_past(text, start, "]]>")?
        } else if rest.starts_with("<?") {
            skip_past(text, start, "?>")?
        } else if rest.starts_with("<!") {
            return None; // a DOCTYPE, which the parser refuses
        } else if rest.starts_with("</") {
            depth = depth.saturating_sub(1);
            start + 2
        } else {
            let end = tag_end(bytes, start)?;
            if bytes.get(end.checked_sub(1)?) != Some(&b'/') {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(start);
                }
            }
            end + 1
        };
    }
    None
}

/// Offset just past the first `terminator` after `start`.
fn skip_past(text: &str, start: usize, terminator: &str) -> Option<usize> {
    let from = start + 2;
    text.get(from..)?.find(terminator).map(|p| from + p + terminator.len())
}

/// Offset of the `>` closing the tag that starts at `start`, ignoring quoted values.
fn tag_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (offset, &b) in bytes.get(start..)?.iter().enumerate() {
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return Some(start + offset),
            _ => {}
        }
    }
    None
}

/// The Java-like error text for a `roxmltree` error.
fn java_message(text: &str, error: &Error) -> String {
    let (line, column, message) = match error {
        Error::UnexpectedEndOfStream | Error::UnclosedRootNode => {
            let (line, column) = end_position(text);
            (line, column, UNEXPECTED_EOF.to_string())
        }
        Error::NoRootNode => {
            let (line, column) = end_position(text);
            (line, column, "Premature end of file.".to_string())
        }
        Error::DtdDetected => {
            let offset = text.find("<!DOCTYPE").unwrap_or(0);
            let (line, column) = position_at(text, offset + "<!DOCTYPE".len());
            let message = "DOCTYPE is disallowed when the feature \
                \"http://apache.org/xml/features/disallow-doctype-decl\" set to true.";
            (line, column, message.to_string())
        }
        Error::UnknownToken(pos) => {
            let message = misplaced_content(text, pos.row as usize, pos.col as usize);
            (pos.row as usize, pos.col as usize, message.to_string())
        }
        other => {
            let pos = other.pos();
            (pos.row as usize, pos.col as usize, describe(other))
        }
    };
    format!("org.xml.sax.SAXParseException; lineNumber: {line}; columnNumber: {column}; {message}")
}

/// Xerces wording for the common mistakes; `roxmltree`'s own text for the rest.
fn describe(error: &Error) -> String {
    match error {
        Error::UnexpectedCloseTag(expected, _, _) => format!(
            "The element type \"{expected}\" must be terminated by the matching end-tag \"</{expected}>\"."
        ),
        Error::UnknownEntityReference(name, _) => {
            format!("The entity \"{name}\" was referenced, but not declared.")
        }
        Error::MalformedEntityReference(_) => {
            "The entity name must immediately follow the '&' in the entity reference.".into()
        }
        Error::InvalidAttributeValue(_) => {
            "The value of an attribute must not contain the '<' character.".into()
        }
        Error::DuplicatedAttribute(name, _) => format!("Attribute \"{name}\" was already specified."),
        Error::UnknownNamespace(prefix, _) => format!("The prefix \"{prefix}\" is not bound."),
        Error::NonXmlChar(c, _) => format!(
            "An invalid XML character (Unicode: 0x{:x}) was found in the document.",
            u32::from(*c)
        ),
        Error::InvalidComment(_) => "The string \"--\" is not permitted within comments.".into(),
        Error::InvalidCharacterData(_) => "The character sequence \"]]>\" must not appear in \
            content unless used to mark the end of a CDATA section."
            .into(),
        Error::UnexpectedDeclaration(_) => {
            "The processing instruction target matching \"[xX][mM][lL]\" is not allowed.".into()
        }
        other => {
            let text = other.to_string();
            let pos = other.pos();
            let text = text.replace(&format!(" at {}:{}", pos.row, pos.col), "");
            format!("{}.", first_upper(text.trim_end_matches('.')))
        }
    }
}

/// Xerces' text for stray content outside the root element: before it (the prolog may hold
/// only the declaration, PIs and comments) or after it.
fn misplaced_content(text: &str, row: usize, col: usize) -> &'static str {
    let offset = offset_of(text, row, col);
    let before = text.get(..offset).unwrap_or(text);
    let element_started = before
        .split('<')
        .skip(1)
        .any(|s| s.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_'));
    if !element_started {
        "Content is not allowed in prolog."
    } else if text.get(offset..).is_some_and(|rest| rest.starts_with('<')) {
        "The markup in the document following the root element must be well-formed."
    } else {
        "Content is not allowed in trailing section."
    }
}

/// Byte offset of a 1-based line and character column.
fn offset_of(text: &str, row: usize, col: usize) -> usize {
    let line_start: usize =
        text.split_inclusive('\n').take(row.saturating_sub(1)).map(str::len).sum();
    let line = text.get(line_start..).unwrap_or_default();
    line_start + line.char_indices().nth(col.saturating_sub(1)).map_or(line.len(), |(i, _)| i)
}

fn first_upper(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect::<String>())
}

/// 1-based line and column just past the last character, where Xerces reports end of input.
fn end_position(text: &str) -> (usize, usize) {
    position_at(text, text.len())
}

/// 1-based line and column of the character at byte `offset`.
fn position_at(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(xml: &str) -> String {
        match parse(xml) {
            Err(SignError::XmlParse(text)) => text,
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("parsed: {xml}"),
        }
    }

    #[test]
    fn unterminated_document_gives_java_text() {
        assert_eq!(
            error_of("<?xml version=\"1.0\"?><a>"),
            "org.xml.sax.SAXParseException; lineNumber: 1; columnNumber: 25; \
             XML document structures must start and end within the same entity."
        );
        assert_eq!(
            error_of("<a>\n<b>text"),
            "org.xml.sax.SAXParseException; lineNumber: 2; columnNumber: 8; \
             XML document structures must start and end within the same entity."
        );
    }

    #[test]
    fn doctype_is_rejected() {
        let xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>";
        let text = error_of(xml);
        assert!(text.starts_with("org.xml.sax.SAXParseException; lineNumber: 2; "));
        assert!(text.contains("DOCTYPE is disallowed"), "{text}");
    }

    #[test]
    fn other_errors_keep_the_java_shape() {
        for xml in ["", "abc", "<a></b>", "<a x='1' x='2'/>", "<p:a/>", "<a>&nbsp;</a>"] {
            let text = error_of(xml);
            assert!(text.starts_with("org.xml.sax.SAXParseException; lineNumber: "), "{text}");
            assert!(text.ends_with('.'), "{text}");
        }
        assert!(error_of("<a></b>").contains("matching end-tag \"</a>\""));
        assert!(error_of("abc").ends_with("; Content is not allowed in prolog."));
        assert!(error_of("<a/>\n<b/>").ends_with(
            "; lineNumber: 2; columnNumber: 1; \
            The markup in the document following the root element must be well-formed."
        ));
        assert!(error_of("<a/>x").ends_with("Content is not allowed in trailing section."));
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let ok = format!("{}{}", "<a x='>'>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let depth = 100_000;
        let deep = format!("<r><!--<a>--><![CDATA[<a>]]><?p <a>?>{}", "<a>".repeat(depth));
        let text = error_of(&deep);
        assert!(text.contains("JAXP00010006"), "{text}");
        assert!(text.contains("columnNumber: 803;"), "{text}");
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        assert!(parse("\u{feff}<a/>").is_ok());
    }
}
