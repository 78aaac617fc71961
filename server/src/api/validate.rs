//! Validation of incoming messages into domain values. Each function gives the value, or every
//! problem it finds under the field's path, so that one error names them all.

use chrono::{Duration, NaiveDate, Utc};
use procura_proto::v1 as pb;
use uuid::Uuid;

use super::convert::date;
use crate::domain::date::not_before;
use crate::domain::enums::{Adoption, CaseStatus, UnknownValue};
use crate::domain::record::{AidGrant, Case, Measure, Resolution};
use crate::domain::region::RegionCode;
use crate::domain::text;
use crate::error::{AllChecked, Checked, Violations, field};

/// Longest case number.
pub const MAX_CASE_NUMBER: usize = 100;
/// Longest summary or note.
pub const MAX_TEXT: usize = 2000;
/// Longest addressee or recipient name.
pub const MAX_NAME: usize = 200;
/// Largest single aid grant: 1,000,000 yuan.
pub const MAX_AID_FEN: i64 = 100_000_000;

/// Today in China Standard Time (UTC+8), the latest date any record may carry.
pub fn today() -> NaiveDate {
    (Utc::now() + Duration::hours(8)).date_naive()
}

/// A known, specified value of enum `E`.
pub fn enum_value<E: TryFrom<i16, Error = UnknownValue>>(
    value: i32,
    what: &str,
) -> Result<E, String> {
    if value == 0 {
        return Err(format!("is required: no {what} was given"));
    }
    i16::try_from(value)
        .ok()
        .and_then(|n| E::try_from(n).ok())
        .ok_or_else(|| format!("{value} is not a known {what}"))
}

/// An optional filter on enum `E`: 0 means "any".
pub fn optional_enum<E: TryFrom<i16, Error = UnknownValue>>(
    value: i32,
    what: &str,
) -> Result<Option<E>, String> {
    if value == 0 {
        Ok(None)
    } else {
        enum_value::<E>(value, what).map(Some)
    }
}

/// An optional AIP-155 request id: empty, or a UUID.
pub fn request_id(value: &str) -> Result<Option<Uuid>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    Uuid::parse_str(value)
        .map(Some)
        .map_err(|_| format!("{} is not a UUID", text::quote(value)))
}

/// Longest reason for a change.
pub const MAX_REASON: usize = 500;

/// The reason given for a change, or `default` when none was.
pub fn reason(reason: &str, default: &str) -> Result<String, String> {
    let trimmed = text(reason, MAX_REASON, false)?;
    if trimmed.is_empty() {
        Ok(default.to_owned())
    } else {
        Ok(trimmed)
    }
}

/// A required date, not after today.
pub fn past_date(value: Option<&pb::Date>) -> Result<NaiveDate, String> {
    let day = date::required(value)?;
    not_future(day)
}

fn not_future(day: NaiveDate) -> Result<NaiveDate, String> {
    let today = today();
    if day > today {
        Err(format!("{day} is in the future (today is {today})"))
    } else {
        Ok(day)
    }
}

/// A free-text field (a summary, a note, a reason): in NFC, trimmed, at most `max` characters;
/// line breaks and tabs are kept, other control characters and bidirectional controls refused
/// ([`text::Lines::Many`]; PostgreSQL cannot store NUL, and the others are never meant).
pub fn text(value: &str, max: usize, required: bool) -> Result<String, String> {
    checked_text(value, max, required, text::Lines::Many)
}

/// A one-line identifying field (a case number, an addressee, a recipient, a title): in NFC,
/// trimmed, at most `max` characters, without control characters (line breaks and tabs
/// included), line separators, bidirectional controls or zero-width characters
/// ([`text::Lines::One`]).
pub fn line(value: &str, max: usize, required: bool) -> Result<String, String> {
    checked_text(value, max, required, text::Lines::One)
}

fn checked_text(
    value: &str,
    max: usize,
    required: bool,
    lines: text::Lines,
) -> Result<String, String> {
    let normal = text::normalise(value, lines)?;
    if required && normal.is_empty() {
        Err("is required".to_owned())
    } else if normal.chars().count() > max {
        Err(format!(
            "is longer than {max} characters ({} given)",
            normal.chars().count()
        ))
    } else {
        Ok(normal)
    }
}

fn on_or_after(
    day: NaiveDate,
    earliest: Option<NaiveDate>,
    what: &str,
) -> Result<NaiveDate, String> {
    match earliest {
        Some(earliest) => not_before(day, earliest, what).map(|()| day),
        None => Ok(day),
    }
}

/// A past date not before `earliest`, when known.
fn record_date(value: Option<&pb::Date>, earliest: Option<NaiveDate>) -> Result<NaiveDate, String> {
    past_date(value).and_then(|d| on_or_after(d, earliest, "acceptance date"))
}

