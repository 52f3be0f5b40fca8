//! The operation catalogue: every finAPI operation and who may call it.
//!
//! The data lives in `fixtures/operations.csv` and is compiled into the crate, so the mock, the
//! runner, the Gherkin steps and the property tests all read the same rows. To add an operation,
//! add a row there; nothing in `src/` lists operations by hand.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::id_fields::{self, IdField};

/// The embedded catalogue, exactly as committed in `fixtures/operations.csv`.
pub const OPERATIONS_CSV: &str = include_str!("../../fixtures/operations.csv");

/// finAPI Access API version. A mandator is bound to exactly one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiVersion {
    V1,
    V2,
}

impl ApiVersion {
    pub const ALL: [ApiVersion; 2] = [ApiVersion::V1, ApiVersion::V2];

    /// `V1` / `V2`, the spelling finAPI uses in request bodies.
    pub fn label(self) -> &'static str {
        match self {
            ApiVersion::V1 => "V1",
            ApiVersion::V2 => "V2",
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApiVersion::V1 => "v1",
            ApiVersion::V2 => "v2",
        })
    }
}

impl FromStr for ApiVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "v1" | "1" => Ok(ApiVersion::V1),
            "v2" | "2" => Ok(ApiVersion::V2),
            other => Err(format!("unknown API version `{other}` (expected v1 or v2)")),
        }
    }
}

/// The finAPI service an operation belongs to. Web Form 2.0 is a service of its own (its own
/// host in production, its own error bodies) that takes the tokens of Access V2, so its rows
/// carry `version = v2` and `api = webform2`: everything that walks a version's operations (the
/// guard's version binding, the runner, the matrix, the properties) sees them with V2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// finAPI Access (`/api/v1/..`, `/api/v2/..`, `/oauth/..`).
    Access,
    /// finAPI Web Form 2.0 (`/api/webForms`, `/api/tasks`, `/api/profiles`,
    /// `/api/translations`).
    WebForm2,
}

impl Api {
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Access => "access",
            Api::WebForm2 => "webform2",
        }
    }

    /// The service a request path belongs to (the path prefixes do not overlap).
    pub fn of_path(path: &str) -> Api {
        const WEB_FORM_2: [&str; 4] = [
            "/api/webForms",
            "/api/tasks",
            "/api/profiles",
            "/api/translations",
        ];
        let under = |prefix: &str| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        if WEB_FORM_2.iter().any(|p| under(p)) {
            Api::WebForm2
        } else {
            Api::Access
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of caller an operation admits, as the documentation names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerKind {
    /// An app client's own (client credentials) token.
    AppClient,
    /// The mandator admin client's own token.
    MandatorAdmin,
    /// A user's token, obtained through an app client with the password grant.
    User,
    /// No bearer token at all (only the token endpoint).
    None,
}

impl CallerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CallerKind::AppClient => "app_client",
            CallerKind::MandatorAdmin => "mandator_admin",
            CallerKind::User => "user",
            CallerKind::None => "none",
        }
    }
}

impl FromStr for CallerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "app_client" => Ok(CallerKind::AppClient),
            "mandator_admin" => Ok(CallerKind::MandatorAdmin),
            "user" => Ok(CallerKind::User),
            "none" => Ok(CallerKind::None),
            other => Err(format!("unknown caller kind `{other}`")),
        }
    }
}

/// A small set of [`CallerKind`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Callers(u8);

impl Callers {
    fn bit(kind: CallerKind) -> u8 {
        1 << (kind as u8)
    }
    pub fn contains(self, kind: CallerKind) -> bool {
        self.0 & Self::bit(kind) != 0
    }
    pub fn with(self, kind: CallerKind) -> Self {
        Callers(self.0 | Self::bit(kind))
    }
    pub fn without(self, kind: CallerKind) -> Self {
        Callers(self.0 & !Self::bit(kind))
    }
    pub fn iter(self) -> impl Iterator<Item = CallerKind> {
        [
            CallerKind::AppClient,
            CallerKind::MandatorAdmin,
            CallerKind::User,
            CallerKind::None,
        ]
        .into_iter()
        .filter(move |k| self.contains(*k))
    }
}

impl fmt::Display for Callers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.iter().map(CallerKind::as_str).collect();
        f.write_str(&names.join("|"))
    }
}

