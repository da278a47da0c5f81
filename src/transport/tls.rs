//! Per-install local CA: key used once and destroyed; leaf for 127.0.0.1, ::1 and localhost.
