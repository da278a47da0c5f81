//! Composition root: parse the command line, read config, set up logging, build the prompter,
//! service, protocol dispatcher and listeners, and run. Also the script commands (`keys`,
//! `sign`, `verify`).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser as _;
use secrecy::SecretString;

use qoltanba::cli::{Cli, Command, Format, RunArgs, SignArgs};
use qoltanba::config::Settings;
use qoltanba::keystore::pkcs11::Pkcs11Tokens;
use qoltanba::keystore::{KeyEntry, KeyStore, Pkcs12Store, TokenStores};
use qoltanba::platform::paths::Paths;
use qoltanba::protocol::Dispatcher;
use qoltanba::service::consent::Prompter;
use qoltanba::service::{Service, ServiceSettings};
use qoltanba::transport::{self, tls::LocalCa, Listen};

mod commands;
mod gui;

/// A failure of a command, printed as one line on stderr.
type Failure = String;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match start(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("qoltanba: {message}");
            ExitCode::FAILURE
        }
    }
}

fn start(cli: Cli) -> Result<(), Failure> {
    qoltanba::platform::harden::apply(); // no core dumps, no same-user ptrace (docs/security.md)
    let paths = Paths::resolve(cli.data_dir.as_deref()).map_err(|e| e.to_string())?;
    let settings = match &cli.config {
        Some(file) => Settings::load(file, true),
        None => Settings::load(&paths.config_file(), false),
    }
    .map_err(|e| e.to_string())?;
    match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::Run(args) => run(&paths, &settings, args),
        Command::Keys { file: Some(file), password_env, .. } => {
            keys(&file, password_env.as_deref())
        }
        Command::Keys { store: Some(store), .. } => token_keys(&settings, &store),
        Command::Keys { .. } => Err("give --file or --store".into()),
        Command::Sign(args) => sign(&args),
        Command::Verify { format, input, content } => verify(format, &input, content.as_deref()),
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
    }
}

