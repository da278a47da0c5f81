use super::*;

#[test]
fn locale_codes_as_portals_send_them() {
    assert_eq!(Locale::parse("kz"), Some(Locale::Kk));
    assert_eq!(Locale::parse("kk_KZ.UTF-8"), Some(Locale::Kk));
    assert_eq!(Locale::parse("ru-RU"), Some(Locale::Ru));
    assert_eq!(Locale::parse("en"), Some(Locale::En));
    assert_eq!(Locale::parse("de"), None);
    assert_eq!(Locale::parse_or_default("C"), Locale::Ru);
}

#[test]
fn every_message_is_translated_and_distinct_per_language() {
    let all = [Msg::Sign, Msg::Cancel, Msg::WrongPassword, Msg::FirstSeen, Msg::Quit];
    for msg in all {
        let [kk, ru, en] = Locale::ALL.map(|l| text(msg, l));
        assert!(!kk.is_empty() && !ru.is_empty() && !en.is_empty());
        assert_ne!(kk, en, "{msg:?}");
        assert_ne!(ru, en, "{msg:?}");
    }
}

#[test]
fn operations_in_words_with_plurals() {
    assert_eq!(operation(Operation::Xml, 3, Locale::En), "Sign 3 XML documents");
    assert_eq!(operation(Operation::CmsDigest, 1, Locale::En), "Sign a file digest (detached)");
    assert_eq!(operation(Operation::Xml, 1, Locale::Ru), "Подписать 1 XML-документ");
    assert_eq!(operation(Operation::Xml, 3, Locale::Ru), "Подписать 3 XML-документа");
    assert_eq!(operation(Operation::Xml, 11, Locale::Ru), "Подписать 11 XML-документов");
    assert_eq!(operation(Operation::Xml, 2, Locale::Kk), "2 XML құжатқа қол қою");
}

#[test]
fn templates_are_filled() {
    let body =
        fill(text(Msg::RefusedBody, Locale::En), &[("origin", "https://x.kz"), ("reason", "r")]);
    assert_eq!(body, "https://x.kz was refused: r");
}

#[test]
fn retries_in_words_in_every_language() {
    use crate::crypto::PinTries;
    use crate::keystore::StorageName;
    use crate::service::consent::Retry;
    let en = |r: Retry| retry(&r, Locale::En);
    assert_eq!(en(Retry::WrongPassword), "Wrong password. Try again.");
    assert_eq!(en(Retry::WrongPin(PinTries::Unknown)), "Wrong PIN. Try again.");
    assert_eq!(
        en(Retry::NoToken(StorageName::parse("AKKaztokenStore").expect("name"))),
        "No AKKaztokenStore token is connected."
    );
    let unreadable = Retry::Unreadable { path: "/k.p12".into(), reason: "gone".into() };
    assert_eq!(en(unreadable.clone()), "Cannot read /k.p12: gone");
    let all = [
        Retry::WrongPin(PinTries::Few),
        Retry::WrongPin(PinTries::Last),
        Retry::KeyNotAccepted("abc".into()),
        Retry::StorageNotAllowed(StorageName::pkcs12()),
        Retry::ChooseFile,
        unreadable,
        Retry::StoreUnusable("damaged".into()),
    ];
    for r in all {
        let [kk, ru, en] = Locale::ALL.map(|l| retry(&r, l));
        assert!(!kk.contains('{') && !ru.contains('{') && !en.contains('{'), "{r:?}");
        assert_ne!(kk, en, "{r:?}");
        assert_ne!(ru, en, "{r:?}");
    }
}
