//! Қазақша мәтіндер.

use super::Msg;
use crate::service::consent::Operation;

/// The Kazakh text of `msg`.
pub(super) fn text(msg: Msg) -> &'static str {
    match msg {
        Msg::DialogTitle => "қол қою сұрауы",
        Msg::RequestedBy => "Сұрау жіберген",
        Msg::LocalProgram => "осы компьютердегі бағдарлама (веб-көзі жоқ)",
        Msg::FirstSeen => "Бұл сайттан алғашқы сұрау. Мекенжайды мұқият тексеріңіз.",
        Msg::NotTrusted => "Бұл сайт сенімді тізімде жоқ.",
        Msg::RememberSite => "Бұдан былай бұл сайтқа сену",
        Msg::Trusted => "Сенімді сайт",
        Msg::DocumentSize => "Құжат {n}: {size} байт",
        Msg::DigestOnly => "Сайт бұл құжаттың тек хешін жіберді: оның мазмұнын көрсету мүмкін емес.",
        Msg::BinaryData => "Екілік деректер: алдын ала қарау мүмкін емес.",
        Msg::KeyStore => "Кілттер қоймасы",
        Msg::StoreFile => "Кілт файлы (.p12)",
        Msg::ChooseFile => "Файлды таңдау…",
        Msg::RecentFiles => "Соңғы қолданылғандар",
        Msg::NoTokens => "Токен қосылмаған",
        Msg::Password => "Құпиясөз",
        Msg::Pin => "PIN-код",
        Msg::Sign => "Қол қою",
        Msg::Cancel => "Бас тарту",
        Msg::UseKey => "Осы кілтті қолдану",
        Msg::WrongPassword => "Құпиясөз қате. Қайталап көріңіз.",
        Msg::TriesLeft => "Қалған әрекеттер: {left}",
        Msg::NoMatchingKey => "Бұл қоймада сайт қабылдайтын кілт жоқ.",
        Msg::WrongPin => "PIN-код қате. Қайталап көріңіз.",
        Msg::WrongPinFewTries => "PIN-код қате. Токен PIN-код бұғатталғанға дейін әрекеттер аз қалғанын хабарлайды.",
        Msg::WrongPinLastTry => "PIN-код қате. Бір әрекет қалды: келесі қате PIN-код токенді бұғаттайды.",
        Msg::KeyNotAccepted => "{alias} кілтін бұл сайт қабылдамайды.",
        Msg::StorageNotAllowed => "Сайт {store} қоймасындағы кілттерді қабылдамайды.",
        Msg::NoToken => "{store} токені қосылмаған.",
        Msg::ChooseStoreFile => "Кілттер қоймасының файлын таңдаңыз.",
        Msg::Unreadable => "{path} оқылмады: {reason}",
        Msg::StoreUnusable => "Кілттер қоймасын пайдалану мүмкін емес: {reason}",
        Msg::Keys => "Кілттер",
        Msg::Owner => "Иесі",
        Msg::IinBin => "ЖСН/БСН",
        Msg::Role => "Мақсаты",
        Msg::Issuer => "Берген орган",
        Msg::Validity => "Жарамды",
        Msg::Expired => "МЕРЗІМІ ӨТКЕН",
        Msg::NotYetValid => "ӘЛІ ЖАРАМСЫЗ",
        Msg::RoleSignature => "қол қою",
        Msg::RoleAuthentication => "аутентификация",
        Msg::AsksForFile => "файл таңдауды сұрайды ({extension})",
        Msg::KeysWanted => "Сайт қабылдайды: {what}",
        Msg::ChooseStoreFirst => "Алдымен кілт файлын таңдаңыз.",
        Msg::StateIdle => "Qoltanba: порталдарды күтуде",
        Msg::StateWaiting => "Qoltanba: қол қою сұрауы күтуде",
        Msg::StateError => "Qoltanba: қате орын алды, журналды қараңыз",
        Msg::Listening => "Мекенжай: {address}",
        Msg::StoresSeen => "Қоймалар: {stores}",
        Msg::OpenHistory => "Қол қою тарихы",
        Msg::TrustCertificate => "Браузерлерде жергілікті сертификатқа сену",
        Msg::Language => "Тіл",
        Msg::Settings => "Баптаулар",
        Msg::Quit => "Шығу",
        Msg::ExpiringTitle => "Сертификаттың мерзімі жақында бітеді",
        Msg::ExpiringBody => "{owner} сертификатының мерзімі {days} күннен кейін бітеді ({date}). Жаңасын pki.gov.kz сайтынан алыңыз.",
        Msg::RefusedTitle => "Сұрау қабылданбады",
        Msg::RefusedBody => "{origin} сұрауы қабылданбады: {reason}",
    }
}

/// "{n} … қол қою" in Kazakh (nouns do not change with the number).
pub(super) fn operation(op: Operation) -> &'static str {
    match op {
        Operation::CmsAttached => "{n} құжатқа қол қою (CMS, құжатпен бірге)",
        Operation::CmsDetached => "{n} құжатқа қол қою (CMS, бөлек)",
        Operation::CmsDigest => "{n} файл хешіне қол қою (бөлек)",
        Operation::CmsCoSign => "Басқалар қол қойған құжатқа өз қолыңызды қосу (CMS)",
        Operation::Xml => "{n} XML құжатқа қол қою",
        Operation::XmlElement => "{n} XML құжаттың элементіне қол қою",
        Operation::Raw => "{n} құжатқа қол қою (қарапайым қолтаңба)",
        Operation::KeyInfo => "Кілт сертификатын сайтқа көрсету",
    }
}
