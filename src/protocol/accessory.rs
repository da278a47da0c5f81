//! The accessory module `kz.gov.pki.ncalayerservices.accessory` (`ncalayer-protocol.md` §5):
//! what a page may ask about the installation. Replies are bare JSON, as in NCALayer.
//!
//! | method | reply |
//! |---|---|
//! | `getBundles` | `{"kz.gov.pki.knca.basics":"<v>","kz.gov.pki.knca.commonUtils":"<v>","kz.gov.pki.osgi.layer.common":"<v>","kz.gov.pki.osgi.layer.websocket":"<v>"}`, `<v>` = this crate's version (our choice: the bundle names portals look for, all served by this one program) |
//! | `getServices` | `{"services":["kz.gov.pki.ncalayerservices.accessory"]}` (we serve no `kz.gov.pki.cms.CMSSignUtil`) |
//! | anything else (`installBundle`, `showSettings`, `showBundleManager`, …) | `{"success":false,"errorCode":"METHOD_NOT_FOUND"}` (our choice; there are no bundles to install or windows to show) |

use serde::Serialize;

use super::envelope::{self, Request};

/// The module name.
pub const MODULE: &str = "kz.gov.pki.ncalayerservices.accessory";

/// The version reported for every bundle.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `getBundles`: symbolic name -> version, in a fixed order.
#[derive(Serialize)]
struct Bundles {
    #[serde(rename = "kz.gov.pki.knca.basics")]
    basics: &'static str,
    #[serde(rename = "kz.gov.pki.knca.commonUtils")]
    common_utils: &'static str,
    #[serde(rename = "kz.gov.pki.osgi.layer.common")]
    layer_common: &'static str,
    #[serde(rename = "kz.gov.pki.osgi.layer.websocket")]
    websocket: &'static str,
}

/// `getServices`.
#[derive(Serialize)]
struct Services {
    services: [&'static str; 1],
}

/// `{"success":false,"errorCode":…}`.
#[derive(Serialize)]
struct Failure {
    success: bool,
    #[serde(rename = "errorCode")]
    error_code: &'static str,
}

/// Answers one accessory request.
pub fn handle(request: &Request) -> String {
    match request.get("method").and_then(serde_json::Value::as_str) {
        Some("getBundles") => envelope::to_text(&Bundles {
            basics: VERSION,
            common_utils: VERSION,
            layer_common: VERSION,
            websocket: VERSION,
        }),
        Some("getServices") => envelope::to_text(&Services { services: [MODULE] }),
        _ => envelope::to_text(&Failure { success: false, error_code: "METHOD_NOT_FOUND" }),
    }
}

#[cfg(test)]
mod tests {
    use crate::protocol::test_support::Harness;

    #[tokio::test]
    async fn get_bundles_lists_our_version() {
        let h = Harness::new();
        let v = env!("CARGO_PKG_VERSION");
        assert_eq!(
            h.reply(r#"{"module":"kz.gov.pki.ncalayerservices.accessory","method":"getBundles"}"#)
                .await,
            format!(
                r#"{{"kz.gov.pki.knca.basics":"{v}","kz.gov.pki.knca.commonUtils":"{v}","kz.gov.pki.osgi.layer.common":"{v}","kz.gov.pki.osgi.layer.websocket":"{v}"}}"#
            )
        );
    }

    #[tokio::test]
    async fn get_services_and_unknown_methods() {
        let h = Harness::new();
        assert_eq!(
            h.reply(r#"{"module":"kz.gov.pki.ncalayerservices.accessory","method":"getServices"}"#)
                .await,
            r#"{"services":["kz.gov.pki.ncalayerservices.accessory"]}"#
        );
        assert_eq!(
            h.reply(r#"{"module":"kz.gov.pki.ncalayerservices.accessory","method":"installBundle","symname":"x"}"#)
                .await,
            r#"{"success":false,"errorCode":"METHOD_NOT_FOUND"}"#
        );
    }
}