impl FromStr for Callers {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split('|').try_fold(Callers::default(), |acc, part| {
            Ok(acc.with(part.trim().parse()?))
        })
    }
}

/// Where a row's caller rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The operation's own documentation names the caller.
    Explicit,
    /// No caller sentence; inferred from the section or the data the operation touches.
    Inferred,
    /// Not in the saved spec version; known from the docs pages (V1 switchApiVersion).
    Extra,
}

/// What an operation may change if it is let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Safety {
    /// Changes nothing.
    Read,
    /// Changes only what the caller itself created (its tokens, its users, its user's data).
    Own,
    /// Changes state other people rely on (client secrets, mandator-wide rules, certificates).
    Shared,
}

/// How the runner keeps a probe of this operation harmless, even if the boundary is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeStyle {
    /// A well-formed request; it only reads, or only touches the run's own user.
    AsIs,
    /// The path (or body) names an id that exists nowhere, so nothing can be changed.
    UnknownId,
    /// A body the server must reject (required fields missing).
    InvalidBody,
    /// An empty PATCH: changes no field.
    EmptyPatch,
    /// Addresses only a user the run created.
    RunUser,
    /// Creates a user under the run's id prefix (removed at the end).
    NewRunUser,
    /// Names only ids of users the run created.
    RunUsers,
    /// Deletes a user created for this one probe.
    DisposableUser,
    /// Presents a deliberately wrong old secret (changeClientCredentials).
    WrongSecret,
    /// Gets or revokes a token the run itself holds.
    OwnToken,
}

/// A feature switch in the client configuration that must be on for the operation to work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gate {
    /// `pfmServicesEnabled`
    Pfm,
    /// `paymentsEnabled`
    Pis,
    /// `isDevelopmentModeEnabled`
    Dev,
}

/// The grants of the token endpoint, which have rows of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    ClientCredentials,
    Password,
    RefreshToken,
}

impl Grant {
    pub const ALL: [Grant; 3] = [
        Grant::ClientCredentials,
        Grant::Password,
        Grant::RefreshToken,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::ClientCredentials => "client_credentials",
            Grant::Password => "password",
            Grant::RefreshToken => "refresh_token",
        }
    }
    pub fn parse(s: &str) -> Option<Grant> {
        Grant::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// One operation of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Position in the catalogue; stable for one build.
    pub index: usize,
    pub version: ApiVersion,
    /// The service: Access, or Web Form 2.0 (whose rows read `webform2` in the version column
    /// and take V2 tokens).
    pub api: Api,
    pub section: String,
    /// finAPI's operationId; grant rows read `getToken.<grant>`.
    pub id: String,
    pub method: http::Method,
    /// Path template with `{name}` parameters, as documented.
    pub path: String,
    pub callers: Callers,
    pub source: Source,
    pub safety: Safety,
    pub probe: ProbeStyle,
    /// The documented success status.
    pub success: u16,
    pub gate: Option<Gate>,
    pub deprecated: bool,
    /// Gone from newer versions of the documentation (`removed` in the `deprecated` column;
    /// Web Form 2.0's `createForBankConnectionUpdate`). Still served and checked.
    pub removed: bool,
    /// `Some` for the token endpoint's grant rows.
    pub grant: Option<Grant>,
    /// Refuse with 401 for a dead token and 403 for a wrong role even where the operation
    /// documents only one of the two (the `general-refusal-statuses` reading); `false`: the
    /// documented one ([`Operation::unauthenticated_status`], [`Operation::forbidden_status`]).
    pub general_refusals: bool,
    /// The query parameters and body fields that name a user's resource
    /// (`fixtures/ids.csv`; see [`IdField`]).
    pub ids: Vec<IdField>,
}

