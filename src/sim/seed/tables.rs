//! The fixed tables the demo data is drawn from (finAPI's categories, the counterparts of the
//! transactions, the account types), the deterministic dice that draw from them, and IBANs
//! with valid check digits.

/// A small deterministic generator (xorshift) for amounts and picks.
pub struct Dice(u64);

impl Dice {
    pub fn new(label: &str) -> Dice {
        // FNV-1a of the label; never zero.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in label.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        Dice(h | 1)
    }
    pub fn draw(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// A whole number in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.draw() % (hi - lo + 1)
    }
}

/// A German IBAN with correct check digits for a bank code and account number.
pub fn iban(blz: &str, account: &str) -> String {
    let bban = format!("{blz:0>8}{account:0>10}");
    // "DE" is 13 14; check digits 00 while computing.
    let digits = format!("{bban}131400");
    let rem = digits
        .bytes()
        .fold(0u32, |r, d| (r * 10 + u32::from(d - b'0')) % 97);
    format!("DE{:02}{bban}", 98 - rem)
}

/// The user's categories by name, created the first time they are needed. finAPI's own
/// categories (`isCustom: false`), with parents.
pub const CATEGORIES: &[(&str, Option<&str>)] = &[
    ("Einkommen", None),
    ("Gehalt", Some("Einkommen")),
    ("Zinsen", Some("Einkommen")),
    ("Wohnen", None),
    ("Miete", Some("Wohnen")),
    ("Strom und Gas", Some("Wohnen")),
    ("Lebenshaltung", None),
    ("Lebensmittel", Some("Lebenshaltung")),
    ("Restaurants", Some("Lebenshaltung")),
    ("Freizeit", None),
    ("Streaming", Some("Freizeit")),
    ("Mobilität", None),
    ("Tanken", Some("Mobilität")),
    ("Sparen", None),
];

/// finAPI's account types and their ids.
pub const ACCOUNT_TYPES: &[(&str, u64)] = &[
    ("Checking", 1),
    ("Savings", 2),
    ("CreditCard", 3),
    ("Security", 4),
    ("Loan", 5),
    ("Pocket", 6),
    ("Membership", 7),
    ("Bausparen", 8),
];

