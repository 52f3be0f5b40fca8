//! finAPI's token request, spelled once: the token path of each API version and the form of
//! each grant, for whatever carries it (reqwest in [`crate::client`], the simulator without a
//! socket, curl, a raw socket, a load generator).

use finapi_conformance::sim::SimResponse;
use finapi_conformance::{ApiVersion, Simulator};

/// A client's `(id, secret)`, or a user's `(id, password)`.
pub type Pair<'a> = (&'a str, &'a str);

/// finAPI's token endpoint of an API version.
pub fn token_path(v: ApiVersion) -> &'static str {
    match v {
        ApiVersion::V1 => "/oauth/token",
        ApiVersion::V2 => "/api/v2/oauth/token",
    }
}

/// One of finAPI's grants with the credentials it carries.
#[derive(Debug, Clone, Copy)]
pub enum Grant<'a> {
    /// `client_credentials`: a client's own token.
    Client(Pair<'a>),
    /// `password`: a user's token, through a client.
    Password(Pair<'a>, Pair<'a>),
    /// `refresh_token`: a new access token for a refresh token, through a client.
    Refresh(Pair<'a>, &'a str),
}

impl<'a> Grant<'a> {
    /// The client that asks.
    pub fn client(self) -> Pair<'a> {
        match self {
            Grant::Client(c) | Grant::Password(c, _) | Grant::Refresh(c, _) => c,
        }
    }

    /// The grant's parameters without the client's credentials (for a Basic header).
    pub fn own_pairs(self) -> Vec<(&'static str, &'a str)> {
        match self {
            Grant::Client(_) => vec![("grant_type", "client_credentials")],
            Grant::Password(_, (user, password)) => vec![
                ("grant_type", "password"),
                ("username", user),
                ("password", password),
            ],
            Grant::Refresh(_, refresh) => {
                vec![("grant_type", "refresh_token"), ("refresh_token", refresh)]
            }
        }
    }

    /// Every parameter, the client's credentials included, in the order finAPI documents.
    pub fn pairs(self) -> Vec<(&'static str, &'a str)> {
        let (id, secret) = self.client();
        let mut pairs = self.own_pairs();
        pairs.splice(1..1, [("client_id", id), ("client_secret", secret)]);
        pairs
    }

    /// [`Grant::pairs`] encoded, as an `application/x-www-form-urlencoded` body or a query
    /// string.
    pub fn form(self) -> String {
        serde_urlencoded::to_string(self.pairs()).expect("pairs of strings encode")
    }
}

/// The grant, as a form, to a simulator without a socket.
pub fn sim_grant(sim: &Simulator, v: ApiVersion, grant: Grant<'_>) -> SimResponse {
    sim.call(
        "POST",
        token_path(v),
        &[("content-type", "application/x-www-form-urlencoded")],
        grant.form().as_bytes(),
    )
}

/// The access token of a successful grant to a simulator; panics unless 200.
pub fn sim_token(sim: &Simulator, v: ApiVersion, grant: Grant<'_>) -> String {
    let r = sim_grant(sim, v, grant);
    assert_eq!(r.status, 200, "{grant:?}: {:?}", r.json());
    r.json()["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}
