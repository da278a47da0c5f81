//! Origin policy: which callers may reach the prompt. The `[policy]` table of the user's config
//! and of the IT policy file ([`PolicySettings`], read by `config.rs`) are merged into one
//! [`OriginPolicy`] so that the user's file can only tighten what IT set. Decisions per caller:
//!
//! | caller | `prompt` mode (default) | `allowlist` mode |
//! |---|---|---|
//! | no `Origin` (a local program) | [`Trust::Local`] unless `allow_local_programs = false` | same |
//! | listed (`allowed_origins`, the built-in portals, remembered) | [`Trust::Trusted`] | only `allowed_origins`: trusted |
//! | other `https://` | [`Trust::New`] (the dialog says so) | refused, no prompt |
//! | `http://localhost…` not listed | [`Trust::New`] | refused |
//! | other `http://`, other schemes, `null`, malformed | refused | refused |
//!
//! The built-in portals and their sources are listed in `docs/portals.md`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::Deserialize;

use super::HeaderOrigin;

pub use super::consent::Trust;
pub use super::origin::{Origin, OriginPattern};

/// The main government portals that call NCALayer (`docs/portals.md` has the sources).
pub const BUILTIN_PORTALS: &[&str] = &[
    "https://egov.kz",
    "https://*.egov.kz",
    "https://elicense.kz",
    "https://*.elicense.kz",
    "https://cabinet.salyk.kz",
    "https://esf.gov.kz:8443",
    "https://goszakup.gov.kz",
    "https://*.goszakup.gov.kz",
    "https://pki.gov.kz",
    "https://*.pki.gov.kz",
    "https://ezsigner.kz",
    "https://office.sud.kz",
];

/// Bounds of the limit keys: a config may choose within them, never outside.
pub const PROMPTS_PER_MINUTE: (u32, u32) = (1, 60);
/// Bounds of `rejections_per_minute`.
pub const REJECTIONS_PER_MINUTE: (u32, u32) = (1, 10);
/// Bounds of `cooldown_seconds`.
pub const COOLDOWN_SECONDS: (u64, u64) = (10, 3600);
/// Bounds of `max_queued_requests`.
pub const QUEUED_REQUESTS: (usize, usize) = (1, 256);

/// `mode` of `[policy]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only listed origins; the others are refused without a prompt.
    Allowlist,
    /// Listed origins are trusted; other https origins reach the dialog marked as new.
    Prompt,
}

/// The `[policy]` table as written, in the user's config or the IT policy file. Absent keys
/// are `None`, so the merge knows who set what.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySettings {
    /// `allowlist` or `prompt` (default).
    pub mode: Option<Mode>,
    /// Origins (`https://portal.kz`) or patterns (`https://*.portal.kz`): a list, or one
    /// string of them separated by commas or spaces (what an installer property can write).
    #[serde(deserialize_with = "origin_list")]
    pub allowed_origins: Option<Vec<String>>,
    /// Whether clients without `Origin` (programs on this computer) may ask (default true).
    #[serde(deserialize_with = "flag")]
    pub allow_local_programs: Option<bool>,
    /// Dialogs a site not trusted yet may have unapproved per minute, and all such sites
    /// together (default 5); approved dialogs and trusted sites are not counted.
    pub prompts_per_minute: Option<u32>,
    /// Unapproved dialogs per minute after which the site is cooled down (default 3).
    pub rejections_per_minute: Option<u32>,
    /// How long a cooled-down origin is refused without a prompt (default 300).
    pub cooldown_seconds: Option<u64>,
    /// Requests of trusted callers waiting for the dialog at most (default 32; sites not
    /// trusted yet may have a quarter of it waiting between them).
    pub max_queued_requests: Option<usize>,
}

impl PolicySettings {
    /// Checks origins and bounds; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        for text in self.allowed_origins.iter().flatten() {
            if OriginPattern::parse(text).is_none() {
                return Err(format!("policy.allowed_origins: {text:?} is not an origin"));
            }
        }
        check("policy.prompts_per_minute", self.prompts_per_minute, PROMPTS_PER_MINUTE)?;
        check("policy.rejections_per_minute", self.rejections_per_minute, REJECTIONS_PER_MINUTE)?;
        check("policy.cooldown_seconds", self.cooldown_seconds, COOLDOWN_SECONDS)?;
        check("policy.max_queued_requests", self.max_queued_requests, QUEUED_REQUESTS)
    }
}

