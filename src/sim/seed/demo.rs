//! Realistic demo data for one user: what importing a test bank gives (a bank connection with
//! its interfaces, accounts, two months of categorized transactions with counterparts,
//! securities) and what a demo user of the world has besides (categories, labels, notification
//! rules, payments, standing orders, a web form).
//!
//! Everything is drawn with dice seeded by the user and the bank, so a world gives the same
//! data every run, and every id refers to a record of the same user: a transaction's
//! `accountId` is one of the user's accounts, an account's `bankConnectionId` one of the
//! user's connections.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike as _, Duration, NaiveDate, Utc};
use serde_json::{json, Value};

use crate::model::ApiVersion;
use crate::sim::banks::{self, interface_key, TestBank};
use crate::sim::dates::{day, moment};
use crate::sim::seed::tables::{
    account_type, iban, Counterpart, Dice, CATEGORIES, COUNTERPARTS, INTEREST, OWN_TRANSFER,
};
use crate::sim::state::{MandatorIx, Owner, Record, State};
use crate::world::{AccountSpec, ConnectionSpec, UserSpec};

/// One user's demo data being written: whose it is, how it is dated and in which version it
/// is shown. Every record it makes belongs to that user.
pub struct Demo<'s> {
    state: &'s mut State,
    owner: Owner,
    version: ApiVersion,
    now: DateTime<Utc>,
    /// The account holder: the user's id as the world spells it.
    holder: String,
    /// Category ids the world gives, by category name.
    category_ids: BTreeMap<String, u64>,
}

/// Where a transaction goes.
struct Booking<'a> {
    /// The id the world gives it.
    id: Option<u64>,
    account: u64,
    date: NaiveDate,
    cents: i64,
    counterpart: &'a Counterpart,
}

