//! A small BER reader that normalises BER (indefinite lengths, constructed strings) to DER,
//! so the strict RustCrypto `der` types can parse NCA files (X.690 §8.1.3, §8.7, §10).
