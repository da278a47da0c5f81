//! `qoltanba native-host`: the native-messaging host the browser starts for the extension, one
//! process per page socket (`docs/extension.md`). It serves only the extensions of the
//! installer's manifests, takes the page's origin from the extension's first message (which the
//! extension takes from the browser), finds the running daemon through its `listening` file or
//! the configured addresses, starts it (`qoltanba run --on-demand`, detached) when nothing
//! listens, and relays until either side ends. So there is one daemon, one dialog queue and
//! one journal whichever way a page comes in.
//!
//! Must not: write anything but native-messaging frames to stdout, or take an origin from a
//! data message.

use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use qoltanba::config::Settings;
use qoltanba::daemon::LISTENING_FILE;
use qoltanba::platform::browsers;
use qoltanba::platform::paths::Paths;
use qoltanba::service::origin::Origin;
use qoltanba::transport::native_messaging::{read_frame, web_origin, write_frame};
use qoltanba::transport::native_messaging::{FromExtension, ToExtension};
use qoltanba::transport::native_relay::{self, ConnectError, DaemonSocket, Ended, Inbound};
use qoltanba::transport::{tls, Listen};
use tokio::sync::mpsc;

/// How long the extension has to say `open`.
const OPEN_WAIT: Duration = Duration::from_secs(30);

/// How long a daemon the host started has to accept the connection.
const START_WAIT: Duration = Duration::from_secs(10);

