//! Realistic demo data: what a user gets from importing a test bank (a bank connection with its
//! interfaces, accounts, two months of categorized transactions with counterparts, securities)
//! and what a demo user of the world has besides (categories, labels, notification rules,
//! payments, standing orders, a web form).
//!
//! Everything is derived from a seed (the user id), so a world gives the same data every run,
//! and every id refers to a record of the same user: a transaction's `accountId` is one of the
//! user's accounts, an account's `bankConnectionId` one of the user's connections.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{json, Value};

use crate::model::ApiVersion;
use crate::sim::banks::{self, interface_key, TestBank};
use crate::sim::dates::{day, moment};
use crate::sim::state::{MandatorIx, Owner, Record, State};
use crate::world::{AccountSpec, UserSpec};

/// A small deterministic generator (xorshift) for amounts and picks.
pub struct Seed(u64);

impl Seed {
    pub fn new(label: &str) -> Seed {
        // FNV-1a of the label; never zero.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in label.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        Seed(h | 1)
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

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
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
const CATEGORIES: &[(&str, Option<&str>)] = &[
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

/// The category record named `name` of `owner`, creating finAPI's categories if the user has
/// none yet.
fn category(state: &mut State, owner: &Owner, name: &str) -> Value {
    let key = (owner.clone(), "categories".to_string());
    let has = state
        .resources
        .get(&key)
        .is_some_and(|r| r.values().any(|c| c["isCustom"] == false));
    if !has {
        for (n, parent) in CATEGORIES {
            let parent_rec = parent.map(|p| find_by_name(state, &key, p));
            let (pid, pname) = match parent_rec {
                Some(Some(p)) => (p["id"].clone(), p["name"].clone()),
                _ => (Value::Null, Value::Null),
            };
            let id = state.insert_resource(
                owner.clone(),
                "categories",
                json!({ "name": n, "parentId": pid, "parentName": pname, "isCustom": false, "children": [] }),
            );
            if let Some(pid) = pid.as_u64() {
                if let Some(p) = state
                    .existing_collection_mut(&key)
                    .and_then(|r| r.get_mut(&pid))
                {
                    if let Some(children) = p["children"].as_array_mut() {
                        children.push(Value::from(id));
                    }
                }
            }
        }
    }
    find_by_name(state, &key, name).unwrap_or(Value::Null)
}

fn find_by_name(state: &State, key: &(Owner, String), name: &str) -> Option<Value> {
    state
        .resources
        .get(key)?
        .values()
        .find(|c| c["name"] == name)
        .map(Record::to_value)
}

/// A label of `owner` named `name`, created if missing.
fn label(state: &mut State, owner: &Owner, name: &str) -> Value {
    let key = (owner.clone(), "labels".to_string());
    if let Some(l) = find_by_name(state, &key, name) {
        return l;
    }
    let id = state.insert_resource(owner.clone(), "labels", json!({ "name": name }));
    state.resources[&key][&id].to_value()
}

/// A counterpart of the demo transactions.
struct Counterpart {
    name: &'static str,
    iban: (&'static str, &'static str),
    bic: &'static str,
    bank: &'static str,
    purpose: &'static str,
    category: &'static str,
    /// Cents range (negative: spending).
    amount: (i64, i64),
    /// `Lastschrift`, `Überweisung`, `Gutschrift`, `Kartenzahlung`.
    kind: &'static str,
    zka: &'static str,
    sepa: &'static str,
    /// Creditor id of a direct debit.
    creditor: Option<&'static str>,
}

const COUNTERPARTS: &[Counterpart] = &[
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

/// Where a transaction goes.
struct Booking<'a> {
    account: u64,
    holder: &'a str,
    own_iban: &'a str,
    date: NaiveDate,
    cents: i64,
    counterpart: &'a Counterpart,
}

fn add_transaction(
    state: &mut State,
    owner: &Owner,
    version: ApiVersion,
    now: DateTime<Utc>,
    b: Booking<'_>,
    labels: Vec<Value>,
) -> u64 {
    let c = b.counterpart;
    let category = category(state, owner, c.category);
    let amount = b.cents as f64 / 100.0;
    let mut t = json!({
        "accountId": b.account,
        "valueDate": day(version, b.date),
        "bankBookingDate": day(version, b.date),
        "finapiBookingDate": day(version, b.date),
        "amount": amount,
        "currency": "EUR",
        "purpose": c.purpose,
        "counterpartName": c.name,
        "counterpartAccountNumber": c.iban.1,
        "counterpartIban": iban(c.iban.0, c.iban.1),
        "counterpartBlz": c.iban.0,
        "counterpartBic": c.bic,
        "counterpartBankName": c.bank,
        "type": c.kind,
        "typeCodeZka": c.zka,
        "sepaPurposeCode": c.sepa,
        "endToEndReference": format!("E2E-{}-{}", b.date.format("%Y%m%d"), b.account),
        "category": category,
        "labels": labels,
        "isPotentialDuplicate": false,
        "isAdjustingEntry": false,
        "isNew": false,
        "importDate": moment(version, now),
        "children": [],
    });
    if let Some(creditor) = c.creditor {
        t["counterpartCreditorId"] = Value::from(creditor);
        t["counterpartMandateReference"] = Value::from(format!("MREF-{}", b.account));
        t["counterpartDebitorId"] = Value::from(b.holder);
    }
    let _ = b.own_iban;
    state.insert_resource(owner.clone(), "transactions", t)
}

/// One account to create in an import.
struct NewAccount<'a> {
    name: &'a str,
    kind: &'static str,
    kind_id: u64,
    number: String,
    balance_cents: i64,
    overdraft_limit: Option<f64>,
}

const ACCOUNT_TYPES: &[(&str, u64)] = &[
    ("Checking", 1),
    ("Savings", 2),
    ("CreditCard", 3),
    ("Security", 4),
    ("Loan", 5),
    ("Pocket", 6),
    ("Membership", 7),
    ("Bausparen", 8),
];

fn account_type(name: &str) -> Option<(&'static str, u64)> {
    ACCOUNT_TYPES
        .iter()
        .copied()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
}

#[allow(clippy::too_many_arguments)]
fn add_account(
    state: &mut State,
    owner: &Owner,
    version: ApiVersion,
    now: DateTime<Utc>,
    bank: &TestBank,
    connection: u64,
    holder: &str,
    a: &NewAccount<'_>,
) -> (u64, String) {
    let own_iban = iban(bank.blz, &a.number);
    let balance = a.balance_cents as f64 / 100.0;
    let at = moment(version, now);
    let payments = a.kind == "Checking";
    let interfaces: Vec<Value> = bank
        .interfaces
        .iter()
        .map(|i| {
            let mut caps = vec!["DATA_DOWNLOAD"];
            if payments {
                caps.extend(["SEPA_MONEY_TRANSFER", "SEPA_COLLECTIVE_MONEY_TRANSFER"]);
            }
            json!({
                interface_key(version): i,
                "status": "UPDATED",
                "capabilities": caps,
                "paymentCapabilities": { "sepaInstantMoneyTransfer": *i == "XS2A" && payments },
                "lastSuccessfulUpdate": at,
                "lastUpdateAttempt": at,
            })
        })
        .collect();
    let overdraft = a.overdraft_limit.map(|_| 0.0);
    let available = round2(balance + a.overdraft_limit.unwrap_or(0.0));
    let record = json!({
        "bankConnectionId": connection,
        "accountName": a.name,
        "iban": own_iban,
        "accountNumber": a.number,
        "accountHolderName": holder,
        "accountCurrency": "EUR",
        "accountTypeId": a.kind_id,
        "accountTypeName": a.kind,
        "accountType": a.kind,
        "balance": balance,
        "overdraft": overdraft,
        "overdraftLimit": a.overdraft_limit,
        "availableFunds": available,
        "lastSuccessfulUpdate": at,
        "lastUpdateAttempt": at,
        "isNew": false,
        "status": "UPDATED",
        "supportedOrders": if payments { vec!["SEPA_MONEY_TRANSFER", "SEPA_BASIC_DIRECT_DEBIT"] } else { Vec::new() },
        "interfaces": interfaces,
        "clearingAccounts": [],
        "isSeized": false,
    });
    let id = state.insert_resource(owner.clone(), "accounts", record);
    (id, own_iban)
}

/// Spread bookings over the last 60 days for a checking account; returns the sum in cents.
#[allow(clippy::too_many_arguments)]
fn checking_history(
    state: &mut State,
    owner: &Owner,
    version: ApiVersion,
    now: DateTime<Utc>,
    account: u64,
    holder: &str,
    own_iban: &str,
    seed: &mut Seed,
) -> i64 {
    let today = now.date_naive();
    let mut sum = 0;
    let holiday = label(state, owner, "Urlaub");
    let tax = label(state, owner, "Steuer");
    for month in 0..2i64 {
        let base = today - Duration::days(30 * month);
        // Salary, rent, power, streaming once a month; shopping, fuel and dining in between.
        let fixed = [(0usize, 28i64), (1, 27), (2, 25), (5, 20)];
        let mut bookings: Vec<(usize, i64)> = fixed.to_vec();
        for _ in 0..8 {
            let pick = [3usize, 4, 3, 6, 7][seed.between(0, 4) as usize];
            bookings.push((pick, seed.between(0, 29) as i64));
        }
        for (ix, back) in bookings {
            let c = &COUNTERPARTS[ix];
            let date = base - Duration::days(back);
            if date > today {
                continue;
            }
            let (lo, hi) = c.amount;
            let cents = lo + (seed.draw() % ((hi - lo) as u64 + 1)) as i64;
            let labels = match (ix, seed.between(0, 5)) {
                (7, 0) => vec![holiday.clone()],
                (0, _) if month == 0 => vec![tax.clone()],
                _ => Vec::new(),
            };
            sum += cents;
            add_transaction(
                state,
                owner,
                version,
                now,
                Booking {
                    account,
                    holder,
                    own_iban,
                    date,
                    cents,
                    counterpart: c,
                },
                labels,
            );
        }
    }
    sum
}

/// The counterpart for savings bookings (the user's own checking account at the same bank).
const OWN_TRANSFER: Counterpart = Counterpart {
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

const INTEREST: Counterpart = Counterpart {
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

/// Import a test bank for `owner`: a connection with its interfaces, a checking, a savings and a
/// securities account (or the accounts given), their transactions and securities. Returns the
/// connection's id.
pub fn import(
    state: &mut State,
    owner: &Owner,
    version: ApiVersion,
    bank: &TestBank,
    now: DateTime<Utc>,
    holder: &str,
    given: Option<&[AccountSpec]>,
) -> u64 {
    let seed_label = match owner {
        Owner::User(m, u) => format!("{m}/{u}/{}", bank.id),
        Owner::Mandator(m) => format!("{m}/{}", bank.id),
    };
    let mut seed = Seed::new(&seed_label);
    let at = moment(version, now);
    let interfaces: Vec<Value> = bank
        .interfaces
        .iter()
        .map(|i| {
            json!({
                interface_key(version): i,
                "loginCredentials": [{ "label": "Onlinebanking-ID", "value": holder }],
                "twoStepProcedures": [],
                "lastManualUpdate": { "result": "OK", "timestamp": at },
                "userActionRequired": false,
                "maxDaysForDownload": 90,
            })
        })
        .collect();
    let connection = state.insert_resource(
        owner.clone(),
        "bankConnections",
        json!({
            "bankId": bank.id,
            "name": bank.name,
            "bankingUserId": holder,
            "bankingPin": "XXXXX",
            "type": "DEMO",
            "updateStatus": "READY",
            "categorizationStatus": "READY",
            "lastManualUpdate": { "result": "OK", "timestamp": at },
            "ibanOnlyMoneyTransferSupported": true,
            "ibanOnlyDirectDebitSupported": true,
            "collectiveMoneyTransferSupported": true,
            "twoStepProcedures": [],
            "interfaces": interfaces,
            "accountIds": [],
            "owners": [{ "firstName": holder, "lastName": "Mustermann", "country": "DE", "city": bank.city }],
            "bank": banks::bank(version, bank.id).unwrap_or_else(|| banks::bank_json(bank, version)),
            "furtherLoginNotRecommended": false,
        }),
    );
    let number_base = 1_000_000_000 + seed.between(0, 8_999_999) * 10;
    let mut account_ids = Vec::new();
    match given {
        Some(specs) => {
            for (i, spec) in specs.iter().enumerate() {
                let (kind, kind_id) = account_type(&spec.kind).unwrap_or(("Checking", 1));
                let number = spec
                    .number
                    .clone()
                    .unwrap_or_else(|| (number_base + i as u64).to_string());
                let new = NewAccount {
                    name: &spec.name,
                    kind,
                    kind_id,
                    number,
                    balance_cents: (spec.balance * 100.0).round() as i64,
                    overdraft_limit: (kind == "Checking").then_some(1000.0),
                };
                let (id, own) =
                    add_account(state, owner, version, now, bank, connection, holder, &new);
                for t in &spec.transactions {
                    let date = NaiveDate::parse_from_str(&t.date, "%Y-%m-%d")
                        .unwrap_or_else(|_| now.date_naive());
                    let c = Counterpart {
                        name: "",
                        iban: ("", ""),
                        bic: "",
                        bank: "",
                        purpose: "",
                        category: "",
                        amount: (0, 0),
                        kind: if t.amount < 0.0 {
                            "Überweisung"
                        } else {
                            "Gutschrift"
                        },
                        zka: "",
                        sepa: "",
                        creditor: None,
                    };
                    let tid = add_transaction(
                        state,
                        owner,
                        version,
                        now,
                        Booking {
                            account: id,
                            holder,
                            own_iban: &own,
                            date,
                            cents: (t.amount * 100.0).round() as i64,
                            counterpart: &c,
                        },
                        Vec::new(),
                    );
                    let cat = t
                        .category
                        .as_deref()
                        .map(|n| category(state, owner, n))
                        .unwrap_or(Value::Null);
                    if let Some(rec) = state
                        .existing_collection_mut(&(owner.clone(), "transactions".to_string()))
                        .and_then(|r| r.get_mut(&tid))
                    {
                        rec["purpose"] = Value::from(t.purpose.clone());
                        rec["counterpartName"] = t.counterpart.clone().into();
                        rec["counterpartIban"] = t.counterpart_iban.clone().into();
                        rec["category"] = cat;
                        for k in [
                            "counterpartAccountNumber",
                            "counterpartBlz",
                            "counterpartBic",
                            "counterpartBankName",
                            "typeCodeZka",
                            "sepaPurposeCode",
                        ] {
                            rec[k] = Value::Null;
                        }
                    }
                }
                account_ids.push(id);
            }
        }
        None => {
            let checking_balance = seed.between(80_000, 420_000) as i64;
            let (checking, own) = add_account(
                state,
                owner,
                version,
                now,
                bank,
                connection,
                holder,
                &NewAccount {
                    name: "Girokonto",
                    kind: "Checking",
                    kind_id: 1,
                    number: number_base.to_string(),
                    balance_cents: checking_balance,
                    overdraft_limit: Some(1500.0),
                },
            );
            checking_history(
                state, owner, version, now, checking, holder, &own, &mut seed,
            );
            let savings_balance = seed.between(500_000, 2_500_000) as i64;
            let (savings, own_savings) = add_account(
                state,
                owner,
                version,
                now,
                bank,
                connection,
                holder,
                &NewAccount {
                    name: "Tagesgeld",
                    kind: "Savings",
                    kind_id: 2,
                    number: (number_base + 1).to_string(),
                    balance_cents: savings_balance,
                    overdraft_limit: None,
                },
            );
            for (back, c) in [(3, &OWN_TRANSFER), (33, &OWN_TRANSFER), (1, &INTEREST)] {
                let cents =
                    c.amount.0 + (seed.draw() % ((c.amount.1 - c.amount.0) as u64 + 1)) as i64;
                add_transaction(
                    state,
                    owner,
                    version,
                    now,
                    Booking {
                        account: savings,
                        holder,
                        own_iban: &own_savings,
                        date: now.date_naive() - Duration::days(back),
                        cents,
                        counterpart: c,
                    },
                    Vec::new(),
                );
            }
            let (depot, _) = add_account(
                state,
                owner,
                version,
                now,
                bank,
                connection,
                holder,
                &NewAccount {
                    name: "Depot",
                    kind: "Security",
                    kind_id: 4,
                    number: (number_base + 2).to_string(),
                    balance_cents: 0,
                    overdraft_limit: None,
                },
            );
            let mut depot_value = 0.0;
            for (name, isin, wkn, quote, qty, entry) in [
                (
                    "iShares Core MSCI World UCITS ETF",
                    "IE00B4L5Y983",
                    "A0RPWH",
                    98.42,
                    seed.between(10, 60) as f64,
                    84.10,
                ),
                (
                    "Bundesrep. Deutschland Anl. 2034",
                    "DE0001102580",
                    "110258",
                    97.35,
                    5000.0,
                    99.10,
                ),
            ] {
                let is_bond = isin.starts_with("DE0001");
                let market = if is_bond {
                    round2(qty * quote / 100.0)
                } else {
                    round2(qty * quote)
                };
                let profit = if is_bond {
                    round2(qty * (quote - entry) / 100.0)
                } else {
                    round2(qty * (quote - entry))
                };
                depot_value += market;
                state.insert_resource(
                    owner.clone(),
                    "securities",
                    json!({
                        "accountId": depot,
                        "name": name,
                        "isin": isin,
                        "wkn": wkn,
                        "quote": quote,
                        "quoteCurrency": "EUR",
                        "quoteType": if is_bond { "PERC" } else { "ACTU" },
                        "quoteDate": moment(version, now),
                        "quantityNominal": qty,
                        "quantityNominalType": if is_bond { "FAMT" } else { "UNIT" },
                        "marketValue": market,
                        "marketValueCurrency": "EUR",
                        "entryQuote": entry,
                        "entryQuoteCurrency": "EUR",
                        "profitOrLoss": profit,
                    }),
                );
            }
            if let Some(d) = state
                .existing_collection_mut(&(owner.clone(), "accounts".to_string()))
                .and_then(|r| r.get_mut(&depot))
            {
                d["balance"] = Value::from(round2(depot_value));
                d["availableFunds"] = Value::from(round2(depot_value));
            }
            // A card payment the bank has not booked yet (V2 lists pending transactions).
            state.insert_resource(
                owner.clone(),
                "pendingTransactions",
                json!({
                    "accountId": checking,
                    "amount": -23.9,
                    "currency": "EUR",
                    "purpose": "Kartenzahlung REWE (vorgemerkt)",
                    "counterpartName": "REWE Markt",
                    "valueDate": day(version, now.date_naive()),
                    "bankBookingDate": day(version, now.date_naive()),
                }),
            );
            account_ids.extend([checking, savings, depot]);
        }
    }
    if let Some(c) = state
        .existing_collection_mut(&(owner.clone(), "bankConnections".to_string()))
        .and_then(|r| r.get_mut(&connection))
    {
        c["accountIds"] = json!(account_ids);
    }
    // The web form the import went through, finished.
    state.insert_resource(
        owner.clone(),
        "webForms",
        json!({ "token": format!("web-form-of-connection-{connection}"), "status": "COMPLETED", "serviceResponseCode": 201 }),
    );
    // A user's first import comes with a notification rule for new transactions, so every
    // kind of user data has a record to read (the runner probes them).
    let rules = (owner.clone(), "notificationRules".to_string());
    if state.resources.get(&rules).is_none_or(|r| r.is_empty()) {
        if let Some(first) = account_ids.first() {
            state.insert_resource(
                owner.clone(),
                "notificationRules",
                json!({ "triggerEvent": "NEW_TRANSACTIONS", "params": { "accountIds": first.to_string(), "maxTransactionsCount": "10" }, "callbackHandle": "new-transactions", "includeDetails": true }),
            );
        }
    }
    connection
}

/// Everything a demo user of the world starts with: an import of the finAPI Test Bank (or the
/// world's own accounts), notification rules, a payment, a standing order and a web form.
pub fn populate_user(
    state: &mut State,
    mandator: MandatorIx,
    key: &str,
    spec: &UserSpec,
    now: DateTime<Utc>,
) {
    let version = state.mandators[mandator].api_version;
    let owner = Owner::User(mandator, key.to_string());
    let bank = banks::test_bank(280001).expect("the finAPI Test Bank is in the catalogue");
    let holder = spec.id.as_str();
    if spec.sample_data {
        import(state, &owner, version, bank, now, holder, None);
    }
    if !spec.accounts.is_empty() {
        import(
            state,
            &owner,
            version,
            bank,
            now,
            holder,
            Some(&spec.accounts),
        );
    }
    if !spec.sample_data {
        return;
    }
    let accounts: Vec<(u64, String)> = state
        .resources
        .get(&(owner.clone(), "accounts".to_string()))
        .map(|r| {
            r.iter()
                .filter(|(_, a)| a["accountType"] == "Checking")
                .map(|(id, a)| (*id, a["iban"].as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let Some((checking, checking_iban)) = accounts.first().cloned() else {
        return;
    };
    state.insert_resource(
        owner.clone(),
        "notificationRules",
        json!({ "triggerEvent": "LOW_ACCOUNT_BALANCE", "params": { "accountIds": checking.to_string(), "balanceThreshold": "100.00" }, "callbackHandle": "demo-low-balance", "includeDetails": false }),
    );
    let yesterday = now - Duration::days(1);
    state.insert_resource(
        owner.clone(),
        "payments",
        json!({
            "accountId": checking,
            "bankId": bank.id,
            "iban": checking_iban,
            "type": "MONEY_TRANSFER",
            "amount": 49.9,
            "orderCount": 1,
            "status": "SUCCESSFUL",
            "bankMessage": "Auftrag ausgeführt",
            "requestDate": moment(version, yesterday),
            "executionDate": moment(version, yesterday),
        }),
    );
    let first_of_month = now
        .date_naive()
        .with_day0(0)
        .unwrap_or_else(|| now.date_naive());
    state.insert_resource(
        owner.clone(),
        "standingOrders",
        json!({
            "accountId": checking,
            "bankId": bank.id,
            "iban": checking_iban,
            "amount": 200.0,
            "currency": "EUR",
            "startDate": day(version, first_of_month),
            "frequency": "MONTHLY",
            "dayOfExecution": 1,
            "requestDate": moment(version, yesterday),
            "requestCompletionDate": moment(version, yesterday),
            "status": "SUCCESSFUL",
            "bankMessage": "Dauerauftrag eingerichtet",
        }),
    );
}

use chrono::Datelike as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_have_valid_check_digits() {
        // A well-known valid German IBAN.
        assert_eq!(iban("37040044", "0532013000"), "DE89370400440532013000");
    }

    #[test]
    fn seeds_are_deterministic() {
        let (mut a, mut b) = (Seed::new("alice"), Seed::new("alice"));
        assert_eq!(a.draw(), b.draw());
        assert_ne!(Seed::new("alice").draw(), Seed::new("bob").draw());
    }
}

#[cfg(test)]
mod world_tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::world::World;

    fn ids(state: &State, owner: &Owner, kind: &str) -> BTreeSet<u64> {
        state
            .resources
            .get(&(owner.clone(), kind.to_string()))
            .map(|r| r.keys().copied().collect())
            .unwrap_or_default()
    }

    #[test]
    fn demo_users_have_consistent_data_of_every_kind() {
        let state = State::from_world(&World::demo(), Utc::now());
        for (m, users) in state.users.iter().enumerate() {
            for key in users.keys() {
                let owner = Owner::User(m, key.clone());
                let accounts = ids(&state, &owner, "accounts");
                let connections = ids(&state, &owner, "bankConnections");
                for kind in [
                    "bankConnections",
                    "accounts",
                    "transactions",
                    "securities",
                    "categories",
                    "labels",
                    "notificationRules",
                    "payments",
                    "standingOrders",
                ] {
                    assert!(!ids(&state, &owner, kind).is_empty(), "{key} has no {kind}");
                }
                let store = |kind: &str| &state.resources[&(owner.clone(), kind.to_string())];
                for t in store("transactions").values() {
                    assert!(
                        accounts.contains(&t["accountId"].as_u64().unwrap()),
                        "{}",
                        **t
                    );
                    let cat = t["category"]["id"].as_u64();
                    assert!(cat.is_none_or(|c| ids(&state, &owner, "categories").contains(&c)));
                }
                for a in store("accounts").values() {
                    assert!(connections.contains(&a["bankConnectionId"].as_u64().unwrap()));
                }
                for c in store("bankConnections").values() {
                    for a in c["accountIds"].as_array().unwrap() {
                        assert!(accounts.contains(&a.as_u64().unwrap()));
                    }
                }
                for kind in ["securities", "payments", "standingOrders"] {
                    for r in store(kind).values() {
                        assert!(accounts.contains(&r["accountId"].as_u64().unwrap()));
                    }
                }
                assert!(store("transactions").len() >= 20, "{key}: few transactions");
            }
        }
    }

    #[test]
    fn declared_accounts_and_transactions_land_on_their_own_connection() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/world.example.toml");
        let world = World::from_file(path).unwrap();
        let state = State::from_world(&world, Utc::now());
        let owner = Owner::User(0, "jane".into());
        let accounts = &state.resources[&(owner.clone(), "accounts".to_string())];
        let household = accounts
            .values()
            .find(|a| a["accountName"] == "Household")
            .expect("the declared account");
        assert_eq!(household["balance"], 1250.75);
        assert_eq!(household["iban"], iban("00000000", "4711"));
        let id = household["id"].as_u64().unwrap();
        let mine: Vec<&Record> = state.resources[&(owner.clone(), "transactions".to_string())]
            .values()
            .filter(|t| t["accountId"] == id)
            .collect();
        assert_eq!(mine.len(), 2);
        assert!(mine.iter().any(|t| t["category"]["name"] == "Gehalt"));
        // `sample_data = false`: nothing at all.
        let locked = Owner::User(0, "locked-out".into());
        assert!(state.resources.keys().all(|(o, _)| *o != locked));
    }
}
