//! Command line: clap subcommands. `run` is the default when no subcommand is given.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Qoltanba: an NCALayer-compatible signing bridge for Kazakh e-signatures (ЭЦП).
#[derive(Debug, Parser)]
#[command(name = "qoltanba", version, about)]
pub struct Cli {
    /// Config file (TOML). Default: config.toml in the config directory.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Keep every file the daemon writes (local CA, logs) under DIR.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// What to do (default: run).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon (the default).
    Run(RunArgs),
    /// List the keys of a PKCS#12 file (asks the password on the terminal), or of the tokens
    /// of a storage name (no PIN needed: certificates are public on the token).
    #[command(group(clap::ArgGroup::new("source").required(true).args(["file", "store"])))]
    Keys {
        /// The key store file.
        #[arg(long)]
        file: Option<PathBuf>,
        /// A token storage name, e.g. AKKaztokenStore (modules from `[pkcs11.modules]`).
        #[arg(long)]
        store: Option<String>,
        /// Read the password from this environment variable instead of the terminal.
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
    },
    /// Sign a file with a key from a PKCS#12 file, for scripts.
    Sign(SignArgs),
    /// Serve a local test portal that calls every protocol method of a running daemon.
    Demo {
        /// Port of the demo page on 127.0.0.1.
        #[arg(long, default_value_t = 13580)]
        port: u16,
        /// Instead of serving the page, write a self-made TEST key (.p12) to try it with.
        #[arg(long)]
        make_test_key: bool,
        /// Where to write the test key (default: demo/qoltanba-test-key.p12 in the data directory).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Password of the test key.
        #[arg(long, default_value = "Test1234")]
        password: String,
    },
    /// The consent dialog process the daemon starts for each request (`--ui gui`); reads its
    /// request on stdin. Not for direct use.
    #[command(hide = true)]
    Prompt,
    /// Verify a CMS or XML signature with Qoltanba's own verifier.
    Verify {
        /// Signature format (default: XML when the file starts with `<`, else CMS).
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// The signature file (CMS as DER, PEM or base64; XML as text).
        input: PathBuf,
        /// The signed content, for a detached CMS.
        #[arg(long)]
        content: Option<PathBuf>,
        /// A CA certificate file (PEM or DER) to trust besides `[trust]` (repeatable).
        #[arg(long)]
        ca: Vec<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Do not ask OCSP responders or fetch CRLs.
        #[arg(long)]
        offline: bool,
    },
    /// Show the journal of signatures (data directory `journal.jsonl`) as a table.
    History {
        /// Show only the last N entries.
        #[arg(long, value_name = "N")]
        last: Option<usize>,
    },
    /// Show the origin policy and token modules in force, and which sources were read: the IT
    /// policy file, the IT registry key (Windows), the user's config.
    Policy,
    /// Check the installation and explain each finding with its fix: the daemon, who holds the
    /// port, the local CA in each browser store, the browser extension host, tokens and readers,
    /// the policy in force. Exit code 1 when a problem is found.
    Doctor(DoctorArgs),
    /// The browser extension's native-messaging host, started by the browser through the
    /// manifest `kz.qoltanba.native`: relays one page's socket to the running daemon, starting
    /// it when needed (docs/extension.md). Not for direct use.
    NativeHost {
        /// What the browser passes: the calling extension's origin (Chrome, Edge), or the
        /// manifest path and the add-on id (Firefox).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        caller: Vec<String>,
    },
    /// Register the browser extension's native-messaging host for this user, in Chrome,
    /// Chromium, Edge and Firefox (the packages register it for every user).
    InstallBrowserSupport {
        /// Take the registration back.
        #[arg(long)]
        remove: bool,
    },
    /// The Kazakh ID card (experimental; docs/idcard.md).
    Idcard {
        /// What to do.
        #[command(subcommand)]
        action: IdcardAction,
    },
    /// Make a new key for an NCA certificate and write its request (PKCS#10) to a file; the key
    /// waits, encrypted with the new password, until `install-cert` (docs/issuance.md).
    Keygen {
        /// The subject, in the NCA's order: "CN=…,SURNAME=…,SERIALNUMBER=IIN…,C=KZ,G=…".
        #[arg(long)]
        subject: String,
        /// The e-mail for the certificate.
        #[arg(long)]
        email: Option<String>,
        /// Where the key is made: `PKCS12` (a folder) or a token storage name such as
        /// `AKKaztokenStore` (a key made by the token).
        #[arg(long, default_value = "PKCS12")]
        store: String,
        /// The kind of key: GOST-2015-512 (the NCA's), or RSA-2048 on a token that makes it.
        #[arg(long, value_enum, default_value_t = KeyKind::Gost512)]
        algorithm: KeyKind,
        /// The folder the key file goes to once its certificate is installed (`PKCS12`).
        #[arg(long)]
        folder: Option<PathBuf>,
        /// Where the request goes (PEM with `.pem`, else DER).
        #[arg(long)]
        out: PathBuf,
        /// Read the new password (a token's PIN) from this environment variable (else it is
        /// asked).
        #[arg(long)]
        password_env: Option<String>,
    },
    /// Install a certificate (DER, PEM or base64, with or without its chain) for the key made
    /// for it: `GOST512_<id>.p12` in the key's folder.
    InstallCert {
        /// The certificate file.
        file: PathBuf,
        /// Read the key's password (a token's PIN) from this environment variable (else it
        /// is asked).
        #[arg(long)]
        password_env: Option<String>,
    },
    /// Manage the local CA in the browsers' trust stores.
    Cert {
        /// What to do.
        #[command(subcommand)]
        action: CertAction,
    },
}