/// `true`/`false`, or `1`/`0` as a registry `REG_DWORD` holds a switch.
fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Number(i64),
        Other(serde::de::IgnoredAny),
    }
    match Flag::deserialize(d)? {
        Flag::Bool(b) => Ok(Some(b)),
        Flag::Number(n @ (0 | 1)) => Ok(Some(n == 1)),
        Flag::Number(_) | Flag::Other(_) => {
            Err(serde::de::Error::custom("expected true or false (in the registry: 1 or 0)"))
        }
    }
}

fn origin_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        List(Vec<String>),
        Text(String),
    }
    let list = match List::deserialize(d)? {
        List::List(list) => list,
        List::Text(text) => text
            .split([',', ' ', ';', '\n', '\t'])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    Ok(Some(list))
}

fn check<T: PartialOrd + std::fmt::Display + Copy>(
    key: &str,
    value: Option<T>,
    (low, high): (T, T),
) -> Result<(), String> {
    match value {
        Some(v) if v < low || v > high => Err(format!("{key} must be from {low} to {high}")),
        _ => Ok(()),
    }
}

/// The prompt rate limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Unapproved dialogs per minute of one site not trusted yet, and of all of them.
    pub prompts_per_minute: u32,
    /// Unapproved dialogs per site per minute before the cool-down.
    pub rejections_per_minute: u32,
    /// The cool-down.
    pub cooldown: std::time::Duration,
    /// Requests of trusted callers waiting for the dialog (new sites: a quarter).
    pub max_queued: usize,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            prompts_per_minute: 5,
            rejections_per_minute: 3,
            cooldown: std::time::Duration::from_secs(300),
            max_queued: 32,
        }
    }
}

/// Why a caller may not ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The origin is not allowed by the policy.
    Origin(String),
    /// Local programs are switched off.
    LocalPrograms,
}

/// The policy in force: the merge of the IT policy and the user's config.
#[derive(Debug)]
pub struct OriginPolicy {
    mode: Mode,
    allowed: Vec<OriginPattern>,
    builtin: Vec<OriginPattern>,
    allow_local: bool,
    limits: RateLimits,
    remembered: Mutex<BTreeSet<String>>,
    remembered_file: Option<PathBuf>,
}

impl Default for OriginPolicy {
    fn default() -> Self {
        Self::merge(&PolicySettings::default(), &PolicySettings::default())
    }
}

/// The stricter of two settings (the larger when `larger_is_stricter`), either one when only
/// one is set, else the default.
fn stricter<T: Ord + Copy>(
    user: Option<T>,
    it: Option<T>,
    default: T,
    larger_is_stricter: bool,
) -> T {
    match (user, it) {
        (Some(u), Some(i)) if larger_is_stricter => u.max(i),
        (Some(u), Some(i)) => u.min(i),
        (u, i) => u.or(i).unwrap_or(default),
    }
}

fn patterns(list: &[String]) -> Vec<OriginPattern> {
    list.iter().filter_map(|text| OriginPattern::parse(text)).collect()
}

impl OriginPolicy {
    /// Merges the user's `[policy]` with IT's: IT's `allowlist` cannot be turned back to
    /// `prompt`, IT's allow-list then is the only list, local programs need both to allow them,
    /// and every limit is the stricter of the two.
    pub fn merge(user: &PolicySettings, it: &PolicySettings) -> Self {
        let it_locked = it.mode == Some(Mode::Allowlist);
        let mode =
            if it_locked { Mode::Allowlist } else { user.mode.or(it.mode).unwrap_or(Mode::Prompt) };
        let mut allowed = patterns(it.allowed_origins.as_deref().unwrap_or_default());
        if !it_locked {
            allowed.extend(patterns(user.allowed_origins.as_deref().unwrap_or_default()));
        }
        let d = RateLimits::default();
        let limits = RateLimits {
            prompts_per_minute: stricter(
                user.prompts_per_minute,
                it.prompts_per_minute,
                d.prompts_per_minute,
                false,
            ),
            rejections_per_minute: stricter(
                user.rejections_per_minute,
                it.rejections_per_minute,
                d.rejections_per_minute,
                false,
            ),
            cooldown: std::time::Duration::from_secs(stricter(
                user.cooldown_seconds,
                it.cooldown_seconds,
                d.cooldown.as_secs(),
                true,
            )),
            max_queued: stricter(
                user.max_queued_requests,
                it.max_queued_requests,
                d.max_queued,
                false,
            ),
        };
        Self {
            mode,
            allowed,
            builtin: BUILTIN_PORTALS.iter().filter_map(|p| OriginPattern::parse(p)).collect(),
            allow_local: user.allow_local_programs.unwrap_or(true)
                && it.allow_local_programs.unwrap_or(true),
            limits,
            remembered: Mutex::default(),
            remembered_file: None,
        }
    }

