//! Maps a method and path to a catalogue operation with a precompiled `matchit` router.
//!
//! Parameters are renamed positionally (`{p0}`, `{p1}`) in the router so that templates that
//! differ only in a parameter name (V1 `GET /accounts/{ids}` and `GET /accounts/{id}`) share a
//! node; a comma in the value picks the multi-id operation.

use http::Method;

use crate::model::{Catalogue, Operation};

/// A routed request: the operation and its path parameters by documented name.
#[derive(Debug)]
pub struct Routed<'c> {
    pub op: &'c Operation,
    pub params: Vec<(&'c str, String)>,
}

/// Why a request could not be routed.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteError {
    /// No operation has this path.
    NotFound,
    /// The path exists, not with this method.
    MethodNotAllowed,
}

pub struct Router {
    inner: matchit::Router<Vec<usize>>,
}

impl Router {
    /// Compile a router over every routable operation of the catalogue.
    pub fn new(catalogue: &Catalogue) -> Router {
        let mut by_shape: Vec<(String, Vec<usize>)> = Vec::new();
        for op in catalogue.all().iter().filter(|o| !o.is_grant_row()) {
            let shape = shape_of(&op.path);
            match by_shape.iter_mut().find(|(s, _)| *s == shape) {
                Some((_, ops)) => ops.push(op.index),
                None => by_shape.push((shape, vec![op.index])),
            }
        }
        let mut inner = matchit::Router::new();
        for (shape, ops) in by_shape {
            inner
                .insert(shape, ops)
                .expect("catalogue paths form a valid router (tested)");
        }
        Router { inner }
    }

    /// Route `method path` (path without query string).
    pub fn route<'c>(
        &self,
        catalogue: &'c Catalogue,
        method: &Method,
        path: &str,
    ) -> Result<Routed<'c>, RouteError> {
        let matched = self.inner.at(path).map_err(|_| RouteError::NotFound)?;
        let values = || matched.params.iter().map(|(_, v)| v);
        if values().any(str::is_empty) {
            return Err(RouteError::NotFound);
        }
        let mut candidates = matched
            .value
            .iter()
            .map(|&i| catalogue.by_index(i))
            .filter(|op| op.method == *method);
        let first = candidates.next().ok_or(RouteError::MethodNotAllowed)?;
        let op = match candidates.next() {
            None => first,
            Some(second) => {
                let has_comma = values().any(|v| v.contains(','));
                [first, second]
                    .into_iter()
                    .chain(candidates)
                    .find(|op| op.path_params().any(|p| p == "ids") == has_comma)
                    .unwrap_or(first)
            }
        };
        if matched.params.is_empty() {
            return Ok(Routed {
                op,
                params: Vec::new(),
            });
        }
        let params = op
            .path_params()
            .zip(values())
            .map(|(name, value)| (name, percent_decode(value)))
            .collect();
        Ok(Routed { op, params })
    }
}

fn shape_of(path: &str) -> String {
    let mut n = 0;
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                n += 1;
                format!("{{p{}}}", n - 1)
            } else {
                seg.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Decode `%XX` escapes; invalid escapes and invalid UTF-8 are kept as they came.
pub fn percent_decode(value: &str) -> String {
    if !value.contains('%') {
        return value.to_string();
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ApiVersion;

    #[test]
    fn comma_picks_the_multi_id_operation() {
        let cat = Catalogue::embedded();
        let router = Router::new(cat);
        let one = router
            .route(cat, &Method::GET, "/api/v1/accounts/5")
            .unwrap();
        assert_eq!(one.op.id, "getAccount");
        let many = router
            .route(cat, &Method::GET, "/api/v1/accounts/5,6")
            .unwrap();
        assert_eq!(many.op.id, "getMultipleAccounts");
        assert_eq!(many.params, vec![("ids", "5,6".to_string())]);
    }

    #[test]
    fn static_segments_win_over_parameters() {
        let cat = Catalogue::embedded();
        let router = Router::new(cat);
        let r = router
            .route(cat, &Method::GET, "/api/v2/accounts/dailyBalances")
            .unwrap();
        assert_eq!(
            (r.op.version, r.op.id.as_str()),
            (ApiVersion::V2, "getDailyBalances")
        );
    }

    #[test]
    fn unknown_paths_and_methods_are_told_apart() {
        let cat = Catalogue::embedded();
        let router = Router::new(cat);
        assert_eq!(
            router
                .route(cat, &Method::GET, "/api/v2/nothing")
                .unwrap_err(),
            RouteError::NotFound
        );
        assert_eq!(
            router
                .route(cat, &Method::PUT, "/api/v2/users")
                .unwrap_err(),
            RouteError::MethodNotAllowed
        );
    }

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%ff"), "%ff");
    }
}
