//! Ids as data: the query parameters and body fields of an operation that name a user's
//! resource, as `fixtures/ids.csv` lists them (one row per field). The catalogue attaches them
//! to its operations (`Operation::ids`); what naming another user's resource
//! there must get is the oracle's business (`ids.rs`).

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use serde_json::Value;

/// The embedded list of id-bearing fields, exactly as committed in `fixtures/ids.csv`.
pub const IDS_CSV: &str = include_str!("../../fixtures/ids.csv");

/// The kind of resource an id field names (the collection's name in finAPI's paths).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Names {
    Accounts,
    BankConnections,
    Transactions,
    PendingTransactions,
    Labels,
    Categories,
    NotificationRules,
    Securities,
    Payments,
    StandingOrders,
}

impl Names {
    pub const ALL: [Names; 10] = [
        Names::Accounts,
        Names::BankConnections,
        Names::Transactions,
        Names::PendingTransactions,
        Names::Labels,
        Names::Categories,
        Names::NotificationRules,
        Names::Securities,
        Names::Payments,
        Names::StandingOrders,
    ];

    /// The collection as finAPI's paths spell it (`/api/v2/bankConnections`).
    pub fn collection(self) -> &'static str {
        match self {
            Names::Accounts => "accounts",
            Names::BankConnections => "bankConnections",
            Names::Transactions => "transactions",
            Names::PendingTransactions => "pendingTransactions",
            Names::Labels => "labels",
            Names::Categories => "categories",
            Names::NotificationRules => "notificationRules",
            Names::Securities => "securities",
            Names::Payments => "payments",
            Names::StandingOrders => "standingOrders",
        }
    }

    /// One of them, in words (`bank connection`).
    pub fn words(self) -> &'static str {
        match self {
            Names::Accounts => "account",
            Names::BankConnections => "bank connection",
            Names::Transactions => "transaction",
            Names::PendingTransactions => "pending transaction",
            Names::Labels => "label",
            Names::Categories => "category",
            Names::NotificationRules => "notification rule",
            Names::Securities => "security",
            Names::Payments => "payment",
            Names::StandingOrders => "standing order",
        }
    }
}

impl fmt::Display for Names {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.collection())
    }
}

impl FromStr for Names {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Names::ALL
            .into_iter()
            .find(|n| n.collection() == s)
            .ok_or_else(|| {
                let all: Vec<_> = Names::ALL.iter().map(|n| n.collection()).collect();
                format!("unknown resource kind `{s}` (one of: {})", all.join(", "))
            })
    }
}

/// Where a request carries an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdPlace {
    /// A query parameter (`?accountIds=1,2`).
    Query,
    /// A field of the JSON body, nested ones written with dots (`sender.accountId`).
    Body,
}

impl IdPlace {
    pub fn as_str(self) -> &'static str {
        match self {
            IdPlace::Query => "query",
            IdPlace::Body => "body",
        }
    }
}

/// One query parameter or body field of an operation that names a user's resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdField {
    pub place: IdPlace,
    /// The parameter's name, or the body field's path with dots (`bank.bankConnectionId`).
    pub field: String,
    pub names: Names,
}

impl IdField {
    /// How the field is shown after the operation id: `?accountIds`, `{sender.accountId}`.
    pub fn label(&self) -> String {
        match self.place {
            IdPlace::Query => format!("?{}", self.field),
            IdPlace::Body => format!("{{{}}}", self.field),
        }
    }

    /// The field takes several ids (`ids`, `accountIds`): a comma-separated query value or a
    /// JSON array.
    pub fn takes_many(&self) -> bool {
        let last = self.field.rsplit('.').next().unwrap_or(&self.field);
        last == "ids" || last.ends_with("Ids")
    }

    /// `given` with this body field set to `id` (a number where it parses as one; an array of
    /// it where the field takes several), creating the objects on the way.
    pub fn set_in(&self, given: &mut Value, id: &str) {
        let value = match id.parse::<u64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::from(id),
        };
        let value = if self.takes_many() {
            Value::Array(vec![value])
        } else {
            value
        };
        let mut at = given;
        let parts: Vec<&str> = self.field.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            if !at.is_object() {
                *at = Value::Object(Default::default());
            }
            let map = at.as_object_mut().expect("made an object just above");
            if i + 1 == parts.len() {
                map.insert(part.to_string(), value);
                return;
            }
            at = map
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Default::default()));
        }
    }

    /// The query pair that names `id` (`accountIds=277`), form-encoded.
    pub fn query_pair(&self, id: &str) -> String {
        serde_urlencoded::to_string([(self.field.as_str(), id)]).unwrap_or_default()
    }
}

/// A row of the list that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdsError {
    /// The line of the file (the header is line 1).
    pub row: usize,
    pub message: String,
}

#[derive(Deserialize)]
struct Row {
    version: String,
    operation: String,
    #[serde(rename = "in")]
    place: String,
    field: String,
    names: String,
}

/// One row of `fixtures/ids.csv`: the `version` column as written (`v1`, `v2`, `webform2`),
/// the operation id and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdRow {
    pub version: String,
    pub operation: String,
    pub field: IdField,
}

/// Parse a list in the `fixtures/ids.csv` format.
pub fn parse(text: &str) -> Result<Vec<IdRow>, IdsError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, row) in reader.deserialize::<Row>().enumerate() {
        let bad = |message: String| IdsError {
            row: i + 2,
            message,
        };
        let row = row.map_err(|e| bad(e.to_string()))?;
        let place = match row.place.as_str() {
            "query" => IdPlace::Query,
            "body" => IdPlace::Body,
            other => return Err(bad(format!("`in` is query or body, not `{other}`"))),
        };
        if row.field.is_empty() || row.field.split('.').any(str::is_empty) {
            return Err(bad(format!("bad field `{}`", row.field)));
        }
        let names = row.names.parse().map_err(bad)?;
        let field = IdField {
            place,
            field: row.field,
            names,
        };
        if out.iter().any(|r: &IdRow| {
            r.version == row.version && r.operation == row.operation && r.field == field
        }) {
            return Err(bad(format!(
                "{} {}{} is listed twice",
                row.version,
                row.operation,
                field.label()
            )));
        }
        out.push(IdRow {
            version: row.version,
            operation: row.operation,
            field,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bad_rows_are_refused_with_their_line() {
        let head = "version,operation,in,field,names\n";
        for (row, why) in [
            ("v2,x,path,ids,accounts", "`in`"),
            ("v2,x,query,,accounts", "bad field"),
            ("v2,x,query,ids,users", "unknown resource kind"),
        ] {
            let err = parse(&format!("{head}{row}\n")).unwrap_err();
            let err = format!("row {}: {}", err.row, err.message);
            assert!(err.contains("row 2") && err.contains(why), "{err}");
        }
        let twice = format!("{head}v2,x,query,ids,accounts\nv2,x,query,ids,accounts\n");
        assert!(parse(&twice).unwrap_err().message.contains("twice"));
    }

    #[test]
    fn body_fields_are_set_at_their_path() {
        let field = |f: &str| IdField {
            place: IdPlace::Body,
            field: f.into(),
            names: Names::Accounts,
        };
        let mut body = json!({ "sender": { "iban": "x" }, "orders": [] });
        field("sender.accountId").set_in(&mut body, "277");
        assert_eq!(body["sender"], json!({ "iban": "x", "accountId": 277 }));
        let mut body = json!({});
        field("bankConnectionIds").set_in(&mut body, "5");
        assert_eq!(body, json!({ "bankConnectionIds": [5] }));
        assert_eq!(field("sender.accountId").label(), "{sender.accountId}");
    }
}
