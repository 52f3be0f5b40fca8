//! The mock's catalogue of finAPI test banks: the same for every client and user, read by the
//! bank operations, by the test-bank imports and by the web forms that name a bank.
//!
//! The catalogue is built once per API version and kept serialized, because the bank list is
//! one of the hot paths of a realistic load: a request only filters, pages and concatenates.

use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::model::ApiVersion;
use crate::sim::conform;
use crate::sim::dates::moment;

pub use crate::world::test_banks::{test_bank, TestBank, TEST_BANKS};

/// When the catalogue last talked to its banks: a fixed moment, so bodies are stable.
const LAST_CONTACT: &str = "2026-01-05T08:30:00";

fn timestamp(version: ApiVersion) -> String {
    let t = chrono::NaiveDateTime::parse_from_str(LAST_CONTACT, "%Y-%m-%dT%H:%M:%S")
        .expect("constant timestamp")
        .and_utc();
    moment(version, t)
}

/// A bank as the API shows it (before the shapes fill what the mock has no opinion on).
pub fn bank_json(bank: &TestBank, version: ApiVersion) -> Value {
    let at = timestamp(version);
    let interfaces: Vec<Value> = bank
        .interfaces
        .iter()
        .map(|i| {
            let xs2a = *i == "XS2A";
            let credentials = if bank.properties.contains(&"REDIRECT_APPROACH") {
                vec![json!({ "label": "Onlinebanking-ID", "isSecret": false, "isVolatile": false })]
            } else {
                vec![
                    json!({ "label": "Onlinebanking-ID", "isSecret": false, "isVolatile": false }),
                    json!({ "label": "PIN", "isSecret": true, "isVolatile": false }),
                ]
            };
            json!({
                interface_key(version): i,
                "tppAuthenticationGroup": null,
                "loginCredentials": credentials,
                "properties": if xs2a { bank.properties.to_vec() } else { Vec::new() },
                "loginHint": bank.login_hint,
                "health": 100,
                "lastCommunicationAttempt": at,
                "lastSuccessfulCommunication": at,
                "isMoneyTransferSupported": true,
                "isAisSupported": true,
                "paymentCapabilities": {
                    "sepaMoneyTransfer": true,
                    "sepaInstantMoneyTransfer": xs2a,
                    "sepaCollectiveMoneyTransfer": true,
                    "sepaFutureDatedMoneyTransfer": true,
                    "sepaStandingOrder": true,
                },
                "aisAccountTypes": ["Checking", "Savings", "CreditCard", "Security"],
            })
        })
        .collect();
    let sources: Vec<&str> = bank
        .interfaces
        .iter()
        .copied()
        .filter(|i| *i != "XS2A")
        .collect();
    let pin_field = (!bank.properties.contains(&"REDIRECT_APPROACH")).then_some("PIN");
    json!({
        "id": bank.id,
        "name": bank.name,
        "loginHint": bank.login_hint,
        "bic": bank.bic,
        "blzs": [bank.blz],
        "blz": bank.blz,
        "location": "DE",
        "city": bank.city,
        "isSupported": true,
        "isTestBank": true,
        "popularity": bank.popularity,
        "health": 100,
        "loginFieldUserId": "Onlinebanking-ID",
        "loginFieldCustomerId": null,
        "loginFieldPin": pin_field,
        "pinsAreVolatile": false,
        "isCustomerIdPassword": false,
        "supportedDataSources": sources,
        "interfaces": interfaces,
        "bankGroup": null,
        "lastCommunicationAttempt": at,
        "lastSuccessfulCommunication": at,
        "isBeta": false,
    })
}

/// One test bank as a version shows it: the bank, its JSON conformed to the version's Bank
/// shape, and that JSON serialized.
pub type Shown = (&'static TestBank, Value, Vec<u8>);

/// The catalogue as `version` shows it, built once per process.
pub fn shown(version: ApiVersion) -> &'static [Shown] {
    static V1: OnceLock<Vec<Shown>> = OnceLock::new();
    static V2: OnceLock<Vec<Shown>> = OnceLock::new();
    let cell = match version {
        ApiVersion::V1 => &V1,
        ApiVersion::V2 => &V2,
    };
    cell.get_or_init(|| {
        TEST_BANKS
            .iter()
            .map(|b| {
                let value = conform::model(version, "Bank", bank_json(b, version));
                let bytes = serde_json::to_vec(&value).unwrap_or_default();
                (b, value, bytes)
            })
            .collect()
    })
}

/// A bank as the API shows it, complete.
pub fn bank(version: ApiVersion, id: u64) -> Option<Value> {
    shown(version)
        .iter()
        .find(|(b, _, _)| b.id == id)
        .map(|(_, v, _)| v.clone())
}

/// The name of an interface's banking-interface field: V1 says `interface`, V2
/// `bankingInterface` (in banks', accounts' and bank connections' interface lists alike).
pub fn interface_key(version: ApiVersion) -> &'static str {
    match version {
        ApiVersion::V1 => "interface",
        ApiVersion::V2 => "bankingInterface",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_banks_have_unique_ids_and_codes() {
        let mut ids: Vec<u64> = TEST_BANKS.iter().map(|b| b.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), TEST_BANKS.len());
        let mut blzs: Vec<&str> = TEST_BANKS.iter().map(|b| b.blz).collect();
        blzs.sort_unstable();
        blzs.dedup();
        assert_eq!(blzs.len(), TEST_BANKS.len());
        assert!(TEST_BANKS.iter().all(|b| b.bic.len() == 11));
    }
}
