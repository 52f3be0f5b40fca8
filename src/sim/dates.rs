//! How the simulator writes dates and times: a moment and a calendar day as each API version
//! spells them, and Web Form 2.0's timestamps. Every record, error body and answer uses these.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

use crate::model::shapes::format_ymd;
use crate::model::ApiVersion;

/// A moment as the version writes it. V1: `YYYY-MM-DD HH:MM:SS.SSS`; V2: RFC 3339 with
/// milliseconds and offset.
pub fn moment(version: ApiVersion, at: DateTime<Utc>) -> String {
    match version {
        ApiVersion::V1 => at.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
        ApiVersion::V2 => at
            .with_timezone(&utc())
            .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
            .to_string(),
    }
}

/// A calendar day as the version writes it: V1 `YYYY-MM-DD 00:00:00.000`, V2 `YYYY-MM-DD`.
pub fn day(version: ApiVersion, date: NaiveDate) -> String {
    match version {
        ApiVersion::V1 => format!("{} 00:00:00.000", format_ymd(date)),
        ApiVersion::V2 => format_ymd(date),
    }
}

/// `yyyy-MM-dd'T'HH:mm:ss.SSSZ`, Web Form 2.0's timestamps.
pub fn webform_moment(at: DateTime<Utc>) -> String {
    at.with_timezone(&utc())
        .format("%Y-%m-%dT%H:%M:%S%.3f%z")
        .to_string()
}

fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).expect("zero offset")
}
