//! The message pump of the tray on Windows and macOS, where `tray-icon` needs the thread's
//! native event loop: winit's (already here through eframe), pumped in short slices so the
//! tray loop can look at its board between them.

use std::time::Duration;

use winit::application::ApplicationHandler;
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::platform::pump_events::EventLoopExtPumpEvents as _;

struct Idle;

impl ApplicationHandler for Idle {
    fn resumed(&mut self, _: &ActiveEventLoop) {}
    fn window_event(
        &mut self,
        _: &ActiveEventLoop,
        _: winit::window::WindowId,
        _: winit::event::WindowEvent,
    ) {
    }
}

thread_local! {
    static LOOP: std::cell::RefCell<Option<EventLoop<()>>> = std::cell::RefCell::new(EventLoop::new().ok());
}

/// Handles pending native messages, waiting up to `slice`.
pub fn pump(slice: Duration) {
    LOOP.with(|cell| match cell.borrow_mut().as_mut() {
        Some(event_loop) => {
            let _ = event_loop.pump_app_events(Some(slice), &mut Idle);
        }
        None => std::thread::sleep(slice),
    });
}
