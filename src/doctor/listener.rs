//! The daemon and its port: for every configured listen address, what answers there
//! (`transport::probe`: TLS handshake and status page) and, when it is not Qoltanba, which
//! program holds the port (`platform::ports`), with the official NCALayer recognised.

use std::time::Duration;

use super::{Finding, Say, Status, Topic};
use crate::config::Settings;
use crate::platform::paths::Paths;
use crate::platform::ports::{self, Holder};
use crate::transport::probe::{self, Answer};
use crate::transport::tls::CA_FILE;
use crate::transport::Listen;
use crate::ui::i18n::doctor::DoctorMsg;

/// How long each step of the probe may take.
const TIMEOUT: Duration = Duration::from_secs(3);

/// A daemon and a port finding per listen address (port 0 is skipped: nothing to ask).
pub(super) fn check(settings: &Settings, paths: &Paths, say: Say) -> Vec<Finding> {
    let ca = paths.tls_dir().join(CA_FILE);
    let ca = ca.exists().then_some(ca);
    let mut findings = Vec::new();
    for url in &settings.server.listen {
        match Listen::parse(url) {
            Ok(listen) if listen.addr().port() == 0 => {}
            Ok(listen) => findings.extend(one(&listen, ca.as_deref(), say)),
            Err(e) => findings.push(say.finding(Topic::Daemon, Status::Problem, e.to_string())),
        }
    }
    findings
}

fn one(listen: &Listen, ca: Option<&std::path::Path>, say: Say) -> [Finding; 2] {
    let url = listen.url_for(listen.addr());
    let port = listen.addr().port().to_string();
    let port_says = |msg| say.text(msg, &[("port", &port)]);
    match probe::probe(listen, ca, TIMEOUT) {
        Answer::Qoltanba { version, our_ca } => {
            let ours = say.finding(Topic::Port, Status::Ok, port_says(DoctorMsg::PortOurs));
            let daemon = match our_ca {
                Some(false) => {
                    let ca = ca.map(super::shown).unwrap_or_default();
                    let text = say.text(DoctorMsg::DaemonForeignCa, &[("url", &url), ("ca", &ca)]);
                    say.fixable(Topic::Daemon, Status::Problem, text, DoctorMsg::FixForeignCa)
                }
                _ => {
                    let values = [("version", version.as_str()), ("url", &url)];
                    say.finding(
                        Topic::Daemon,
                        Status::Ok,
                        say.text(DoctorMsg::DaemonRunning, &values),
                    )
                }
            };
            [daemon, ours]
        }
        Answer::Nobody => {
            let text = say.text(DoctorMsg::DaemonNotRunning, &[("url", &url)]);
            let daemon = say.fixable(Topic::Daemon, Status::Problem, text, DoctorMsg::FixStart);
            [daemon, say.finding(Topic::Port, Status::Ok, port_says(DoctorMsg::PortFree))]
        }
        Answer::Other(reason) => {
            tracing::debug!("{url}: not Qoltanba: {reason}");
            let text = say.text(DoctorMsg::DaemonNotRunning, &[("url", &url)]);
            let daemon =
                say.fixable(Topic::Daemon, Status::Problem, text, DoctorMsg::FixStartAfterPort);
            let holder = ports::holder(listen.addr().port());
            [daemon, held(holder.as_ref(), &port, say)]
        }
    }
}

/// The port finding when another program holds it.
fn held(holder: Option<&Holder>, port: &str, say: Say) -> Finding {
    let Some(holder) = holder else {
        let text = say.text(DoctorMsg::PortHeldUnknown, &[("port", port)]);
        return say.fixable(Topic::Port, Status::Problem, text, DoctorMsg::FixPortHeld);
    };
    let values = [("port", port), ("program", &holder.describe())];
    if holder.is_ncalayer() {
        let text = say.text(DoctorMsg::PortNcaLayer, &values);
        return say.fixable(Topic::Port, Status::Problem, text, DoctorMsg::FixNcaLayer);
    }
    let text = say.text(DoctorMsg::PortHeld, &values);
    say.fixable(Topic::Port, Status::Problem, text, DoctorMsg::FixPortHeld)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::i18n::Locale;

    #[test]
    fn ncalayer_on_the_port_is_explained_with_its_own_fix() {
        let holder = Holder {
            pid: 42,
            exe: Some("/usr/bin/java".into()),
            command_line: "/usr/bin/java -jar /opt/NCALayer/ncalayer.jar".into(),
        };
        let finding = held(Some(&holder), "13579", Say(Locale::En));
        assert_eq!(finding.status, Status::Problem);
        assert!(
            finding.text.contains("official NCALayer (pid 42, /usr/bin/java -jar"),
            "{finding:?}"
        );
        assert!(finding.text.contains("only one of them can run"), "{finding:?}");
        assert!(finding.fix.as_deref().unwrap_or_default().starts_with("Quit NCALayer"));
        let other = Holder { command_line: "nc -l 13579".into(), ..holder };
        let finding = held(Some(&other), "13579", Say(Locale::Ru));
        assert!(
            finding.text.starts_with("Порт 13579 занят другой программой: pid 42"),
            "{finding:?}"
        );
    }
}