impl Operation {
    /// `getToken.password` and friends describe a grant, not a route of their own.
    pub fn is_grant_row(&self) -> bool {
        self.grant.is_some()
    }
    /// The token endpoint itself (no bearer token).
    pub fn is_token_endpoint(&self) -> bool {
        self.id == "getToken"
    }
    pub fn is_revoke(&self) -> bool {
        self.id == "revokeToken"
    }
    /// Names of the path parameters, in order.
    pub fn path_params(&self) -> impl Iterator<Item = &str> {
        self.path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
    }
    /// True when a probe of this operation addresses one existing resource (a path id or a
    /// user id), which is where visibility between users and mandators is tested.
    /// The bank catalogue is global, so bank ids are visible to everyone.
    pub fn addresses_resource(&self) -> bool {
        matches!(self.probe, ProbeStyle::UnknownId | ProbeStyle::RunUser) && self.section != "Banks"
    }
    /// Whether finAPI documents a response with `status` for this operation, as the response
    /// shapes (`fixtures/shapes/`) say; `None` when the shapes do not have the operation
    /// (V1 `switchApiVersion`). Grant rows answer for the token endpoint.
    pub fn documents(&self, status: u16) -> Option<bool> {
        let id = self.id.split('.').next().unwrap_or(&self.id);
        let shapes = crate::model::shapes::Shapes::embedded(self.version);
        shapes
            .operation(id)
            .map(|_| shapes.response_schema(id, status).is_some())
    }

    /// The status of a refusal for a missing, unknown, expired or revoked token: 401, or 403
    /// where the operation documents no 401 but a 403 (`revokeToken`: a client's token is
    /// required, and 403 covers "not allowed for other reasons").
    pub fn unauthenticated_status(&self) -> u16 {
        if self.general_refusals {
            401
        } else {
            self.usual_unless_documented(401, 403)
        }
    }

    /// The status of a refusal for a valid token of the wrong role (or another mandator's API
    /// version, or a client switch that is off): 403, or 401 where the operation documents no
    /// 403 but a 401 (`checkCategorization`: a token that is not the user's is not a valid
    /// access_token for it).
    pub fn forbidden_status(&self) -> u16 {
        if self.general_refusals {
            403
        } else {
            self.usual_unless_documented(403, 401)
        }
    }

    /// The status for an unknown (or invisible) entity the request names: 404, or 422 where
    /// the operation documents no 404 but a 422 (finAPI files `UNKNOWN_ENTITY` under 422 for
    /// `deleteAccessData`/`deleteConsent` and `connectInterface`).
    pub fn not_found_status(&self) -> u16 {
        self.usual_unless_documented(404, 422)
    }

    /// `usual`, or `instead` where the operation documents no `usual` but does document
    /// `instead`: the one rule behind the three refusal statuses above.
    fn usual_unless_documented(&self, usual: u16, instead: u16) -> u16 {
        if self.documents(usual) == Some(false) && self.documents(instead) == Some(true) {
            instead
        } else {
            usual
        }
    }

    /// A Web Form 2.0 operation.
    pub fn is_webform(&self) -> bool {
        self.api == Api::WebForm2
    }

    /// The value of the `version` column of its row: `v1`, `v2`, or `webform2`.
    pub fn version_column(&self) -> String {
        if self.is_webform() {
            "webform2".into()
        } else {
            self.version.to_string()
        }
    }

    /// `GET /api/v2/users` style label.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.version, self.id)
    }
}

/// Errors while reading a catalogue.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("catalogue row {row}: {message}")]
    Row { row: usize, message: String },
    #[error("catalogue: {0}")]
    Csv(#[from] csv::Error),
}

#[derive(Deserialize)]
struct Row {
    version: String,
    section: String,
    operation: String,
    method: String,
    path: String,
    callers: String,
    source: Source,
    safety: Safety,
    probe: ProbeStyle,
    success: u16,
    gate: String,
    deprecated: String,
}

/// The whole role model's operation list.
#[derive(Debug, Clone)]
pub struct Catalogue {
    operations: Vec<Operation>,
}

