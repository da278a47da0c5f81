//! NCALayer module `accessory` (see ncalayer-protocol.md).