/// An optional past date.
fn optional_past_date(value: Option<&pb::Date>) -> Result<Option<NaiveDate>, String> {
    date::optional(value).and_then(|d| d.map(not_future).transpose())
}

/// The case-level fields of a case (no records under it); the caller checks the region exists.
pub fn case_fields(case: &pb::Case, prefix: &str) -> Checked<Case> {
    let path = |name: &str| format!("{prefix}.{name}");
    let status = if case.status == 0 {
        Ok(CaseStatus::Accepted)
    } else {
        field(path("status"), enum_value(case.status, "case status"))
    };
    let accepted_on = field(path("accepted_on"), past_date(case.accepted_on.as_ref()));
    let concluded_on = field(
        path("concluded_on"),
        optional_past_date(case.concluded_on.as_ref()),
    );
    let batch = if case.spp_listed_batch < 0 {
        field(
            path("spp_listed_batch"),
            Err(format!(
                "{} is negative: give a batch number of 1 or more, or 0 when not listed",
                case.spp_listed_batch
            )),
        )
    } else {
        Ok(case.spp_listed_batch)
    };
    let conclusion = match (&status, &concluded_on) {
        (Ok(status), Ok(concluded_on)) => check_conclusion(
            *status,
            accepted_on.as_ref().ok().copied(),
            *concluded_on,
            &path("concluded_on"),
        ),
        _ => Ok(()),
    };
    let (
        region_code,
        case_number,
        case_type,
        status,
        applicant_type,
        sector,
        accepted_on,
        concluded_on,
        summary,
        spp_listed_batch,
        (),
    ) = (
        field(path("region"), RegionCode::from_name(&case.region)),
        field(
            path("case_number"),
            line(&case.case_number, MAX_CASE_NUMBER, true),
        ),
        field(path("case_type"), enum_value(case.case_type, "case type")),
        status,
        field(
            path("applicant_type"),
            enum_value(case.applicant_type, "applicant type"),
        ),
        field(path("sector"), enum_value(case.sector, "sector")),
        accepted_on,
        concluded_on,
        field(path("summary"), text(&case.summary, MAX_TEXT, false)),
        batch,
        conclusion,
    )
        .all()?;
    Ok(Case {
        region_code,
        case_number,
        case_type,
        status,
        applicant_type,
        sector,
        accepted_on,
        concluded_on,
        leader_handled: case.leader_handled,
        public_hearing: case.public_hearing,
        private_enterprise: case.private_enterprise,
        spp_listed_batch,
        typical: case.typical,
        summary,
        measures: Vec::new(),
        resolution: None,
        aid: Vec::new(),
    })
}

/// The rules tying status, acceptance and conclusion dates together.
pub fn check_conclusion(
    status: CaseStatus,
    accepted_on: Option<NaiveDate>,
    concluded_on: Option<NaiveDate>,
    path: &str,
) -> Checked<()> {
    let result = match concluded_on {
        None if status == CaseStatus::Concluded => {
            Err("is required when the status is concluded".to_owned())
        }
        Some(_) if status == CaseStatus::Accepted => {
            Err("must be empty unless the status is concluded".to_owned())
        }
        Some(day) => on_or_after(day, accepted_on, "acceptance date").map(drop),
        None => Ok(()),
    };
    field(path, result)
}

/// A measure (id 0); `accepted_on` is the case's acceptance date when known.
pub fn measure(m: &pb::Measure, prefix: &str, accepted_on: Option<NaiveDate>) -> Checked<Measure> {
    let path = |name: &str| format!("{prefix}.{name}");
    let kind = field(path("kind"), enum_value(m.kind, "measure kind"));
    let issued_on = field(
        path("issued_on"),
        record_date(m.issued_on.as_ref(), accepted_on),
    );
    let addressee_type = field(
        path("addressee_type"),
        enum_value(m.addressee_type, "addressee type"),
    );
    let fits = match (&kind, &addressee_type) {
        (Ok(kind), Ok(addressee_type)) => field(
            path("addressee_type"),
            crate::domain::record::addressee_fits(*kind, *addressee_type),
        ),
        _ => Ok(()),
    };
    let addressee = field(path("addressee"), line(&m.addressee, MAX_NAME, true));
    let adoption = if m.adoption == 0 {
        Ok(Adoption::Pending)
    } else {
        field(path("adoption"), enum_value(m.adoption, "adoption"))
    };
    let answered_on = field(
        path("answered_on"),
        optional_past_date(m.answered_on.as_ref()),
    );
    let answer = match (&adoption, &answered_on) {
        (Ok(adoption), Ok(answered_on)) => check_answer(
            *adoption,
            issued_on.as_ref().ok().copied(),
            *answered_on,
            &path("answered_on"),
        ),
        _ => Ok(()),
    };
    let (kind, issued_on, addressee_type, (), addressee, adoption, answered_on, ()) = (
        kind,
        issued_on,
        addressee_type,
        fits,
        addressee,
        adoption,
        answered_on,
        answer,
    )
        .all()?;
    Ok(Measure {
        id: 0,
        kind,
        issued_on,
        addressee_type,
        addressee,
        adoption,
        answered_on,
    })
}