/// `qoltanba idcard …`.
#[derive(Debug, Subcommand)]
pub enum IdcardAction {
    /// Record every command exchanged with the card while its keys are listed and, with the
    /// PIN, one signature is made; the PIN's bytes are blanked. Send the file to the
    /// developers: it settles what is not yet known of the card (docs/idcard.md).
    Trace {
        /// The reader (default: the first holding a card).
        #[arg(long)]
        reader: Option<String>,
        /// Where to write the trace.
        #[arg(long, value_name = "FILE", default_value = "qoltanba-idcard-trace.txt")]
        out: std::path::PathBuf,
        /// Read the PIN from this environment variable instead of the terminal.
        #[arg(long, value_name = "VAR")]
        pin_env: Option<String>,
        /// Only list the keys: no PIN is asked and nothing is signed.
        #[arg(long)]
        no_sign: bool,
    },
    /// Keep a certificate (PEM or DER) for the key of the ID card it belongs to, until the
    /// card's own certificates can be read: it is matched to the card's keys by public key,
    /// and refused when it is for none of them.
    ImportCert {
        /// The certificate file.
        file: std::path::PathBuf,
        /// The reader (default: the first holding a card).
        #[arg(long)]
        reader: Option<String>,
    },
}

/// `qoltanba cert …`.
#[derive(Debug, Subcommand)]
pub enum CertAction {
    /// Add the local CA to the NSS databases (~/.pki/nssdb, Firefox profiles) or, on Windows,
    /// the user's Root store; every store is recorded in the data directory.
    Install,
    /// Remove the local CA from every store `install` added it to; the daemon then leaves it
    /// out until `cert install`.
    Uninstall {
        /// Run by the package's removal script: the CA is taken out, but a reinstalled package
        /// trusts it again on its first start.
        #[arg(long, hide = true)]
        package_removal: bool,
    },
}

/// `qoltanba doctor`.
#[derive(Debug, Default, clap::Args)]
pub struct DoctorArgs {
    /// Language of the report: kk, ru or en (default: `[ui] locale`, else the system's).
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
    /// Print the report as JSON, for IT scripts.
    #[arg(long)]
    pub json: bool,
    /// Look for system-wide files (browser host manifests) under DIR instead of `/`, e.g. a
    /// system image mounted elsewhere.
    #[arg(long, value_name = "DIR", hide = true)]
    pub root: Option<PathBuf>,
}

/// `qoltanba run`.
#[derive(Debug, Default, clap::Args)]
pub struct RunArgs {
    /// Listen URL, repeatable: wss://127.0.0.1:13579 (default), ws://127.0.0.1:PORT; port 0 picks one.
    #[arg(long, value_name = "URL")]
    pub listen: Vec<String>,
    /// How to ask the user: gui (the desktop dialog and tray; the default when a display is
    /// present), tty, or script:ANSWERS.jsonl in test builds.
    #[arg(long, value_name = "MODE")]
    pub ui: Option<String>,
    /// Started by the desktop session (the autostart entry, the systemd user unit): never runs
    /// as root, and exits quietly when the port is already held (another Qoltanba, or the
    /// official NCALayer; `qoltanba doctor` tells which), so two starts never fight.
    #[arg(long)]
    pub session: bool,
    /// Started by the browser extension's native host because nothing listened: exits quietly
    /// when the port is already held, as `--session` does (another host started it first).
    #[arg(long, hide = true)]
    pub on_demand: bool,
}

/// `qoltanba sign`.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// The key store file.
    #[arg(long)]
    pub file: PathBuf,
    /// Signature format.
    #[arg(long, value_enum)]
    pub format: Format,
    /// Leave the content out of the CMS.
    #[arg(long)]
    pub detached: bool,
    /// Key alias (default: the only or first key).
    #[arg(long)]
    pub key: Option<String>,
    /// Read the password from this environment variable instead of the terminal.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// The document.
    pub input: PathBuf,
    /// Where to write the signature (CMS as DER, XML as text).
    pub output: PathBuf,
}

/// Signature formats on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// CMS / CAdES-BES.
    Cms,
    /// Enveloped XMLDSig.
    Xml,
}

/// The kinds of key `keygen` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyKind {
    /// GOST 34.10-2015 512 (TC26 512 A) with Streebog-512.
    Gost512,
    /// RSA-2048 with SHA-256 (tokens only).
    Rsa2048,
}
