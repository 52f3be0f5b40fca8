//! finAPI's test banks, as the mock offers them: the banks a world's bank connections may name
//! (checked when a world is loaded), and the catalogue the simulator's bank operations, test-bank
//! imports and web forms show (`sim/banks.rs` renders them).

/// One test bank of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct TestBank {
    pub id: u64,
    pub name: &'static str,
    pub blz: &'static str,
    pub bic: &'static str,
    pub city: &'static str,
    /// The access interfaces the bank offers.
    pub interfaces: &'static [&'static str],
    /// `REDIRECT_APPROACH`, `DECOUPLED_APPROACH`, ... of its XS2A interface.
    pub properties: &'static [&'static str],
    pub popularity: u32,
    pub login_hint: &'static str,
}

/// finAPI's test banks as the mock offers them. Any login works; the PIN is not checked.
pub const TEST_BANKS: &[TestBank] = &[
    TestBank {
        id: 280001,
        name: "finAPI Test Bank",
        blz: "00000000",
        bic: "TESTDEM1XXX",
        city: "München",
        interfaces: &["FINTS_SERVER", "WEB_SCRAPER", "XS2A"],
        properties: &[],
        popularity: 90,
        login_hint: "Any user id and the PIN 123456 log in.",
    },
    TestBank {
        id: 280002,
        name: "finAPI Test Redirect Bank",
        blz: "00000001",
        bic: "TESTDEM2XXX",
        city: "München",
        interfaces: &["XS2A"],
        properties: &["REDIRECT_APPROACH"],
        popularity: 70,
        login_hint: "The login is confirmed on the bank's own page.",
    },
    TestBank {
        id: 280003,
        name: "finAPI Test Decoupled Bank",
        blz: "00000002",
        bic: "TESTDEM3XXX",
        city: "München",
        interfaces: &["XS2A"],
        properties: &["DECOUPLED_APPROACH"],
        popularity: 60,
        login_hint: "The login is confirmed in the bank's app.",
    },
    TestBank {
        id: 280004,
        name: "finAPI Test Embedded Bank",
        blz: "00000003",
        bic: "TESTDEM4XXX",
        city: "München",
        interfaces: &["XS2A"],
        properties: &["DETAILED_CONSENT"],
        popularity: 50,
        login_hint: "Any user id and PIN; the TAN is 123456.",
    },
    TestBank {
        id: 280005,
        name: "finAPI Test Savings Bank",
        blz: "00000004",
        bic: "TESTDEM5XXX",
        city: "Berlin",
        interfaces: &["FINTS_SERVER"],
        properties: &[],
        popularity: 40,
        login_hint: "Any user id and the PIN 123456 log in.",
    },
    TestBank {
        id: 280006,
        name: "finAPI Test Web Scraper Bank",
        blz: "00000005",
        bic: "TESTDEM6XXX",
        city: "Hamburg",
        interfaces: &["WEB_SCRAPER"],
        properties: &[],
        popularity: 30,
        login_hint: "Any user id and the PIN 123456 log in.",
    },
];

/// The test bank with `id`.
pub fn test_bank(id: u64) -> Option<&'static TestBank> {
    TEST_BANKS.iter().find(|b| b.id == id)
}