/// Runs the host until the page's socket is over. `globals` are the `--config`/`--data-dir`
/// arguments it was given, passed on to a daemon it starts; `caller` is what the browser passed.
pub fn run(
    paths: &Paths,
    settings: &Settings,
    globals: &[String],
    caller: &[String],
) -> Result<ExitCode, String> {
    if !browsers::is_our_caller(caller) {
        return Err(format!(
            "native-host serves only the Qoltanba extension; started for {caller:?} (the browser \
             passes the calling extension)"
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (sender, inbound) = mpsc::channel(2);
    std::thread::spawn(move || read_browser(&sender));
    let mut stdout = std::io::stdout().lock();
    let mut out = |message: &ToExtension<'_>| write_frame(&mut stdout, &message.to_json());
    let ended = runtime.block_on(serve(paths, settings, globals, inbound, &mut out));
    Ok(match ended {
        Ended::Closed(_, true) => ExitCode::SUCCESS,
        Ended::Closed(_, false) | Ended::BrowserGone => ExitCode::FAILURE,
    })
}

/// Reads the browser's frames into `sender` until the stream ends or breaks.
fn read_browser(sender: &mpsc::Sender<Inbound>) {
    let mut stdin = std::io::stdin().lock();
    loop {
        let inbound = match read_frame(&mut stdin) {
            Ok(Some(frame)) => match FromExtension::parse(&frame) {
                Some(message) => Inbound::Message(message),
                None => Inbound::Broken("a message outside the contract".into()),
            },
            Ok(None) => Inbound::End,
            Err(e) => Inbound::Broken(e.to_string()),
        };
        let last = !matches!(inbound, Inbound::Message(_));
        if sender.blocking_send(inbound).is_err() || last {
            return;
        }
    }
}

/// Waits for `open`, reaches the daemon and relays.
async fn serve(
    paths: &Paths,
    settings: &Settings,
    globals: &[String],
    mut inbound: mpsc::Receiver<Inbound>,
    out: &mut impl FnMut(&ToExtension<'_>) -> std::io::Result<()>,
) -> Ended {
    let first = tokio::time::timeout(OPEN_WAIT, inbound.recv()).await;
    let origin = match first {
        Ok(Some(Inbound::Message(FromExtension::Open { origin }))) => web_origin(&origin),
        Ok(Some(Inbound::End) | None) => return Ended::BrowserGone,
        _ => None,
    };
    let Some(origin) = origin else {
        let reason = "the extension must first say open, with the page's web origin";
        return native_relay::say_closed(out, 1006, reason, false);
    };
    match reach(paths, settings, globals, &origin).await {
        Ok(socket) => match out(&ToExtension::Opened) {
            Ok(()) => native_relay::relay(socket, inbound, out).await,
            Err(_) => Ended::BrowserGone,
        },
        Err(reason) => native_relay::say_closed(out, 1006, &reason, false),
    }
}

/// Connects to the daemon, starting it when nothing listens; the reason when it cannot.
async fn reach(
    paths: &Paths,
    settings: &Settings,
    globals: &[String],
    origin: &Origin,
) -> Result<DaemonSocket, String> {
    match attempt(paths, settings, origin).await {
        Err(ConnectError::Nobody(_)) => {}
        other => return other.map_err(|e| describe(&e)),
    }
    start_daemon(globals)?;
    let deadline = tokio::time::Instant::now() + START_WAIT;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        match attempt(paths, settings, origin).await {
            Err(ConnectError::Nobody(_)) if tokio::time::Instant::now() < deadline => {}
            other => return other.map_err(|e| describe(&e)),
        }
    }
}

/// One try at every address the daemon may listen on; a refusal ends it, and any other failure
/// wins over "nobody" (something else holds the port: starting Qoltanba would not help).
async fn attempt(
    paths: &Paths,
    settings: &Settings,
    origin: &Origin,
) -> Result<DaemonSocket, ConnectError> {
    let ca = paths.tls_dir().join(tls::CA_FILE);
    let mut failure = None;
    let mut nobody = ConnectError::Nobody("no address".into());
    for listen in addresses(paths, settings) {
        match native_relay::connect(&listen, origin, &ca).await {
            Ok(socket) => return Ok(socket),
            Err(e @ ConnectError::Refused(_)) => return Err(e),
            Err(e @ ConnectError::Nobody(_)) => nobody = e,
            Err(e) => failure = Some(e),
        }
    }
    Err(failure.unwrap_or(nobody))
}

/// Where the daemon listens: the addresses it announced (plain `ws://` first), then the
/// configured ones that name a port.
fn addresses(paths: &Paths, settings: &Settings) -> Vec<Listen> {
    let announced =
        std::fs::read_to_string(paths.data_dir.join(LISTENING_FILE)).unwrap_or_default();
    let announced = announced.lines().filter_map(|l| l.strip_prefix("listening on "));
    let urls = announced.map(str::to_string).chain(settings.server.listen.iter().cloned());
    let mut found: Vec<Listen> = Vec::new();
    for listen in urls.filter_map(|url| Listen::parse(&url).ok()) {
        if listen.addr().port() != 0 && !found.contains(&listen) {
            found.push(listen);
        }
    }
    found.sort_by_key(Listen::is_tls);
    found
}

/// What the page is told when the daemon cannot be reached.
fn describe(error: &ConnectError) -> String {
    match error {
        ConnectError::Refused(403) => "Qoltanba does not serve this site (its policy)".into(),
        ConnectError::Refused(503) => "Qoltanba has too many connections open".into(),
        ConnectError::Nobody(_) => {
            "Qoltanba is not running and did not start in time (`qoltanba doctor` tells why)".into()
        }
        other => format!("Qoltanba cannot be reached: {other}"),
    }
}

/// Starts the daemon for the user's session, detached from the browser's process group (the
/// browser ends the host, not the daemon). `--on-demand` makes a second start a no-op.
fn start_daemon(globals: &[String]) -> Result<(), String> {
    let exe: PathBuf = std::env::current_exe().map_err(|e| format!("cannot find qoltanba: {e}"))?;
    let mut command = Command::new(exe);
    command
        .args(globals)
        .args(["run", "--on-demand"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match spawn_detached(&mut command) {
        Ok(_child) => Ok(()),
        Err(e) => Err(format!("cannot start the Qoltanba daemon: {e}")),
    }
}

#[cfg(unix)]
fn spawn_detached(command: &mut Command) -> std::io::Result<std::process::Child> {
    use std::os::unix::process::CommandExt as _;
    command.process_group(0).spawn()
}

/// Without a console, in a process group of its own, and out of the browser's job object when
/// the job allows it (else inside it: the daemon then ends with the browser).
#[cfg(windows)]
fn spawn_detached(command: &mut Command) -> std::io::Result<std::process::Child> {
    use std::os::windows::process::CommandExt as _;
    const DETACHED_PROCESS: u32 = 0x0000_0008;
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    const CREATE_BREAKAWAY_FROM_JOB: u32 = 0x0100_0000;
    let flags = DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP;
    command
        .creation_flags(flags | CREATE_BREAKAWAY_FROM_JOB)
        .spawn()
        .or_else(|_| command.creation_flags(flags).spawn())
}
