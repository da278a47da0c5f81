//! NCALayer module `basics` (see ncalayer-protocol.md).
