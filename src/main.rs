//! Composition root: parse the command line, read config, pick the prompter and clock, and run
//! the daemon (`qoltanba::daemon`) until a signal or the tray's Quit. Also the script commands (`keys`,
//! `sign`, `verify`); `doctor` prints its report and sets the exit code.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser as _;
use secrecy::SecretString;

use qoltanba::cli::{self, Cli, Command, Format, IdcardAction, RunArgs, SignArgs};
use qoltanba::config::Settings;
use qoltanba::crypto::SignatureAlgorithm;
use qoltanba::daemon::{self, Parts};
use qoltanba::keystore::{KeyEntry, KeyStore, Pkcs12Store, StorageName};
use qoltanba::platform::clock::Clock;
use qoltanba::platform::paths::Paths;
use qoltanba::service::consent::Prompter;
use qoltanba::transport::Listen;

mod commands;
mod gui;
mod idcard_command;
mod issuance_command;
mod native_host;
mod verify_command;

/// A failure of a command, printed as one line on stderr.
type Failure = String;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match start(cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("qoltanba: {message}");
            ExitCode::FAILURE
        }
    }
}

fn start(cli: Cli) -> Result<ExitCode, Failure> {
    qoltanba::platform::harden::apply(); // no core dumps, no same-user ptrace (docs/security.md)
    let paths = Paths::resolve(cli.data_dir.as_deref()).map_err(|e| e.to_string())?;
    let settings = match &cli.config {
        Some(file) => Settings::load(file, true),
        None => Settings::load(&paths.config_file(), false),
    }
    .map_err(|e| e.to_string())?;
    let globals = global_args(&cli);
    let done = match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::Run(args) => run(&paths, &settings, args),
        Command::Keys { file: Some(file), password_env, .. } => {
            keys(&file, password_env.as_deref())
        }
        Command::Keys { store: Some(store), .. } => token_keys(&paths, &settings, &store),
        Command::Keys { .. } => Err("give --file or --store".into()),
        Command::Sign(args) => sign(&args),
        Command::Verify { format, input, content, ca, json, offline } => verify_command::run(
            &settings,
            &verify_command::Request {
                format,
                input: &input,
                content: content.as_deref(),
                cas: &ca,
                json,
                offline,
            },
        ),
        Command::Prompt => prompt(),
        Command::Demo { make_test_key: true, out, password, .. } => {
            make_test_key(&paths, out, &password)
        }
        Command::Demo { port, .. } => demo(port),
        Command::History { last } => commands::history(&paths, last),
        Command::Policy => {
            let config = cli.config.clone().unwrap_or_else(|| paths.config_file());
            commands::policy(&paths, &settings, &config)
        }
        Command::Cert { action } => commands::cert(&paths, action),
        Command::Keygen { subject, email, store, algorithm, folder, out, password_env } => {
            let tokens = issuance_tokens(&paths, &settings)?;
            issuance_command::keygen(
                &issuance_command::waiting(&paths, tokens),
                &issuance_command::KeygenRequest {
                    subject: &subject,
                    email: email.as_deref(),
                    store: &store,
                    algorithm: match algorithm {
                        cli::KeyKind::Gost512 => SignatureAlgorithm::Gost2015_512,
                        cli::KeyKind::Rsa2048 => SignatureAlgorithm::RsaSha256,
                    },
                    folder: folder.as_deref(),
                    out: &out,
                    password_env: password_env.as_deref(),
                },
            )
        }
        Command::InstallCert { file, password_env } => {
            let tokens = issuance_tokens(&paths, &settings)?;
            let waiting = issuance_command::waiting(&paths, tokens);
            issuance_command::install_cert(&waiting, &file, password_env.as_deref())
        }
        Command::Idcard { action: IdcardAction::ImportCert { file, reader } } => {
            idcard_command::import_cert(&paths, &file, reader.as_deref())
        }
        Command::Idcard { action: IdcardAction::Trace { reader, out, pin_env, no_sign } } => {
            idcard_command::trace(&idcard_command::TraceRequest {
                reader: reader.as_deref(),
                out: &out,
                pin_env: pin_env.as_deref(),
                no_sign,
            })
        }
        Command::NativeHost { caller } => {
            return native_host::run(&paths, &settings, &globals, &caller)
        }
        Command::InstallBrowserSupport { remove } => {
            commands::browser_support(&paths, &globals, remove)
        }
        Command::Doctor(args) => {
            let config = cli.config.clone().unwrap_or_else(|| paths.config_file());
            return commands::doctor(paths, &settings, config, &args);
        }
    };
    done.map(|()| ExitCode::SUCCESS)
}

