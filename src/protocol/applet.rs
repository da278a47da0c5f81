//! NCALayer module `applet` (see ncalayer-protocol.md).
