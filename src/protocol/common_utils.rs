//! NCALayer module `common_utils` (see ncalayer-protocol.md).