    /// Keeps origins the user chose to trust in `file` (one per line), loading those there.
    pub fn with_remembered(mut self, file: PathBuf) -> Self {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let set: BTreeSet<String> =
            text.lines().filter_map(Origin::parse).map(|o| o.to_string()).collect();
        self.remembered = Mutex::new(set);
        self.remembered_file = Some(file);
        self
    }

    /// The mode in force.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The rate limits in force.
    pub fn limits(&self) -> RateLimits {
        self.limits
    }

    /// The allow-list in force (IT's alone when IT set `allowlist`).
    pub fn allowed(&self) -> &[OriginPattern] {
        &self.allowed
    }

    /// Whether clients without `Origin` (programs on this computer) may ask.
    pub fn allows_local_programs(&self) -> bool {
        self.allow_local
    }

    /// How far the handshake's origin is trusted, or why not.
    pub fn decide(&self, origin: &HeaderOrigin) -> Result<Trust, Refusal> {
        let origin = match origin {
            HeaderOrigin::Absent if self.allow_local => return Ok(Trust::Local),
            HeaderOrigin::Absent => return Err(Refusal::LocalPrograms),
            HeaderOrigin::Malformed(text) => return Err(Refusal::Origin(text.clone())),
            HeaderOrigin::Web(origin) => origin,
        };
        let refused = || Refusal::Origin(origin.to_string());
        if self.allowed.iter().any(|p| p.matches(origin)) {
            return Ok(Trust::Trusted);
        }
        if self.mode == Mode::Allowlist {
            return Err(refused());
        }
        if self.builtin.iter().any(|p| p.matches(origin)) || self.is_remembered(origin) {
            return Ok(Trust::Trusted);
        }
        match origin.scheme() {
            "https" => Ok(Trust::New),
            "http" if origin.is_loopback() => Ok(Trust::New),
            _ => Err(refused()),
        }
    }

    fn is_remembered(&self, origin: &Origin) -> bool {
        self.remembered.lock().map(|set| set.contains(&origin.to_string())).unwrap_or(false)
    }

    /// The user chose to trust `origin` from now on (prompt mode only; `allowlist` is IT's).
    pub fn remember(&self, origin: &Origin) {
        if self.mode == Mode::Allowlist {
            return;
        }
        let text = origin.to_string();
        let added = self.remembered.lock().map(|mut set| set.insert(text.clone())).unwrap_or(false);
        if let (true, Some(file)) = (added, &self.remembered_file) {
            if let Err(e) = append_line(file, &text) {
                tracing::warn!("cannot remember the origin in {}: {e}", file.display());
            }
        }
    }
}