/// The global arguments given (`--config`, `--data-dir`), for a command that runs `qoltanba`
/// again (the daemon the native host starts, the host program the browsers start).
fn global_args(cli: &Cli) -> Vec<String> {
    let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut args = Vec::new();
    for (flag, value) in [("--config", &cli.config), ("--data-dir", &cli.data_dir)] {
        if let Some(value) = value {
            args.extend([flag.to_string(), absolute(value).display().to_string()]);
        }
    }
    args
}

/// `qoltanba demo`: serves the test portal until Ctrl+C.
/// `qoltanba demo --make-test-key`: writes the TEST key and says how to use it.
fn make_test_key(
    paths: &Paths,
    out: Option<std::path::PathBuf>,
    password: &str,
) -> Result<(), Failure> {
    let out = out.unwrap_or_else(|| paths.data_dir.join("demo").join("qoltanba-test-key.p12"));
    let (alias, p12) = qoltanba::demo::test_key::make(password)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(&out, p12).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!("TEST key written to {} (key {alias}), password: {password}", out.display());
    println!(
        "{}: choose this file in the dialog to try `qoltanba demo`.",
        qoltanba::demo::test_key::TEST_MARK
    );
    Ok(())
}

fn demo(port: u16) -> Result<(), Failure> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        eprintln!("demo portal on http://{address}/ (TEST ONLY; the daemon must be running)");
        tokio::select! {
            served = qoltanba::demo::serve(listener) => served.map_err(|e| e.to_string()),
            () = wait_for_signal() => Ok(()),
        }
    })
}

/// `qoltanba prompt`: the dialog process.
fn prompt() -> Result<(), Failure> {
    #[cfg(feature = "desktop")]
    return qoltanba::ui::desktop::prompt::main();
    #[cfg(not(feature = "desktop"))]
    Err("this build has no desktop dialog (feature `desktop`)".into())
}

/// `auto` means the dialog when the desktop is built in and a display is present.
fn resolve_mode(mode: &str) -> &str {
    let display = cfg!(windows)
        || std::env::var_os("DISPLAY").is_some()
        || std::env::var_os("WAYLAND_DISPLAY").is_some();
    match mode {
        "auto" if cfg!(feature = "desktop") && display => "gui",
        "auto" => "tty",
        other => other,
    }
}

fn prompter(mode: &str, desktop: &gui::Desktop) -> Result<Arc<dyn Prompter>, Failure> {
    if let Some(prompter) = desktop.prompter(mode)? {
        return Ok(prompter);
    }
    if mode == "tty" {
        return Ok(Arc::new(qoltanba::ui::tty::TtyPrompter));
    }
    #[cfg(feature = "test-support")]
    if let Some(file) = mode.strip_prefix("script:") {
        return Ok(Arc::new(qoltanba::ui::script::ScriptPrompter::new(Path::new(file))));
    }
    Err(format!(
        "unknown --ui mode {mode:?}: use gui, tty or auto (script:FILE needs a test-support build)"
    ))
}

