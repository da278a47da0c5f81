//! XML canonicalization: inclusive C14N 1.0 (W3C REC-xml-c14n-20010315) and exclusive C14N
//! (W3C REC-xml-exc-c14n-20020718), with or without comments, over a parsed document.
