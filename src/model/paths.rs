//! What a request path says about itself before any route matches it: the API version it is
//! served under (the journal, the error bodies and the simulator all read it the same way).

use crate::model::catalogue::ApiVersion;

/// The API version of a request path: `/api/v1/..` and `/oauth/..` are V1, everything else
/// (V2, Web Form 2.0, unknown paths) V2.
pub fn version_of_path(path: &str) -> ApiVersion {
    if path.starts_with("/api/v1") || path.starts_with("/oauth") {
        ApiVersion::V1
    } else {
        ApiVersion::V2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_paths_and_the_v1_token_endpoint_are_v1_everything_else_v2() {
        assert_eq!(version_of_path("/api/v1/users"), ApiVersion::V1);
        assert_eq!(version_of_path("/oauth/token"), ApiVersion::V1);
        assert_eq!(version_of_path("/api/v2/oauth/token"), ApiVersion::V2);
        assert_eq!(version_of_path("/api/webForms"), ApiVersion::V2);
        assert_eq!(version_of_path("/nowhere"), ApiVersion::V2);
    }
}
