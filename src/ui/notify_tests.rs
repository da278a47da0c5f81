use super::*;

struct Recorder(Mutex<Vec<(String, String)>>);

impl Notifier for Recorder {
    fn show(&self, title: &str, body: &str) {
        if let Ok(mut shown) = self.0.lock() {
            shown.push((title.to_string(), body.to_string()));
        }
    }
}

fn certificate() -> Certificate {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/nca/ncanode-2022/ca/nca_rsa_test.crt");
    let bytes = std::fs::read(path).expect("fixture certificate");
    Certificate::from_pem_or_der(&bytes).expect("certificate")
}

#[test]
fn policy_refusal_names_the_site_and_the_reason_in_the_users_language() {
    let recorder = Arc::new(Recorder(Mutex::new(Vec::new())));
    let notifications = Notifications::new(recorder.clone(), Locale::En);
    notifications.policy_refused(Some("https://phish.example"), "not on the allow-list");
    notifications.set_locale(Locale::Ru);
    notifications.policy_refused(None, "слишком много запросов");
    let shown = recorder.0.lock().expect("lock").clone();
    assert_eq!(shown[0].0, "Request refused");
    assert_eq!(shown[0].1, "https://phish.example was refused: not on the allow-list");
    assert_eq!(shown[1].0, "Запрос отклонён");
    assert!(shown[1].1.contains("программа на этом компьютере"), "{}", shown[1].1);
    assert!(shown[1].1.contains("слишком много запросов"));
}

#[test]
fn file_notifier_writes_json_lines() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("notes.jsonl");
    let notifications = Notifications::new(Arc::new(FileNotifier(file.clone())), Locale::Kk);
    notifications.policy_refused(Some("https://x.kz"), "r");
    let text = std::fs::read_to_string(file).expect("written");
    let line: serde_json::Value = serde_json::from_str(text.trim()).expect("json");
    assert_eq!(line["title"], "Сұрау қабылданбады");
}

#[test]
fn expiring_certificate_of_a_recently_used_key_is_announced_once_a_day() {
    let dir = tempfile::tempdir().expect("dir");
    let certificate = certificate();
    let watch = ExpiryWatch::load(dir.path());
    let now = certificate.not_after() - Duration::days(10);
    assert!(watch.due(now).is_empty(), "an unused key is not announced");
    watch.record_use(&certificate, now);
    let due = watch.due(now);
    assert_eq!(due.len(), 1);
    assert!(matches!(&due[0], Notification::CertificateExpiring { days: 10, .. }), "{due:?}");
    assert!(watch.due(now + Duration::hours(1)).is_empty(), "once a day");
    let reloaded = ExpiryWatch::load(dir.path());
    assert!(reloaded.due(now + Duration::hours(2)).is_empty(), "remembered across restarts");
    assert_eq!(reloaded.due(now + Duration::days(1)).len(), 1, "again the next day");
    assert!(reloaded.due(certificate.not_after() - Duration::days(45)).is_empty(), "not yet");
}

#[test]
fn a_key_not_used_for_months_is_not_announced() {
    let dir = tempfile::tempdir().expect("dir");
    let certificate = certificate();
    let watch = ExpiryWatch::load(dir.path());
    let now = certificate.not_after() - Duration::days(5);
    watch.record_use(&certificate, now - Duration::days(200));
    assert!(watch.due(now).is_empty());
}
