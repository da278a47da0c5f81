//! Русские тексты.

use super::Msg;
use crate::service::consent::Operation;

/// The Russian text of `msg`.
pub(super) fn text(msg: Msg) -> &'static str {
    match msg {
        Msg::DialogTitle => "запрос подписи",
        Msg::RequestedBy => "Запрашивает",
        Msg::LocalProgram => "программа на этом компьютере (без веб-источника)",
        Msg::FirstSeen => "Первый запрос от этого сайта. Внимательно проверьте адрес.",
        Msg::NotTrusted => "Этого сайта нет в списке доверенных.",
        Msg::RememberSite => "Доверять этому сайту в дальнейшем",
        Msg::Trusted => "Доверенный сайт",
        Msg::DocumentSize => "Документ {n}: {size} байт",
        Msg::DigestOnly => {
            "Сайт прислал только хеш этого документа: его содержимое показать нельзя."
        }
        Msg::BinaryData => "Двоичные данные: просмотр невозможен.",
        Msg::KeyStore => "Хранилище ключей",
        Msg::StoreFile => "Файл ключа (.p12)",
        Msg::ChooseFile => "Выбрать файл…",
        Msg::RecentFiles => "Недавние",
        Msg::NoTokens => "Токен не подключён",
        Msg::Password => "Пароль",
        Msg::Pin => "PIN-код",
        Msg::Sign => "Подписать",
        Msg::Cancel => "Отмена",
        Msg::UseKey => "Использовать этот ключ",
        Msg::WrongPassword => "Неверный пароль. Попробуйте ещё раз.",
        Msg::TriesLeft => "Осталось попыток: {left}",
        Msg::NoMatchingKey => "В этом хранилище нет ключа, который принимает сайт.",
        Msg::WrongPin => "Неверный PIN-код. Попробуйте ещё раз.",
        Msg::WrongPinFewTries => {
            "Неверный PIN-код. Токен сообщает, что до блокировки PIN-кода осталось мало попыток."
        }
        Msg::WrongPinLastTry => {
            "Неверный PIN-код. Осталась одна попытка: следующий неверный PIN-код заблокирует токен."
        }
        Msg::KeyNotAccepted => "Ключ {alias} не подходит для этого сайта.",
        Msg::StorageNotAllowed => "Сайт не принимает ключи из хранилища {store}.",
        Msg::NoToken => "Токен {store} не подключён.",
        Msg::KeyNotTrusted => "Сертификат этого ключа не принимается: {reason}",
        Msg::Revoked => "Сертификат этого ключа отозван {at}{reason}.",
        Msg::RevocationUnknown => "Неизвестно, отозван ли сертификат этого ключа ({reason}).",
        Msg::ChooseStoreFile => "Выберите файл хранилища ключей.",
        Msg::Unreadable => "Не удалось прочитать {path}: {reason}",
        Msg::StoreUnusable => "Хранилище ключей нельзя использовать: {reason}",
        Msg::Keys => "Ключи",
        Msg::Owner => "Владелец",
        Msg::IinBin => "ИИН/БИН",
        Msg::Role => "Назначение",
        Msg::Issuer => "Издатель",
        Msg::Validity => "Действителен",
        Msg::Expired => "ИСТЁК",
        Msg::NotYetValid => "ЕЩЁ НЕ ДЕЙСТВУЕТ",
        Msg::RoleSignature => "подпись",
        Msg::RoleAuthentication => "аутентификация",
        Msg::AsksForFile => "просит выбрать файл ({extension})",
        Msg::KeysWanted => "Сайт принимает: {what}",
        Msg::ChooseStoreFirst => "Сначала выберите файл ключа.",
        Msg::StateIdle => "Qoltanba: ожидание порталов",
        Msg::StateWaiting => "Qoltanba: ожидает запрос подписи",
        Msg::StateError => "Qoltanba: произошла ошибка, см. журнал",
        Msg::Listening => "Адрес: {address}",
        Msg::StoresSeen => "Хранилища: {stores}",
        Msg::OpenHistory => "История подписей",
        Msg::TrustCertificate => "Доверять локальному сертификату в браузерах",
        Msg::Language => "Язык",
        Msg::Settings => "Настройки",
        Msg::Quit => "Выход",
        Msg::ExpiringTitle => "Сертификат скоро истекает",
        Msg::ExpiringBody => {
            "Сертификат {owner} истекает через {days} дн. ({date}). Получите новый на pki.gov.kz."
        }
        Msg::RefusedTitle => "Запрос отклонён",
        Msg::RefusedBody => "Запрос {origin} отклонён: {reason}",
    }
}

/// Russian plural form: 0 = one (1, 21), 1 = few (2–4, 22–24), 2 = many.
fn plural(count: usize) -> usize {
    match (count % 10, count % 100) {
        (1, n) if n != 11 => 0,
        (2..=4, n) if !(12..=14).contains(&n) => 1,
        _ => 2,
    }
}

/// "Подписать {n} …" in Russian with the right plural.
pub(super) fn operation(op: Operation, count: usize) -> &'static str {
    let form = plural(count);
    match op {
        Operation::CmsAttached => [
            "Подписать {n} документ (CMS, с документом)",
            "Подписать {n} документа (CMS, с документами)",
            "Подписать {n} документов (CMS, с документами)",
        ][form],
        Operation::CmsDetached => [
            "Подписать {n} документ (CMS, отсоединённая)",
            "Подписать {n} документа (CMS, отсоединённая)",
            "Подписать {n} документов (CMS, отсоединённая)",
        ][form],
        Operation::CmsDigest => [
            "Подписать хеш {n} файла (отсоединённая)",
            "Подписать хеши {n} файлов (отсоединённая)",
            "Подписать хеши {n} файлов (отсоединённая)",
        ][form],
        Operation::CmsCoSign => "Добавить свою подпись к документу, подписанному другими (CMS)",
        Operation::Xml => [
            "Подписать {n} XML-документ",
            "Подписать {n} XML-документа",
            "Подписать {n} XML-документов",
        ][form],
        Operation::XmlElement => [
            "Подписать элемент {n} XML-документа",
            "Подписать элемент в {n} XML-документах",
            "Подписать элемент в {n} XML-документах",
        ][form],
        Operation::Raw => [
            "Подписать {n} документ (простая подпись)",
            "Подписать {n} документа (простая подпись)",
            "Подписать {n} документов (простая подпись)",
        ][form],
        Operation::KeyInfo => "Показать сайту сертификат ключа",
    }
}