/// One account to create in an import.
struct NewAccount<'a> {
    /// The id and IBAN the world gives it.
    id: Option<u64>,
    iban: Option<&'a str>,
    name: &'a str,
    kind: &'static str,
    kind_id: u64,
    number: String,
    balance_cents: i64,
    overdraft_limit: Option<f64>,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl<'s> Demo<'s> {
    /// The demo data of user `user` (its lower-cased key) of `mandator`, dated at `now`.
    pub fn for_user(
        state: &'s mut State,
        mandator: MandatorIx,
        user: &str,
        now: DateTime<Utc>,
    ) -> Demo<'s> {
        let version = state.mandators[mandator].api_version;
        let holder = state
            .user(mandator, user)
            .map(|u| u.id.clone())
            .unwrap_or_else(|| user.to_string());
        Demo {
            state,
            owner: Owner::User(mandator, user.to_string()),
            version,
            now,
            holder,
            category_ids: BTreeMap::new(),
        }
    }

    /// Everything a demo user of the world starts with: an import of the finAPI Test Bank (or
    /// the world's own accounts), notification rules, a payment, a standing order and a web
    /// form.
    pub fn populate(&mut self, spec: &UserSpec) {
        let bank = banks::test_bank(280001).expect("the finAPI Test Bank is in the catalogue");
        self.category_ids = spec.category_ids().unwrap_or_default();
        if spec.sample_data {
            self.import(bank, None);
        }
        if !spec.accounts.is_empty() {
            self.import(bank, Some(&spec.accounts));
        }
        for c in &spec.bank_connections {
            self.import_connection(c);
        }
        if !spec.sample_data {
            return;
        }
        let accounts: Vec<(u64, String)> = self
            .state
            .resources
            .get(&self.key("accounts"))
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
        let version = self.version;
        self.insert(
            "notificationRules",
            json!({ "triggerEvent": "LOW_ACCOUNT_BALANCE", "params": { "accountIds": checking.to_string(), "balanceThreshold": "100.00" }, "callbackHandle": "demo-low-balance", "includeDetails": false }),
        );
        let yesterday = self.now - Duration::days(1);
        self.insert(
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
        let today = self.now.date_naive();
        let first_of_month = today.with_day0(0).unwrap_or(today);
        self.insert(
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

    /// Import `bank`: a connection with its interfaces, a checking, a savings and a securities
    /// account (or the accounts `given`), their transactions and securities. Returns the
    /// connection's id.
    pub fn import(&mut self, bank: &TestBank, given: Option<&[AccountSpec]>) -> u64 {
        self.import_as(bank, given, None)
    }

    /// A connection the world declares, with its id, bank and accounts; its id.
    fn import_connection(&mut self, spec: &ConnectionSpec) -> u64 {
        let bank = banks::test_bank(spec.bank_id)
            .or_else(|| banks::test_bank(280001))
            .expect("the finAPI Test Bank is in the catalogue");
        self.import_as(bank, Some(&spec.accounts), spec.id)
    }

    /// [`Demo::import`] under the connection id the world gives, if any.
    fn import_as(
        &mut self,
        bank: &TestBank,
        given: Option<&[AccountSpec]>,
        id: Option<u64>,
    ) -> u64 {
        let seed_label = match &self.owner {
            Owner::User(m, u) => format!("{m}/{u}/{}", bank.id),
            Owner::Mandator(m) => format!("{m}/{}", bank.id),
        };
        let mut dice = Dice::new(&seed_label);
        let connection = self.add_connection(bank, id);
        let number_base = 1_000_000_000 + dice.between(0, 8_999_999) * 10;
        let account_ids = match given {
            Some(specs) => self.add_given_accounts(bank, connection, number_base, specs),
            None => self.add_sample_accounts(bank, connection, number_base, &mut dice),
        };
        if let Some(c) = self
            .state
            .existing_collection_mut(&self.key("bankConnections"))
            .and_then(|r| r.get_mut(&connection))
        {
            c["accountIds"] = json!(account_ids);
        }
        // The web form the import went through, finished.
        self.insert(
            "webForms",
            json!({ "token": format!("web-form-of-connection-{connection}"), "status": "COMPLETED", "serviceResponseCode": 201 }),
        );
        // A user's first import comes with a notification rule for new transactions, so every
        // kind of user data has a record to read (the runner probes them).
        let rules = self.key("notificationRules");
        if self
            .state
            .resources
            .get(&rules)
            .is_none_or(|r| r.is_empty())
        {
            if let Some(first) = account_ids.first() {
                self.insert(
                    "notificationRules",
                    json!({ "triggerEvent": "NEW_TRANSACTIONS", "params": { "accountIds": first.to_string(), "maxTransactionsCount": "10" }, "callbackHandle": "new-transactions", "includeDetails": true }),
                );
            }
        }
        connection
    }

    /// The key of the owner's collection of `kind`.
    fn key(&self, kind: &str) -> (Owner, String) {
        (self.owner.clone(), kind.to_string())
    }

    /// Insert a record of `kind` for the owner; its id.
    fn insert(&mut self, kind: &str, value: Value) -> u64 {
        self.state.insert_resource(self.owner.clone(), kind, value)
    }

    /// Insert a record of `kind` under the id the world gives it, if any; its id.
    fn insert_as(&mut self, kind: &str, value: Value, id: Option<u64>) -> u64 {
        self.state
            .insert_resource_as(self.owner.clone(), kind, value, id)
    }

    /// The bank connection of an import of `bank`; its id.
    fn add_connection(&mut self, bank: &TestBank, id: Option<u64>) -> u64 {
        let version = self.version;
        let at = moment(version, self.now);
        let holder = self.holder.as_str();
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
        let record = json!({
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
        });
        self.insert_as("bankConnections", record, id)
    }

    /// The accounts a world declares for the user, with their own transactions; their ids.
    fn add_given_accounts(
        &mut self,
        bank: &TestBank,
        connection: u64,
        number_base: u64,
        specs: &[AccountSpec],
    ) -> Vec<u64> {
        let mut ids = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let (kind, kind_id) = account_type(&spec.kind).unwrap_or(("Checking", 1));
            let number = spec
                .number
                .clone()
                .unwrap_or_else(|| (number_base + i as u64).to_string());
            let new = NewAccount {
                id: spec.id,
                iban: spec.iban.as_deref(),
                name: &spec.name,
                kind,
                kind_id,
                number,
                balance_cents: (spec.balance * 100.0).round() as i64,
                overdraft_limit: (kind == "Checking").then_some(1000.0),
            };
            let (id, _) = self.add_account(bank, connection, &new);
            for t in &spec.transactions {
                let date = NaiveDate::parse_from_str(&t.date, "%Y-%m-%d")
                    .unwrap_or_else(|_| self.now.date_naive());
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
                let booking = Booking {
                    id: t.id,
                    account: id,
                    date,
                    cents: (t.amount * 100.0).round() as i64,
                    counterpart: &c,
                };
                let tid = self.add_transaction(booking, Vec::new());
                let cat = t
                    .category
                    .as_deref()
                    .map(|n| self.category(n))
                    .unwrap_or(Value::Null);
                if let Some(rec) = self
                    .state
                    .existing_collection_mut(&self.key("transactions"))
                    .and_then(|r| r.get_mut(&tid))
                {
                    rec["purpose"] = Value::from(t.purpose.clone());
                    rec["counterpartName"] = t.counterpart.clone().into();
                    rec["counterpartIban"] = t.counterpart_iban.clone().into();
                    rec["category"] = cat;
                    if let Some(kind) = &t.kind {
                        rec["type"] = Value::from(kind.clone());
                    }
                    if let Some(value_date) = t
                        .value_date
                        .as_deref()
                        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    {
                        rec["valueDate"] = Value::from(day(self.version, value_date));
                    }
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
            ids.push(id);
        }
        ids
    }

    /// The sample accounts of a test bank: a checking account with two months of bookings, a
    /// savings account, a depot with two securities, and a pending card payment; their ids.
    fn add_sample_accounts(
        &mut self,
        bank: &TestBank,
        connection: u64,
        number_base: u64,
        dice: &mut Dice,
    ) -> Vec<u64> {
        let version = self.version;
        let now = self.now;
        let checking_balance = dice.between(80_000, 420_000) as i64;
        let checking_account = NewAccount {
            id: None,
            iban: None,
            name: "Girokonto",
            kind: "Checking",
            kind_id: 1,
            number: number_base.to_string(),
            balance_cents: checking_balance,
            overdraft_limit: Some(1500.0),
        };
        let (checking, _) = self.add_account(bank, connection, &checking_account);
        self.checking_history(checking, dice);
        let savings_balance = dice.between(500_000, 2_500_000) as i64;
        let savings_account = NewAccount {
            id: None,
            iban: None,
            name: "Tagesgeld",
            kind: "Savings",
            kind_id: 2,
            number: (number_base + 1).to_string(),
            balance_cents: savings_balance,
            overdraft_limit: None,
        };
        let (savings, _) = self.add_account(bank, connection, &savings_account);
        for (back, c) in [(3, &OWN_TRANSFER), (33, &OWN_TRANSFER), (1, &INTEREST)] {
            let cents = c.amount.0 + (dice.draw() % ((c.amount.1 - c.amount.0) as u64 + 1)) as i64;
            let booking = Booking {
                id: None,
                account: savings,
                date: now.date_naive() - Duration::days(back),
                cents,
                counterpart: c,
            };
            self.add_transaction(booking, Vec::new());
        }
        let depot_account = NewAccount {
            id: None,
            iban: None,
            name: "Depot",
            kind: "Security",
            kind_id: 4,
            number: (number_base + 2).to_string(),
            balance_cents: 0,
            overdraft_limit: None,
        };
        let (depot, _) = self.add_account(bank, connection, &depot_account);
        self.add_securities(depot, dice);
        // A card payment the bank has not booked yet (V2 lists pending transactions).
        self.insert(
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
        vec![checking, savings, depot]
    }

    /// An ETF and a federal bond in `depot`, whose balance becomes their market value.
    fn add_securities(&mut self, depot: u64, dice: &mut Dice) {
        let version = self.version;
        let mut depot_value = 0.0;
        for (name, isin, wkn, quote, qty, entry) in [
            (
                "iShares Core MSCI World UCITS ETF",
                "IE00B4L5Y983",
                "A0RPWH",
                98.42,
                dice.between(10, 60) as f64,
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
            self.insert(
                "securities",
                json!({
                    "accountId": depot,
                    "name": name,
                    "isin": isin,
                    "wkn": wkn,
                    "quote": quote,
                    "quoteCurrency": "EUR",
                    "quoteType": if is_bond { "PERC" } else { "ACTU" },
                    "quoteDate": moment(version, self.now),
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
        if let Some(d) = self
            .state
            .existing_collection_mut(&self.key("accounts"))
            .and_then(|r| r.get_mut(&depot))
        {
            d["balance"] = Value::from(round2(depot_value));
            d["availableFunds"] = Value::from(round2(depot_value));
        }
    }

    /// An account of an import of `bank` under `connection`; its id and IBAN.
    fn add_account(
        &mut self,
        bank: &TestBank,
        connection: u64,
        a: &NewAccount<'_>,
    ) -> (u64, String) {
        let version = self.version;
        let own_iban = a
            .iban
            .map(str::to_string)
            .unwrap_or_else(|| iban(bank.blz, &a.number));
        let balance = a.balance_cents as f64 / 100.0;
        let at = moment(version, self.now);
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
            "accountHolderName": self.holder,
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
        let id = self.insert_as("accounts", record, a.id);
        (id, own_iban)
    }

    /// Spread bookings over the last 60 days for a checking account; returns the sum in cents.
    fn checking_history(&mut self, account: u64, dice: &mut Dice) -> i64 {
        let today = self.now.date_naive();
        let mut sum = 0;
        let holiday = self.label("Urlaub");
        let tax = self.label("Steuer");
        for month in 0..2i64 {
            let base = today - Duration::days(30 * month);
            // Salary, rent, power, streaming once a month; shopping, fuel and dining in between.
            let fixed = [(0usize, 28i64), (1, 27), (2, 25), (5, 20)];
            let mut bookings: Vec<(usize, i64)> = fixed.to_vec();
            for _ in 0..8 {
                let pick = [3usize, 4, 3, 6, 7][dice.between(0, 4) as usize];
                bookings.push((pick, dice.between(0, 29) as i64));
            }
            for (ix, back) in bookings {
                let c = &COUNTERPARTS[ix];
                let date = base - Duration::days(back);
                if date > today {
                    continue;
                }
                let (lo, hi) = c.amount;
                let cents = lo + (dice.draw() % ((hi - lo) as u64 + 1)) as i64;
                let labels = match (ix, dice.between(0, 5)) {
                    (7, 0) => vec![holiday.clone()],
                    (0, _) if month == 0 => vec![tax.clone()],
                    _ => Vec::new(),
                };
                sum += cents;
                let booking = Booking {
                    id: None,
                    account,
                    date,
                    cents,
                    counterpart: c,
                };
                self.add_transaction(booking, labels);
            }
        }
        sum
    }

    /// A booked transaction; its id.
    fn add_transaction(&mut self, b: Booking<'_>, labels: Vec<Value>) -> u64 {
        let version = self.version;
        let c = b.counterpart;
        let category = self.category(c.category);
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
            "importDate": moment(version, self.now),
            "children": [],
        });
        if let Some(creditor) = c.creditor {
            t["counterpartCreditorId"] = Value::from(creditor);
            t["counterpartMandateReference"] = Value::from(format!("MREF-{}", b.account));
            t["counterpartDebitorId"] = Value::from(self.holder.as_str());
        }
        self.insert_as("transactions", t, b.id)
    }

    /// The owner's category named `name`, creating finAPI's categories if the owner has none
    /// yet, and a category of the user's own when `name` is not one of them (under the ids the
    /// world gives, if it gives them).
    fn category(&mut self, name: &str) -> Value {
        let key = self.key("categories");
        let has = self
            .state
            .resources
            .get(&key)
            .is_some_and(|r| r.values().any(|c| c["isCustom"] == false));
        if !has {
            for (n, parent) in CATEGORIES {
                let parent_rec = parent.map(|p| self.find_by_name(&key, p));
                let (pid, pname) = match parent_rec {
                    Some(Some(p)) => (p["id"].clone(), p["name"].clone()),
                    _ => (Value::Null, Value::Null),
                };
                let given = self.category_ids.get(*n).copied();
                let id = self.insert_as(
                    "categories",
                    json!({ "name": n, "parentId": pid, "parentName": pname, "isCustom": false, "children": [] }),
                    given,
                );
                if let Some(pid) = pid.as_u64() {
                    if let Some(p) = self
                        .state
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
        if let Some(found) = self.find_by_name(&key, name) {
            return found;
        }
        // Not one of finAPI's: the user's own.
        let given = self.category_ids.get(name).copied();
        let id = self.insert_as(
            "categories",
            json!({ "name": name, "parentId": null, "parentName": null, "isCustom": true, "children": [] }),
            given,
        );
        self.state.resources[&key][&id].to_value()
    }

    /// The owner's label named `name`, created if missing.
    fn label(&mut self, name: &str) -> Value {
        let key = self.key("labels");
        if let Some(l) = self.find_by_name(&key, name) {
            return l;
        }
        let id = self.insert("labels", json!({ "name": name }));
        self.state.resources[&key][&id].to_value()
    }

    fn find_by_name(&self, key: &(Owner, String), name: &str) -> Option<Value> {
        self.state
            .resources
            .get(key)?
            .values()
            .find(|c| c["name"] == name)
            .map(Record::to_value)
    }
}
