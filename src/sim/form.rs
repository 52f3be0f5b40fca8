//! Form encoding as finAPI reads it (`a=1&b=2`): query strings, OAuth parameters and the web
//! form's own page all take their pairs apart here.

use std::borrow::Cow;

use crate::sim::error::ApiError;

/// One `name=value` of a query string or form body, borrowed from the request unless it had
/// to be decoded.
pub type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Parse `a=1&b=2`; duplicate keys are kept (callers decide). `None` when the bytes are not
/// UTF-8. Names and values without escapes borrow from `bytes`.
pub fn parse_form(bytes: &[u8]) -> Option<Vec<Pair<'_>>> {
    let text = std::str::from_utf8(bytes).ok()?;
    // One pass over the bytes, noting where each pair's `=` is and whether it has escapes
    // (every token grant and list request parses one; `str::split` was most of a grant).
    let mut pairs = Vec::new();
    let (mut start, mut eq, mut escaped) = (0, None, false);
    for (i, b) in bytes.iter().copied().chain([b'&']).enumerate() {
        match b {
            b'&' => {
                if i > start {
                    let (name, value) = match eq {
                        Some(at) => (&text[start..at], &text[at + 1..i]),
                        None => (&text[start..i], ""),
                    };
                    pairs.push(if escaped {
                        (form_decode(name), form_decode(value))
                    } else {
                        (Cow::Borrowed(name), Cow::Borrowed(value))
                    });
                }
                (start, eq, escaped) = (i + 1, None, false);
            }
            b'=' if eq.is_none() => eq = Some(i),
            b'%' | b'+' => escaped = true,
            _ => {}
        }
    }
    Some(pairs)
}

/// One form-encoded name or value: `+` is a space, `%XX` a byte; escapes that are not UTF-8
/// decode lossily. Borrowed when there is nothing to decode, as nearly always.
fn form_decode(text: &str) -> Cow<'_, str> {
    if !text.bytes().any(|b| matches!(b, b'%' | b'+')) {
        return Cow::Borrowed(text);
    }
    form_urlencoded::parse(format!("v={text}").as_bytes())
        .next()
        .map_or(Cow::Borrowed(""), |(_, v)| Cow::Owned(v.into_owned()))
}

/// The single value of `key`; 400 when it is given more than once.
pub fn single<'a>(pairs: &'a [Pair<'_>], key: &str) -> Result<Option<&'a str>, ApiError> {
    let mut found = pairs.iter().filter(|(k, _)| k == key);
    let first = found.next().map(|(_, v)| v.as_ref());
    if found.next().is_some() {
        return Err(ApiError::bad_request(format!(
            "parameter `{key}` is given more than once"
        )));
    }
    Ok(first)
}

/// The single value of `key` as a boolean (`true` or `false`); 400 for anything else.
pub fn single_bool(pairs: &[Pair<'_>], key: &str) -> Result<Option<bool>, ApiError> {
    match single(pairs, key)? {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(ApiError::bad_request(format!(
            "`{key}` must be true or false"
        ))),
    }
}

/// The single value of `key` in a query string, if it is 1 to 100 characters, each of them
/// `allowed`.
pub fn query_value(
    query: Option<&str>,
    key: &str,
    allowed: impl Fn(char) -> bool,
) -> Option<String> {
    let pairs = parse_form(query.unwrap_or("").as_bytes())?;
    let value = single(&pairs, key).ok().flatten()?;
    (!value.is_empty() && value.len() <= 100 && value.chars().all(allowed)).then(|| value.into())
}

#[cfg(test)]
mod tests {
    use super::parse_form;

    #[test]
    fn the_plain_fast_path_reads_forms_as_form_urlencoded_does() {
        for input in [
            "",
            "a=1&b=2",
            "a&b=&=c&&d=1=2&",
            "grant_type=password&username=alice&password=p-1.x_y~z",
            "a=%41&b=x+y",
            "a%3Db=c%26d&e=%zz&f=%C3%A9+%FF",
            "a=1&a=2",
        ] {
            let expected: Vec<(String, String)> = form_urlencoded::parse(input.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let parsed: Option<Vec<(String, String)>> = parse_form(input.as_bytes()).map(|pairs| {
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            });
            assert_eq!(parsed, Some(expected), "{input}");
        }
        assert_eq!(parse_form(b"a=\xff"), None);
    }
}