fn run(paths: &Paths, settings: &Settings, args: RunArgs) -> Result<(), Failure> {
    #[cfg(unix)]
    if args.session && rustix::process::geteuid().is_root() {
        eprintln!("qoltanba: not started for root (--session): it runs in each user's session");
        return Ok(());
    }
    daemon::logging::init(paths, &settings.log.level)?;
    let urls = if args.listen.is_empty() { settings.server.listen.clone() } else { args.listen };
    let listens = urls
        .iter()
        .map(|url| Listen::parse(url).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let mode = resolve_mode(args.ui.as_deref().unwrap_or(&settings.ui.mode)).to_string();
    let clock = Clock::for_process();
    let desktop = gui::Desktop::new(paths, &settings.ui.locale, clock);
    let (it, _) = commands::it_policy()?;
    let parts = Parts::assemble(daemon::Setup {
        paths,
        settings,
        it: &it,
        prompter: prompter(&mode, &desktop)?,
        clock,
        refusals: Some(daemon::refusal_notices(settings)),
    })
    .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let quit = Arc::new(tokio::sync::Notify::new());
    let service = parts.service.clone();
    let serve = serve(listens, parts, quit.clone(), args.session || args.on_demand);
    if mode == "gui" {
        return desktop.run_with_tray(runtime, serve, service, quit);
    }
    runtime.block_on(serve)
}

/// Serves until a signal or the tray's Quit.
/// With `session`, a port already held ends it quietly (exit status 0, nothing to restart).
async fn serve(
    listens: Vec<Listen>,
    parts: Parts,
    quit: Arc<tokio::sync::Notify>,
    session: bool,
) -> Result<(), Failure> {
    let running = match daemon::start(listens, &parts).await {
        Ok(running) => running,
        Err(e) if session && e.port_taken() => {
            tracing::warn!("not started: {e}");
            eprintln!("qoltanba: not started: {e}; `qoltanba doctor` tells which program holds it");
            return Ok(());
        }
        Err(e) => return Err(e.to_string()),
    };
    for url in running.urls() {
        eprintln!("listening on {url}");
    }
    tokio::select! {
        () = wait_for_signal() => {}
        () = quit.notified() => {}
    }
    running.stop().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn password(env: Option<&str>) -> Result<SecretString, Failure> {
    match env {
        Some(var) => std::env::var(var)
            .map(SecretString::from)
            .map_err(|_| format!("environment variable {var} is not set")),
        None => {
            qoltanba::ui::tty::read_password("Password: ").ok_or_else(|| "no password given".into())
        }
    }
}

fn open_store(file: &Path, password_env: Option<&str>) -> Result<Pkcs12Store, Failure> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let secret = password(password_env)?;
    Pkcs12Store::open(&bytes, &secret).map_err(|e| e.to_string())
}

/// The token stores `keygen` and `install-cert` reach (the daemon's).
fn issuance_tokens(
    paths: &Paths,
    settings: &Settings,
) -> Result<Arc<dyn qoltanba::keystore::TokenStores>, Failure> {
    let (it, _) = commands::it_policy()?;
    Ok(daemon::token_stores(paths, settings, &it))
}

fn token_keys(paths: &Paths, settings: &Settings, store: &str) -> Result<(), Failure> {
    let store = &StorageName::parse(store).map_err(|e| format!("--store {store:?}: {e}"))?;
    let (it, _) = commands::it_policy()?;
    let tokens = daemon::token_stores(paths, settings, &it);
    if !tokens.knows(store) {
        return Err(format!(
            "{store} has no PKCS#11 module configured ([pkcs11.modules]), and the ID card needs \
             [features] experimental-idcard = true"
        ));
    }
    let keys = tokens.list(store).map_err(|e| format!("{store}: {e}"))?;
    print_keys(&keys);
    Ok(())
}

fn keys(file: &Path, password_env: Option<&str>) -> Result<(), Failure> {
    let store = open_store(file, password_env)?;
    print_keys(store.keys());
    Ok(())
}

fn print_keys(keys: &[KeyEntry]) {
    for key in keys {
        let c = &key.certificate;
        let role = c.roles().label();
        println!("alias:    {}", key.alias);
        println!("subject:  {}", c.subject_dn());
        println!("issuer:   {}", c.issuer_dn());
        println!("serial:   {}", c.serial_hex());
        let spki = &c.inner().tbs_certificate.subject_public_key_info;
        let algorithm = qoltanba::crypto::SignatureAlgorithm::for_public_key(spki)
            .map_or_else(|| spki.algorithm.oid.to_string(), |a| a.key_algorithm_name().into());
        println!("key:      {algorithm}");
        println!("role:     {role}");
        println!("valid:    {} .. {}", day_time(c.not_before()), day_time(c.not_after()));
        println!();
    }
}

/// `2026-05-08 10:20:30 UTC`.
fn day_time(at: time::OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    at.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_else(|_| at.to_string())
}

fn sign(args: &SignArgs) -> Result<(), Failure> {
    let store = open_store(&args.file, args.password_env.as_deref())?;
    let alias = match &args.key {
        Some(alias) => alias.to_ascii_lowercase(),
        None => store.keys().first().map(|k| k.alias.clone()).ok_or("the key store has no key")?,
    };
    let signer = store.signer(&alias).map_err(|e| e.to_string())?;
    let input = std::fs::read(&args.input)
        .map_err(|e| format!("cannot read {}: {e}", args.input.display()))?;
    let now = Clock::for_process().now();
    let output = match args.format {
        Format::Cms => qoltanba::sign::cms::sign_data(signer.as_ref(), &input, !args.detached, now),
        Format::Xml => {
            let text = String::from_utf8(input).map_err(|_| "the XML file is not UTF-8")?;
            qoltanba::sign::xmldsig::sign_enveloped(signer.as_ref(), &text).map(String::into_bytes)
        }
    }
    .map_err(|e| e.to_string())?;
    std::fs::write(&args.output, output)
        .map_err(|e| format!("cannot write {}: {e}", args.output.display()))
}
