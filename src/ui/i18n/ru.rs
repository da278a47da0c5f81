//! Русские тексты.

use super::doctor::DoctorMsg;
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
        Msg::WrongPinTriesLeft => {
            "Неверный PIN-код. До блокировки PIN-кода карты осталось попыток: {n}."
        }
        Msg::PinFormat => "PIN-код должен состоять из 4–8 цифр.",
        Msg::NewPasswordRule => "Пароль должен содержать не менее 6 символов: латинские заглавные и строчные буквы и цифры.",
        Msg::AsksNewKey => "просит создать новый ключ для сертификата",
        Msg::AsksInstall => "передаёт сертификат вашего нового ключа",
        Msg::KeyFor => "Для",
        Msg::KeyGoesTo => "Хранилище ключа",
        Msg::KeyFolder => "Папка для файла ключа",
        Msg::ChooseFolder => "Выбрать папку…",
        Msg::ChooseFolderFirst => "Сначала выберите папку для ключа.",
        Msg::NewPassword => "Новый пароль",
        Msg::RepeatPassword => "Повторите пароль",
        Msg::PasswordsDiffer => "Пароли не совпадают.",
        Msg::EnterSecret => "Введите пароль или PIN-код.",
        Msg::CreateKey => "Создать ключ",
        Msg::InstallCertificate => "Установить",
        Msg::ExperimentalStore => "экспериментально",
        Msg::StorePinTries => "PIN-код: осталось попыток: {n}",
        Msg::StorePinBlocked => "PIN-код заблокирован: разблокировать его может ЦОН",
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

/// Русский текст сообщения doctor.
pub(super) fn doctor(msg: DoctorMsg) -> &'static str {
    use DoctorMsg::*;
    match msg {
        MarkOk => "норма",
        MarkWarning => "внимание",
        MarkProblem => "проблема",
        Fix => "Как исправить",
        TopicDaemon => "Служба",
        TopicPort => "Порт",
        TopicTrust => "Сертификат",
        TopicNativeHost => "Хост расширения браузера",
        TopicTokens => "Токены",
        TopicPolicy => "Политика",
        DaemonRunning => "Qoltanba {version} работает на {url}.",
        DaemonForeignCa => "Qoltanba отвечает на {url}, но её сертификат выпущен не локальным УЦ из {ca}: браузеры, доверяющие этому УЦ, его отвергнут.",
        FixForeignCa => "Порт занят другой копией Qoltanba (другого пользователя или с другим каталогом данных): остановите её, затем запустите Qoltanba от этого пользователя (systemctl --user restart qoltanba).",
        DaemonNotRunning => "Qoltanba не запущена на {url}.",
        FixStart => "Запустите её: qoltanba run, или systemctl --user start qoltanba, или выйдите из системы и войдите снова.",
        FixStartAfterPort => "Сначала освободите порт (см. строку о порте), затем запустите Qoltanba: qoltanba run или systemctl --user start qoltanba.",
        PortFree => "Порт {port} свободен.",
        PortOurs => "Порт {port} занят Qoltanba.",
        PortHeld => "Порт {port} занят другой программой: {program}.",
        PortHeldUnknown => "Порт {port} занят другой программой, которую не удалось определить (возможно, другого пользователя).",
        FixPortHeld => "Остановите эту программу (или укажите Qoltanba другой адрес в [server] listen), затем запустите Qoltanba.",
        PortNcaLayer => "Порт {port} занят официальным NCALayer ({program}). Обе программы используют порт 13579, поэтому одновременно может работать только одна из них; Qoltanba отвечает тем же порталам.",
        FixNcaLayer => "Закройте NCALayer (значок в трее, «Выход») и отключите его автозапуск, затем запустите Qoltanba. Чтобы вернуться, остановите Qoltanba и запустите NCALayer.",
        TrustOk => "Локальный УЦ является доверенным в {store}.",
        TrustMissing => "Локальный УЦ не является доверенным в {store}: браузеры, использующие это хранилище, откажутся подключаться к wss://127.0.0.1:13579.",
        TrustWrongFlags => "Локальный УЦ есть в {store}, но с флагами доверия {flags} вместо C,,: браузеры не будут доверять ему соединение.",
        FixTrust => "Выполните: qoltanba cert install (или пункт «Доверять сертификату» в трее), затем перезапустите браузер.",
        TrustNoCa => "Локального УЦ ещё нет ({ca}).",
        FixNoCa => "Qoltanba создаёт его при первом запуске и добавляет в браузеры: запустите службу.",
        TrustBadCa => "Не удаётся прочитать локальный УЦ {ca}: {reason}",
        FixBadCa => "Переместите каталог tls рядом с ним в сторону и снова запустите Qoltanba: она создаст новый УЦ; затем выполните qoltanba cert install.",
        TrustNoStores => "Хранилище сертификатов браузера не найдено (~/.pki/nssdb, профили Firefox).",
        FixNoStores => "Откройте браузер хотя бы раз или выполните qoltanba cert install (она создаст ~/.pki/nssdb).",
        TrustNoCertutil => "certutil не установлен, поэтому хранилища сертификатов браузеров нельзя ни проверить, ни изменить.",
        FixNoCertutil => "Установите его (Debian, Ubuntu: sudo apt install libnss3-tools), затем выполните qoltanba cert install.",
        TrustUnchecked => "Не удаётся проверить {store}: {reason}",
        HostOk => "{browser}: хост {host} зарегистрирован ({manifest}).",
        HostMissing => "{browser}: хост {host} не зарегистрирован (искали в {places}).",
        HostInvalid => "{browser}: {manifest} неверен: {reason}.",
        FixHost => "Выполните `qoltanba install-browser-support`: команда регистрирует хост во всех браузерах этого пользователя (пакет Qoltanba делает это для всех пользователей).",
        HostNoBrowser => "У этого пользователя не найдено профилей Chrome, Chromium, Edge или Firefox, поэтому хост расширения пока не нужен.",
        ReasonNotJson => "это не JSON-манифест",
        ReasonWrongName => "его имя не {host}",
        ReasonNotStdio => "его тип не stdio",
        ReasonNoProgram => "программы {path} не существует",
        ReasonNotExecutable => "программа {path} не является исполняемой",
        ReasonWrongExtension => "он не разрешает расширение Qoltanba",
        TokensNone => "Ни один модуль PKCS#11 для токенов не установлен; ключи в файлах (.p12) работают и без него.",
        TokenModule => "{store}: модуль {module}: считывателей: {readers}; токены: {tokens}.",
        NoneWord => "нет",
        TokenModuleUnusable => "{store}: модуль {module} установлен, но не загружается.",
        FixTokenModule => "Переустановите драйвер токена или исправьте путь к модулю в [pkcs11.modules] конфигурации.",
        PolicyInForce => "режим {mode}; разрешённых источников: {count}; файл политики ИТ: {file}; конфигурация пользователя: {config}.",
        PolicyRegistry => "ключ реестра ИТ: {key}.",
        PolicySetByIt => "{mode} (задан ИТ)",
        SourceRead => "{path} (прочитан)",
        SourceAbsent => "{path} (отсутствует)",
        PolicyInvalid => "Не удаётся прочитать политику ИТ: {reason}",
        FixPolicy => "Попросите ИТ-отдел исправить файл политики или ключ реестра.",
        SummaryOk => "Проблем не найдено.",
        SummaryProblems => "Найдено проблем: {n}.",
    }
}
