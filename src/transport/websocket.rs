//! WebSocket server: loopback only, Host/Origin checks, frame limits, heartbeat, one task per connection.
