//! NCALayer module `envelope` (see ncalayer-protocol.md).