/// The account type named `name` (any case) and its id.
pub fn account_type(name: &str) -> Option<(&'static str, u64)> {
    ACCOUNT_TYPES
        .iter()
        .copied()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// A counterpart of the demo transactions.
pub struct Counterpart {
    pub name: &'static str,
    pub iban: (&'static str, &'static str),
    pub bic: &'static str,
    pub bank: &'static str,
    pub purpose: &'static str,
    pub category: &'static str,
    /// Cents range (negative: spending).
    pub amount: (i64, i64),
    /// `Lastschrift`, `Überweisung`, `Gutschrift`, `Kartenzahlung`.
    pub kind: &'static str,
    pub zka: &'static str,
    pub sepa: &'static str,
    /// Creditor id of a direct debit.
    pub creditor: Option<&'static str>,
}

/// The counterparts of a checking account's bookings, by index: salary, rent, power, two
/// supermarkets, streaming, fuel, dining.
pub const COUNTERPARTS: &[Counterpart] = &[
    Counterpart {
        name: "Musterfirma GmbH",
        iban: ("70020270", "4711000001"),
        bic: "HYVEDEMMXXX",
        bank: "UniCredit Bank - HypoVereinsbank",
        purpose: "Gehalt",
        category: "Gehalt",
        amount: (280_000, 320_000),
        kind: "Gutschrift",
        zka: "153",
        sepa: "SALA",
        creditor: None,
    },
    Counterpart {
        name: "Hausverwaltung Sonnenhof",
        iban: ("10070000", "0012345678"),
        bic: "DEUTDEBBXXX",
        bank: "Deutsche Bank",
        purpose: "Miete Wohnung 3. OG",
        category: "Miete",
        amount: (-95_000, -95_000),
        kind: "Überweisung",
        zka: "116",
        sepa: "RENT",
        creditor: None,
    },
    Counterpart {
        name: "Stadtwerke Musterstadt",
        iban: ("50050201", "0000222333"),
        bic: "HELADEF1822",
        bank: "Frankfurter Sparkasse",
        purpose: "Abschlag Strom Kundennr. 30211",
        category: "Strom und Gas",
        amount: (-9_500, -6_000),
        kind: "Lastschrift",
        zka: "105",
        sepa: "ELEC",
        creditor: Some("DE98ZZZ09999999999"),
    },
    Counterpart {
        name: "REWE Markt",
        iban: ("37040044", "0532013000"),
        bic: "COBADEFFXXX",
        bank: "Commerzbank",
        purpose: "Kartenzahlung REWE SAGT DANKE",
        category: "Lebensmittel",
        amount: (-9_000, -1_200),
        kind: "Kartenzahlung",
        zka: "106",
        sepa: "GDSV",
        creditor: None,
    },
    Counterpart {
        name: "EDEKA Center",
        iban: ("60050101", "0001234567"),
        bic: "SOLADEST600",
        bank: "BW-Bank",
        purpose: "Kartenzahlung EDEKA",
        category: "Lebensmittel",
        amount: (-6_500, -900),
        kind: "Kartenzahlung",
        zka: "106",
        sepa: "GDSV",
        creditor: None,
    },
    Counterpart {
        name: "Netflix International B.V.",
        iban: ("50070010", "0175526300"),
        bic: "DEUTDEFFXXX",
        bank: "Deutsche Bank",
        purpose: "Netflix Monatsabo",
        category: "Streaming",
        amount: (-1_799, -1_299),
        kind: "Lastschrift",
        zka: "105",
        sepa: "SUBS",
        creditor: Some("NL11ZZZ332417800000"),
    },
    Counterpart {
        name: "Aral Tankstelle",
        iban: ("43060967", "0008877665"),
        bic: "GENODEM1GLS",
        bank: "GLS Gemeinschaftsbank",
        purpose: "Kartenzahlung ARAL",
        category: "Tanken",
        amount: (-8_500, -3_000),
        kind: "Kartenzahlung",
        zka: "106",
        sepa: "FUEL",
        creditor: None,
    },
    Counterpart {
        name: "Trattoria da Mario",
        iban: ("70150000", "0000123987"),
        bic: "SSKMDEMMXXX",
        bank: "Stadtsparkasse München",
        purpose: "Kartenzahlung Trattoria",
        category: "Restaurants",
        amount: (-7_800, -1_900),
        kind: "Kartenzahlung",
        zka: "106",
        sepa: "GDSV",
        creditor: None,
    },
];

/// The counterpart for savings bookings (the user's own checking account at the same bank).
pub const OWN_TRANSFER: Counterpart = Counterpart {
    name: "Eigene Umbuchung",
    iban: ("00000000", "1000000001"),
    bic: "TESTDEM1XXX",
    bank: "finAPI Test Bank",
    purpose: "Sparrate",
    category: "Sparen",
    amount: (20_000, 20_000),
    kind: "Gutschrift",
    zka: "166",
    sepa: "CASH",
    creditor: None,
};

/// The interest the test bank pays on savings.
pub const INTEREST: Counterpart = Counterpart {
    name: "finAPI Test Bank",
    iban: ("00000000", "9999999999"),
    bic: "TESTDEM1XXX",
    bank: "finAPI Test Bank",
    purpose: "Zinsgutschrift",
    category: "Zinsen",
    amount: (150, 900),
    kind: "Gutschrift",
    zka: "814",
    sepa: "INTE",
    creditor: None,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_have_valid_check_digits() {
        // A well-known valid German IBAN.
        assert_eq!(iban("37040044", "0532013000"), "DE89370400440532013000");
    }

    #[test]
    fn dice_are_deterministic() {
        let (mut a, mut b) = (Dice::new("alice"), Dice::new("alice"));
        assert_eq!(a.draw(), b.draw());
        assert_ne!(Dice::new("alice").draw(), Dice::new("bob").draw());
    }
}