fn append_line(file: &std::path::Path, line: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::fs::OpenOptions::new().create(true).append(true).open(file)?;
    writeln!(out, "{line}")?;
    out.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packages_pre_approve_exactly_the_builtin_portals() {
        // One Chrome pattern `https://[*.]x` stands for both `https://x` and `https://*.x`.
        let file = include_str!("../../installer/portals.txt");
        let patterns: Vec<&str> =
            file.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).collect();
        let expected: Vec<String> = BUILTIN_PORTALS
            .iter()
            .filter(|p| !BUILTIN_PORTALS.contains(&p.replacen("://", "://*.", 1).as_str()))
            .map(|p| p.replace("://*.", "://[*.]"))
            .collect();
        assert_eq!(patterns, expected, "installer/portals.txt and BUILTIN_PORTALS differ");
    }

    fn settings(mode: Option<Mode>, allowed: &[&str]) -> PolicySettings {
        PolicySettings {
            mode,
            allowed_origins: Some(allowed.iter().map(|s| s.to_string()).collect()),
            ..PolicySettings::default()
        }
    }

    #[test]
    fn prompt_mode_trusts_listed_and_marks_unknown_https_as_new() {
        let policy = OriginPolicy::merge(
            &settings(None, &["https://portal.test.kz"]),
            &PolicySettings::default(),
        );
        assert_eq!(
            policy.decide(&HeaderOrigin::parse(Some("https://portal.test.kz"))),
            Ok(Trust::Trusted)
        );
        assert_eq!(
            policy.decide(&HeaderOrigin::parse(Some("https://idp.egov.kz"))),
            Ok(Trust::Trusted)
        );
        assert_eq!(
            policy.decide(&HeaderOrigin::parse(Some("https://esf.gov.kz:8443"))),
            Ok(Trust::Trusted)
        );
        assert_eq!(policy.decide(&HeaderOrigin::parse(Some("https://unknown.kz"))), Ok(Trust::New));
        assert_eq!(
            policy.decide(&HeaderOrigin::parse(Some("http://localhost:8080"))),
            Ok(Trust::New)
        );
        assert_eq!(policy.decide(&HeaderOrigin::parse(None)), Ok(Trust::Local));
        for refused in ["http://egov.kz", "null", "file://", "chrome-extension://abc", "x"] {
            assert!(policy.decide(&HeaderOrigin::parse(Some(refused))).is_err(), "{refused}");
        }
    }

    #[test]
    fn allowlist_mode_refuses_everything_unlisted() {
        let policy = OriginPolicy::merge(
            &settings(Some(Mode::Allowlist), &["https://portal.test.kz"]),
            &PolicySettings::default(),
        );
        assert_eq!(
            policy.decide(&HeaderOrigin::parse(Some("https://portal.test.kz"))),
            Ok(Trust::Trusted)
        );
        assert!(
            policy.decide(&HeaderOrigin::parse(Some("https://egov.kz"))).is_err(),
            "only the listed origins"
        );
        assert!(policy.decide(&HeaderOrigin::parse(Some("https://evil.example"))).is_err());
        assert_eq!(policy.decide(&HeaderOrigin::parse(None)), Ok(Trust::Local));
    }

    #[test]
    fn the_user_cannot_loosen_it_policy() {
        let it = PolicySettings {
            allow_local_programs: Some(false),
            prompts_per_minute: Some(2),
            cooldown_seconds: Some(600),
            ..settings(Some(Mode::Allowlist), &["https://it.kz"])
        };
        let user = PolicySettings {
            allow_local_programs: Some(true),
            prompts_per_minute: Some(30),
            cooldown_seconds: Some(10),
            ..settings(Some(Mode::Prompt), &["https://user.kz"])
        };
        let policy = OriginPolicy::merge(&user, &it);
        assert_eq!(policy.mode(), Mode::Allowlist);
        assert_eq!(policy.decide(&HeaderOrigin::parse(Some("https://it.kz"))), Ok(Trust::Trusted));
        assert!(policy.decide(&HeaderOrigin::parse(Some("https://user.kz"))).is_err());
        assert_eq!(policy.decide(&HeaderOrigin::parse(None)), Err(Refusal::LocalPrograms));
        assert_eq!(policy.limits().prompts_per_minute, 2);
        assert_eq!(policy.limits().cooldown.as_secs(), 600);
        let tighter =
            OriginPolicy::merge(&settings(Some(Mode::Allowlist), &[]), &PolicySettings::default());
        assert_eq!(tighter.mode(), Mode::Allowlist, "the user may tighten");
    }

    #[test]
    fn remembered_origins_are_trusted_and_kept() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("trusted-origins.txt");
        let policy = OriginPolicy::default().with_remembered(file.clone());
        assert_eq!(policy.decide(&HeaderOrigin::parse(Some("https://new.kz"))), Ok(Trust::New));
        policy.remember(&Origin::parse("https://NEW.kz:443").expect("origin"));
        assert_eq!(policy.decide(&HeaderOrigin::parse(Some("https://new.kz"))), Ok(Trust::Trusted));
        let again = OriginPolicy::default().with_remembered(file);
        assert_eq!(again.decide(&HeaderOrigin::parse(Some("https://new.kz"))), Ok(Trust::Trusted));
    }

    #[test]
    fn bounds_are_enforced() {
        let bad = PolicySettings { prompts_per_minute: Some(0), ..PolicySettings::default() };
        assert!(bad.validate().is_err());
        let bad = PolicySettings { cooldown_seconds: Some(1), ..PolicySettings::default() };
        assert!(bad.validate().is_err());
        assert!(settings(None, &["not an origin"]).validate().is_err());
        assert!(settings(None, &["https://*.portal.kz"]).validate().is_ok());
    }
}