/// Logs to stderr and to the log file in the data directory. No request or document content
/// and no secret is ever passed to a log macro.
fn init_logging(paths: &Paths, level: &str) -> Result<(), Failure> {
    use tracing_subscriber::{fmt, prelude::*, EnvFilter};
    std::fs::create_dir_all(&paths.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", paths.data_dir.display()))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.log_file())
        .map_err(|e| format!("cannot open the log file: {e}"))?;
    let mut filter =
        EnvFilter::try_from_env("QOLTANBA_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    // Libraries below us log whole frames at debug/trace level: cap them, whatever the user asks,
    // so no document or password ever reaches a log.
    for quiet in ["tungstenite=warn", "tokio_tungstenite=warn", "rustls=warn", "tokio_rustls=warn"]
    {
        if let Ok(directive) = quiet.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_ansi(ansi).with_writer(std::io::stderr))
        .with(fmt::layer().with_ansi(false).with_writer(std::sync::Mutex::new(file)))
        .try_init()
        .map_err(|e| e.to_string())?;
    qoltanba::platform::harden::log();
    Ok(())
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

/// Notifies the user of a request the origin policy refused, at most once a minute per site.
fn refusal_notices(settings: &Settings) -> qoltanba::service::security::RefusalHook {
    use std::collections::HashMap;
    use std::time::{Duration, Instant};
    let locale = qoltanba::ui::i18n::Locale::parse_or_default(&settings.ui.locale);
    let notifications = qoltanba::ui::notify::Notifications::for_desktop(locale);
    let last: std::sync::Mutex<HashMap<String, Instant>> = std::sync::Mutex::default();
    qoltanba::service::security::RefusalHook(Arc::new(move |origin, reason| {
        let key = origin.unwrap_or("").to_string();
        let Ok(mut last) = last.lock() else { return };
        if last.get(&key).is_some_and(|at| at.elapsed() < Duration::from_secs(60)) {
            return;
        }
        last.insert(key, Instant::now());
        notifications.policy_refused(origin, reason);
    }))
}

fn run(paths: &Paths, settings: &Settings, args: RunArgs) -> Result<(), Failure> {
    init_logging(paths, &settings.log.level)?;
    let urls = if args.listen.is_empty() { settings.server.listen.clone() } else { args.listen };
    let listens = urls
        .iter()
        .map(|url| Listen::parse(url).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let mode = resolve_mode(args.ui.as_deref().unwrap_or(&settings.ui.mode)).to_string();
    let desktop = gui::Desktop::new(paths, &settings.ui.locale);
    let prompter = prompter(&mode, &desktop)?;
    let (it, _) = commands::it_policy()?;
    let tokens = Pkcs11Tokens::new(&commands::token_modules(settings, &it));
    let tokens: Arc<dyn TokenStores> = Arc::new(tokens);
    let service_settings = ServiceSettings { locale: settings.ui.locale.clone() };
    let security =
        commands::security(paths, settings, &it).with_refusal_hook(refusal_notices(settings));
    let service = Service::with_security(prompter, service_settings, tokens, security);
    let dispatcher = Arc::new(Dispatcher::new(service.clone()));
    let limits = transport::Limits {
        max_message_size: settings.server.max_message_bytes,
        max_connections: settings.server.max_connections,
        max_site_connections: settings.server.max_site_connections,
        memory_budget: settings.server.memory_budget_bytes,
        untrusted_memory: settings.server.untrusted_memory_bytes,
        ..transport::Limits::default()
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let quit = Arc::new(tokio::sync::Notify::new());
    let serve = serve_all(paths.clone(), listens, dispatcher, limits, quit.clone());
    if mode == "gui" {
        return desktop.run_with_tray(runtime, serve, service, quit);
    }
    runtime.block_on(serve)
}

async fn serve_all(
    paths: Paths,
    listens: Vec<Listen>,
    dispatcher: Arc<Dispatcher>,
    limits: transport::Limits,
    quit: Arc<tokio::sync::Notify>,
) -> Result<(), Failure> {
    let paths = &paths;
    let ca = match listens.iter().any(Listen::is_tls) {
        true => Some(LocalCa::load_or_create(&paths.tls_dir()).map_err(|e| e.to_string())?),
        false => None,
    };
    let status =
        transport::StatusInfo { ca_pem: ca.as_ref().map(|ca| ca.ca_pem_path().to_path_buf()) };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    let mut announced = String::new();
    for listen in listens {
        let listener = transport::bind(&listen).await.map_err(|e| e.to_string())?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let line = format!("listening on {}", listen.url_for(address));
        eprintln!("{line}");
        tracing::info!("{line}");
        announced.push_str(&line);
        announced.push('\n');
        let tls = listen.is_tls().then(|| ca.as_ref().map(LocalCa::server_config)).flatten();
        let handler: Arc<dyn transport::Handler> = dispatcher.clone();
        let mut stop = stop_rx.clone();
        let shutdown = async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        };
        let serve =
            transport::serve(listener, tls, handler, limits.clone(), status.clone(), shutdown);
        tasks.push(tokio::spawn(serve));
    }
    std::fs::write(paths.data_dir.join("listening"), announced).map_err(|e| e.to_string())?;
    tokio::select! {
        () = wait_for_signal() => {}
        () = quit.notified() => {}
    }
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
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

fn token_keys(settings: &Settings, store: &str) -> Result<(), Failure> {
    let (it, _) = commands::it_policy()?;
    let tokens = Pkcs11Tokens::new(&commands::token_modules(settings, &it));
    if !tokens.knows(store) {
        return Err(format!("{store} has no PKCS#11 module configured ([pkcs11.modules])"));
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
    let now = qoltanba::platform::clock::now();
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

fn verify(format: Format, input: &Path, content: Option<&Path>) -> Result<(), Failure> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    let bytes = read(input)?;
    let subjects: Vec<String> = match format {
        Format::Cms => {
            let der = der_from_text_or_der(bytes)?;
            let detached = content.map(read).transpose()?;
            qoltanba::sign::cms_verify::verify(&der, detached.as_deref())
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|s| s.certificate.subject_dn())
                .collect()
        }
        Format::Xml => {
            let text = String::from_utf8(bytes).map_err(|_| "the XML file is not UTF-8")?;
            qoltanba::sign::xml_verify::verify(&text)
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|c| c.subject_dn())
                .collect()
        }
    };
    for subject in subjects {
        println!("OK: signed by {subject}");
    }
    Ok(())
}

/// CMS as DER, or as base64 text with or without `-----BEGIN CMS-----` armour.
fn der_from_text_or_der(bytes: Vec<u8>) -> Result<Vec<u8>, Failure> {
    use base64::Engine as _;
    if bytes.first() == Some(&0x30) {
        return Ok(bytes);
    }
    let text =
        String::from_utf8(bytes).map_err(|_| "the CMS file is neither DER nor base64 text")?;
    let body: String = text
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| format!("the CMS file is not valid base64: {e}"))
}