impl Catalogue {
    /// The embedded catalogue, parsed once per process.
    pub fn embedded() -> &'static Catalogue {
        static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
        CATALOGUE.get_or_init(|| {
            Catalogue::parse(OPERATIONS_CSV)
                .and_then(|c| c.with_ids(id_fields::IDS_CSV))
                .expect("fixtures/operations.csv and fixtures/ids.csv are valid (tested)")
        })
    }

    /// Attach a list of id-bearing fields in the `fixtures/ids.csv` format to the operations
    /// it names; a row naming an operation the catalogue lacks is an error.
    pub fn with_ids(mut self, text: &str) -> Result<Catalogue, CatalogueError> {
        let rows = id_fields::parse(text).map_err(|e| CatalogueError::Row {
            row: e.row,
            message: format!("ids: {}", e.message),
        })?;
        for (i, row) in rows.into_iter().enumerate() {
            let op = self
                .operations
                .iter_mut()
                .find(|o| o.version_column() == row.version && o.id == row.operation)
                .ok_or_else(|| CatalogueError::Row {
                    row: i + 2,
                    message: format!(
                        "ids: no operation {} {} in the catalogue",
                        row.version, row.operation
                    ),
                })?;
            op.ids.push(row.field);
        }
        Ok(self)
    }

    /// Parse a catalogue in the `fixtures/operations.csv` format.
    pub fn parse(text: &str) -> Result<Catalogue, CatalogueError> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let mut operations = Vec::new();
        for (i, row) in reader.deserialize::<Row>().enumerate() {
            let row = row?;
            let bad = |message: String| CatalogueError::Row {
                row: i + 2,
                message,
            };
            let (version, api) = match row.version.as_str() {
                "webform2" => (ApiVersion::V2, Api::WebForm2),
                v => (v.parse().map_err(bad)?, Api::Access),
            };
            let (deprecated, removed) = match row.deprecated.as_str() {
                "" => (false, false),
                "yes" => (true, false),
                "removed" => (true, true),
                other => return Err(bad(format!("unknown deprecation `{other}`"))),
            };
            let method = http::Method::from_bytes(row.method.as_bytes())
                .map_err(|_| bad(format!("bad method `{}`", row.method)))?;
            let callers: Callers = row.callers.parse().map_err(bad)?;
            let gate = match row.gate.as_str() {
                "" => None,
                "pfm" => Some(Gate::Pfm),
                "pis" => Some(Gate::Pis),
                "dev" => Some(Gate::Dev),
                other => return Err(bad(format!("unknown gate `{other}`"))),
            };
            let grant = match row.operation.strip_prefix("getToken.") {
                Some(g) => {
                    Some(Grant::parse(g).ok_or_else(|| bad(format!("unknown grant `{g}`")))?)
                }
                None => None,
            };
            if !row.path.starts_with('/') {
                return Err(bad(format!("path `{}` must start with /", row.path)));
            }
            operations.push(Operation {
                index: operations.len(),
                version,
                api,
                section: row.section,
                id: row.operation,
                method,
                path: row.path,
                callers,
                source: row.source,
                safety: row.safety,
                probe: row.probe,
                success: row.success,
                gate,
                deprecated,
                removed,
                grant,
                general_refusals: false,
                ids: Vec::new(),
            });
        }
        let mut seen = std::collections::HashSet::new();
        for op in &operations {
            if !seen.insert((op.version, op.id.as_str())) {
                return Err(CatalogueError::Row {
                    row: op.index + 2,
                    message: format!("duplicate operation {} {}", op.version, op.id),
                });
            }
        }
        Ok(Catalogue { operations })
    }

    /// Every row, grant rows included.
    pub fn all(&self) -> &[Operation] {
        &self.operations
    }

    /// The routable operations of one version (grant rows left out).
    pub fn operations(&self, version: ApiVersion) -> impl Iterator<Item = &Operation> {
        self.operations
            .iter()
            .filter(move |o| o.version == version && !o.is_grant_row())
    }

    /// Routable operations plus grant rows of one version: what a conformance run checks.
    pub fn checks(&self, version: ApiVersion) -> impl Iterator<Item = &Operation> {
        self.operations
            .iter()
            .filter(move |o| o.version == version && !o.is_token_endpoint())
    }

    pub fn get(&self, version: ApiVersion, id: &str) -> Option<&Operation> {
        self.operations
            .iter()
            .find(|o| o.version == version && o.id == id)
    }

    pub fn by_index(&self, index: usize) -> &Operation {
        &self.operations[index]
    }

    /// The grant row of the token endpoint for one version.
    pub fn grant(&self, version: ApiVersion, grant: Grant) -> &Operation {
        self.operations
            .iter()
            .find(|o| o.version == version && o.grant == Some(grant))
            .expect("every version has a row per grant (tested)")
    }

    /// Section names of one version, in catalogue order.
    pub fn sections(&self, version: ApiVersion) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for op in self.operations(version) {
            if !out.contains(&op.section.as_str()) {
                out.push(&op.section);
            }
        }
        out
    }

    /// Apply the configurable readings of ambiguous rows (see [`crate::model::Readings`]).
    pub fn with_readings(&self, readings: &crate::model::Readings) -> Catalogue {
        let mut copy = self.clone();
        for op in &mut copy.operations {
            readings.apply(op);
        }
        copy
    }
}