/// The rules tying adoption and the answer date together.
pub fn check_answer(
    adoption: Adoption,
    issued_on: Option<NaiveDate>,
    answered_on: Option<NaiveDate>,
    path: &str,
) -> Checked<()> {
    let pending = adoption == Adoption::Pending;
    let result = match answered_on {
        None if !pending => {
            Err("is required once the addressee has answered (adopted or not adopted)".to_owned())
        }
        Some(_) if pending => Err("must be empty while the answer is pending".to_owned()),
        Some(day) => on_or_after(day, issued_on, "issue date")
            .map(drop)
            .map_err(|reason| reason.replace("case's issue date", "measure's issue date")),
        None => Ok(()),
    };
    field(path, result)
}

/// A resolution.
pub fn resolution(
    r: &pb::Resolution,
    prefix: &str,
    accepted_on: Option<NaiveDate>,
) -> Checked<Resolution> {
    let path = |name: &str| format!("{prefix}.{name}");
    let (method, resolved_on, note) = (
        field(path("method"), enum_value(r.method, "resolution method")),
        field(
            path("resolved_on"),
            record_date(r.resolved_on.as_ref(), accepted_on),
        ),
        field(path("note"), text(&r.note, MAX_TEXT, false)),
    )
        .all()?;
    Ok(Resolution {
        method,
        resolved_on,
        note,
    })
}

/// An aid grant (id 0).
pub fn aid(a: &pb::JudicialAid, prefix: &str, accepted_on: Option<NaiveDate>) -> Checked<AidGrant> {
    let path = |name: &str| format!("{prefix}.{name}");
    let amount = if (1..=MAX_AID_FEN).contains(&a.amount_fen) {
        Ok(a.amount_fen)
    } else {
        Err(format!(
            "{} is not an amount of 1 to {MAX_AID_FEN} fen (1 yuan = 100 fen)",
            a.amount_fen
        ))
    };
    let (granted_on, amount_fen, recipient) = (
        field(
            path("granted_on"),
            record_date(a.granted_on.as_ref(), accepted_on),
        ),
        field(path("amount_fen"), amount),
        field(path("recipient"), line(&a.recipient, MAX_NAME, false)),
    )
        .all()?;
    Ok(AidGrant {
        id: 0,
        granted_on,
        amount_fen,
        recipient,
    })
}

/// Every problem of `checked`, or its value: the end of a request's validation.
pub fn finish<T>(checked: Checked<T>) -> Result<T, crate::error::ApiError> {
    checked.map_err(Violations::into)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::enums::CaseType;

    #[test]
    fn enums_must_be_known_and_given() {
        assert!(enum_value::<CaseType>(0, "case type").is_err());
        assert!(enum_value::<CaseType>(99, "case type").is_err());
        assert!(enum_value::<CaseType>(70_000, "case type").is_err());
        assert_eq!(
            enum_value::<CaseType>(1, "case type"),
            Ok(CaseType::JudgmentSupervision)
        );
    }

    #[test]
    fn text_refuses_control_characters() {
        assert!(text("a\0b", 10, true).is_err());
        assert!(text("a\u{7}b", 10, true).is_err());
        assert_eq!(
            text(" 第一行\n第二行 ", 10, true),
            Ok("第一行\n第二行".to_owned())
        );
        assert!(reason("x\0", "d").is_err());
        assert_eq!(reason("  ", "d"), Ok("d".to_owned()));
    }

    #[test]
    fn lines_refuse_line_breaks_and_are_stored_in_nfc() {
        assert!(line("A-1\n2026", 100, true).is_err());
        assert!(line("A-1\u{200B}", 100, true).is_err());
        assert_eq!(line(" Cafe\u{301} ", 100, true), Ok("Caf\u{e9}".to_owned()));
        assert_eq!(line(" \u{3000} ", 100, true), Err("is required".to_owned()));
        assert!(line(&"e\u{301}".repeat(100), 100, true).is_ok());
    }

    #[test]
    fn request_ids_are_uuids() {
        assert_eq!(request_id(""), Ok(None));
        assert!(request_id("not-a-uuid").is_err());
        assert!(request_id("6f1c3e1e-8d5f-4c53-9a55-1f0b8e1f2a3b").is_ok());
    }
}
