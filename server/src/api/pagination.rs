//! Opaque page tokens (AIP-158). A token carries the position after the last item returned
//! and a fingerprint of the request's filters, so that a token cannot be reused with other
//! filters.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDate;
use sha2::{Digest, Sha256};

/// A page size as asked for, resolved against a default and a cap; negative is an error.
pub fn page_size(asked: i32, default: i64, max: i64) -> Result<i64, String> {
    match asked {
        n if n < 0 => Err(format!("must not be negative (got {n})")),
        0 => Ok(default),
        n => Ok(i64::from(n).min(max)),
    }
}

/// A short fingerprint of the filters of a listing.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hasher.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A token for the page after `position`.
pub fn encode(fingerprint: &str, position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("1|{fingerprint}|{position}"))
}

/// The position a token carries, if it was made for these filters.
pub fn decode(token: &str, fingerprint: &str) -> Result<Option<String>, String> {
    if token.is_empty() {
        return Ok(None);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| "is not a page token returned by this method".to_owned())?;
    let text = String::from_utf8(bytes)
        .map_err(|_| "is not a page token returned by this method".to_owned())?;
    let mut parts = text.splitn(3, '|');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("1"), Some(print), Some(position)) if print == fingerprint => {
            Ok(Some(position.to_owned()))
        }
        (Some("1"), Some(_), Some(_)) => {
            Err("was issued for a request with other filters; start again without it".to_owned())
        }
        _ => Err("is not a page token returned by this method".to_owned()),
    }
}

/// The position a token carries, read by `parse`, if it was made for these filters.
pub fn decode_with<T>(
    token: &str,
    fingerprint: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<Option<T>, String> {
    decode(token, fingerprint)?
        .map(|position| {
            parse(&position).ok_or_else(|| "is damaged; start again without it".to_owned())
        })
        .transpose()
}

/// The number a token carries as its position (an id or a revision), if it was made for
/// these filters.
pub fn decode_number<T: std::str::FromStr>(
    token: &str,
    fingerprint: &str,
) -> Result<Option<T>, String> {
    decode_with(token, fingerprint, |position| position.parse::<T>().ok())
}

/// Where a listing of cases ordered by (acceptance date, id) goes on: after this case. Its
/// token's position is `{accepted_on}|{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CasePosition {
    /// The acceptance date of the last case of the page.
    pub accepted_on: NaiveDate,
    /// Its id.
    pub id: i64,
}

impl CasePosition {
    /// A token for the page after this case.
    pub fn encode(&self, fingerprint: &str) -> String {
        encode(fingerprint, &format!("{}|{}", self.accepted_on, self.id))
    }

    /// The position a token carries, if it was made for these filters.
    pub fn decode(token: &str, fingerprint: &str) -> Result<Option<Self>, String> {
        decode_with(token, fingerprint, |position| {
            let (day, id) = position.split_once('|')?;
            Some(Self {
                accepted_on: NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?,
                id: id.parse().ok()?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_bind_filters() {
        let print = fingerprint(&["regions/530000", "2"]);
        let token = encode(&print, "530102");
        assert_eq!(decode(&token, &print), Ok(Some("530102".to_owned())));
        assert!(decode(&token, &fingerprint(&["regions/110000", "2"])).is_err());
        assert!(decode("garbage!", &print).is_err());
        assert_eq!(decode("", &print), Ok(None));
    }

    #[test]
    fn sizes_default_and_cap() {
        assert_eq!(page_size(0, 50, 500), Ok(50));
        assert_eq!(page_size(10_000, 50, 500), Ok(500));
        assert!(page_size(-1, 50, 500).is_err());
    }

    #[test]
    fn case_positions_round_trip_in_the_issued_encoding() {
        let print = fingerprint(&["cases"]);
        let position = CasePosition {
            accepted_on: NaiveDate::from_ymd_opt(2021, 3, 4).expect("date"),
            id: 42,
        };
        let token = position.encode(&print);
        assert_eq!(token, encode(&print, "2021-03-04|42"));
        assert_eq!(CasePosition::decode(&token, &print), Ok(Some(position)));
        assert_eq!(CasePosition::decode("", &print), Ok(None));
        assert!(CasePosition::decode(&encode(&print, "2021-03-04"), &print).is_err());
        assert!(CasePosition::decode(&encode(&print, "x|42"), &print).is_err());
    }
}
