//! String formats of the shapes (`date`, `date-time`, `ipv4`): which texts have them, and
//! calendar days read and written by hand.

/// The calendar day a text starts with (`YYYY-MM-DD`), read by hand: body completion and
/// list sorting call it for every date they meet, and chrono's format parser was a tenth of a
/// transactions page's time.
pub(crate) fn parse_ymd(text: &str) -> Option<chrono::NaiveDate> {
    let b = text.as_bytes();
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<u32> {
        b.get(from..to)?.iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    chrono::NaiveDate::from_ymd_opt(
        i32::try_from(number(0, 4)?).ok()?,
        number(5, 7)?,
        number(8, 10)?,
    )
}

/// A calendar day as `YYYY-MM-DD`, written by hand for the same reason (chrono's formatter
/// writes a character at a time); years outside 0..=9999 fall back to chrono.
pub(crate) fn format_ymd(date: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let year = date.year();
    if !(0..=9999).contains(&year) {
        return date.to_string();
    }
    let mut out = *b"0000-00-00";
    let mut put = |at: usize, width: usize, mut n: u32| {
        for slot in out[at..at + width].iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, year.unsigned_abs());
    put(5, 2, date.month());
    put(8, 2, date.day());
    out.iter().copied().map(char::from).collect()
}

/// Whether `text` has the string format `format` (unknown formats always fit).
pub(super) fn format_ok(format: &str, text: &str) -> bool {
    match format {
        "date" => text.len() == 10 && parse_ymd(text).is_some(),
        "date-time" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        "ipv4" => text.parse::<std::net::Ipv4Addr>().is_ok(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_written_and_read_back_by_hand() {
        for (y, m, d) in [(2024, 2, 29), (1, 1, 1), (9999, 12, 31), (2026, 12, 2)] {
            let date = chrono::NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
            let text = format_ymd(date);
            assert_eq!(text, date.format("%Y-%m-%d").to_string());
            assert_eq!(parse_ymd(&text), Some(date));
        }
        let far = chrono::NaiveDate::from_ymd_opt(12345, 6, 7).expect("valid date");
        assert_eq!(format_ymd(far), far.to_string());
    }
}
