//! Validation of incoming messages into rows to insert. Each function records every problem
//! it finds in a [`Violations`] under the field's path, so that one error names them all.

use chrono::{Duration, NaiveDate, Utc};
use procura_proto::v1 as pb;
use uuid::Uuid;

use super::convert::date;
use crate::db::models::{NewAid, NewCase, NewMeasure, NewResolution};
use crate::error::Violations;

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

/// A known, specified value of enum `E`, as stored.
pub fn enum_value<E: TryFrom<i32>>(value: i32, what: &str) -> Result<i16, String> {
    if value == 0 {
        return Err(format!("is required: no {what} was given"));
    }
    match (E::try_from(value), i16::try_from(value)) {
        (Ok(_), Ok(stored)) => Ok(stored),
        _ => Err(format!("{value} is not a known {what}")),
    }
}

/// An optional filter on enum `E`: 0 means "any".
pub fn optional_enum<E: TryFrom<i32>>(value: i32, what: &str) -> Result<Option<i16>, String> {
    if value == 0 {
        Ok(None)
    } else {
        enum_value::<E>(value, what).map(Some)
    }
}

/// An optional AIP-155 request id: empty, or a UUID.
pub fn request_id(text: &str) -> Result<Option<Uuid>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    Uuid::parse_str(text)
        .map(Some)
        .map_err(|_| format!("`{text}` is not a UUID"))
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

/// A text field: trimmed, at most `max` characters, no control characters but line breaks and
/// tabs (PostgreSQL cannot store NUL, and the others are never meant).
pub fn text(value: &str, max: usize, required: bool) -> Result<String, String> {
    let trimmed = value.trim();
    if let Some(bad) = trimmed
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        Err(format!(
            "contains the control character U+{:04X}; remove it",
            u32::from(bad)
        ))
    } else if required && trimmed.is_empty() {
        Err("is required".to_owned())
    } else if trimmed.chars().count() > max {
        Err(format!("is longer than {max} characters"))
    } else {
        Ok(trimmed.to_owned())
    }
}

fn on_or_after(
    day: NaiveDate,
    earliest: Option<NaiveDate>,
    what: &str,
) -> Result<NaiveDate, String> {
    match earliest {
        Some(earliest) if day < earliest => {
            Err(format!("{day} is before the case's {what} {earliest}"))
        }
        _ => Ok(day),
    }
}

/// The case-level fields of a case, validated; the caller checks the region exists.
pub fn case_fields(case: &pb::Case, prefix: &str, v: &mut Violations) -> Option<NewCase> {
    let field = |name: &str| format!("{prefix}.{name}");
    let region = v.check(
        &field("region"),
        crate::domain::region::RegionCode::from_name(&case.region),
    );
    let case_number = v.check(
        &field("case_number"),
        text(&case.case_number, MAX_CASE_NUMBER, true),
    );
    let case_type = v.check(
        &field("case_type"),
        enum_value::<pb::CaseType>(case.case_type, "case type"),
    );
    let status = if case.status == 0 {
        Some(pb::CaseStatus::Accepted as i16)
    } else {
        v.check(
            &field("status"),
            enum_value::<pb::CaseStatus>(case.status, "case status"),
        )
    };
    let applicant_type = v.check(
        &field("applicant_type"),
        enum_value::<pb::ApplicantType>(case.applicant_type, "applicant type"),
    );
    let sector = v.check(
        &field("sector"),
        enum_value::<pb::Sector>(case.sector, "sector"),
    );
    let accepted_on = v.check(&field("accepted_on"), past_date(case.accepted_on.as_ref()));
    let concluded_on = v.check(
        &field("concluded_on"),
        date::optional(case.concluded_on.as_ref()).and_then(|d| d.map(not_future).transpose()),
    );
    let summary = v.check(&field("summary"), text(&case.summary, MAX_TEXT, false));
    if case.spp_listed_batch < 0 {
        v.add(
            field("spp_listed_batch"),
            format!(
                "{} is negative: give a batch number of 1 or more, or 0 when not listed",
                case.spp_listed_batch
            ),
        );
    }
    if let (Some(status), Some(concluded_on)) = (status, concluded_on) {
        check_conclusion(status, accepted_on, concluded_on, &field("concluded_on"), v);
    }
    Some(NewCase {
        region_code: region?.as_str().to_owned(),
        case_number: case_number?,
        case_type: case_type?,
        status: status?,
        applicant_type: applicant_type?,
        sector: sector?,
        accepted_on: accepted_on?,
        concluded_on: concluded_on?,
        leader_handled: case.leader_handled,
        public_hearing: case.public_hearing,
        private_enterprise: case.private_enterprise,
        spp_listed_batch: case.spp_listed_batch.max(0),
        typical: case.typical,
        summary: summary?,
        request_id: None,
    })
}

/// The rules tying status, acceptance and conclusion dates together.
pub fn check_conclusion(
    status: i16,
    accepted_on: Option<NaiveDate>,
    concluded_on: Option<NaiveDate>,
    field: &str,
    v: &mut Violations,
) {
    let concluded = pb::CaseStatus::Concluded as i16;
    let withdrawn = pb::CaseStatus::Withdrawn as i16;
    match concluded_on {
        None if status == concluded => {
            v.add(field, "is required when the status is concluded");
        }
        Some(_) if status != concluded && status != withdrawn => {
            v.add(field, "must be empty unless the status is concluded");
        }
        Some(day) => {
            if let Err(reason) = on_or_after(day, accepted_on, "acceptance date") {
                v.add(field, reason);
            }
        }
        None => {}
    }
}

/// A measure, validated; `accepted_on` is the case's acceptance date when known.
pub fn measure(
    m: &pb::Measure,
    prefix: &str,
    accepted_on: Option<NaiveDate>,
    v: &mut Violations,
) -> Option<NewMeasure> {
    let field = |name: &str| format!("{prefix}.{name}");
    let kind = v.check(
        &field("kind"),
        enum_value::<pb::MeasureKind>(m.kind, "measure kind"),
    );
    let issued_on = v.check(
        &field("issued_on"),
        past_date(m.issued_on.as_ref())
            .and_then(|d| on_or_after(d, accepted_on, "acceptance date")),
    );
    let addressee_type = v.check(
        &field("addressee_type"),
        enum_value::<pb::AddresseeType>(m.addressee_type, "addressee type"),
    );
    if let (Some(kind), Some(addressee_type)) = (kind, addressee_type)
        && let Err(reason) = addressee_fits(kind, addressee_type)
    {
        v.add(field("addressee_type"), reason);
    }
    let addressee = v.check(&field("addressee"), text(&m.addressee, MAX_NAME, true));
    let adoption = if m.adoption == 0 {
        Some(pb::Adoption::Pending as i16)
    } else {
        v.check(
            &field("adoption"),
            enum_value::<pb::Adoption>(m.adoption, "adoption"),
        )
    };
    let answered_on = v.check(
        &field("answered_on"),
        date::optional(m.answered_on.as_ref()).and_then(|d| d.map(not_future).transpose()),
    );
    if let (Some(adoption), Some(answered_on)) = (adoption, answered_on) {
        check_answer(adoption, issued_on, answered_on, &field("answered_on"), v);
    }
    Some(NewMeasure {
        case_id: 0,
        kind: kind?,
        issued_on: issued_on?,
        addressee_type: addressee_type?,
        addressee: addressee?,
        adoption: adoption?,
        answered_on: answered_on?,
        request_id: None,
    })
}

/// Whether a measure of `kind` may go to an addressee of `addressee_type`.
pub fn addressee_fits(kind: i16, addressee_type: i16) -> Result<(), String> {
    use pb::{AddresseeType as A, MeasureKind as K};
    let court = A::Court as i16;
    let organ = A::AdministrativeOrgan as i16;
    match kind {
        k if k == K::SocialGovernanceSuggestion as i16 => Ok(()),
        k if k == K::AdministrativeOrganSuggestion as i16 => {
            if addressee_type == organ {
                Ok(())
            } else {
                Err("a suggestion to an administrative organ must be addressed to an administrative organ".to_owned())
            }
        }
        _ if addressee_type == court => Ok(()),
        _ => Err("protests and the four court suggestions must be addressed to a court".to_owned()),
    }
}

/// The rules tying adoption and the answer date together.
pub fn check_answer(
    adoption: i16,
    issued_on: Option<NaiveDate>,
    answered_on: Option<NaiveDate>,
    field: &str,
    v: &mut Violations,
) {
    let pending = pb::Adoption::Pending as i16;
    match answered_on {
        None if adoption != pending => {
            v.add(
                field,
                "is required once the addressee has answered (adopted or not adopted)",
            );
        }
        Some(_) if adoption == pending => {
            v.add(field, "must be empty while the answer is pending");
        }
        Some(day) => {
            if let Err(reason) = on_or_after(day, issued_on, "issue date") {
                v.add(
                    field,
                    reason.replace("case's issue date", "measure's issue date"),
                );
            }
        }
        None => {}
    }
}

/// A resolution, validated.
pub fn resolution(
    r: &pb::Resolution,
    prefix: &str,
    accepted_on: Option<NaiveDate>,
    v: &mut Violations,
) -> Option<NewResolution> {
    let field = |name: &str| format!("{prefix}.{name}");
    let method = v.check(
        &field("method"),
        enum_value::<pb::ResolutionMethod>(r.method, "resolution method"),
    );
    let resolved_on = v.check(
        &field("resolved_on"),
        past_date(r.resolved_on.as_ref())
            .and_then(|d| on_or_after(d, accepted_on, "acceptance date")),
    );
    let note = v.check(&field("note"), text(&r.note, MAX_TEXT, false));
    Some(NewResolution {
        case_id: 0,
        method: method?,
        resolved_on: resolved_on?,
        note: note?,
        request_id: None,
    })
}

/// An aid grant, validated.
pub fn aid(
    a: &pb::JudicialAid,
    prefix: &str,
    accepted_on: Option<NaiveDate>,
    v: &mut Violations,
) -> Option<NewAid> {
    let field = |name: &str| format!("{prefix}.{name}");
    let granted_on = v.check(
        &field("granted_on"),
        past_date(a.granted_on.as_ref())
            .and_then(|d| on_or_after(d, accepted_on, "acceptance date")),
    );
    let amount_fen = v.check(
        &field("amount_fen"),
        if (1..=MAX_AID_FEN).contains(&a.amount_fen) {
            Ok(a.amount_fen)
        } else {
            Err(format!(
                "{} is not an amount of 1 to {MAX_AID_FEN} fen (1 yuan = 100 fen)",
                a.amount_fen
            ))
        },
    );
    let recipient = v.check(&field("recipient"), text(&a.recipient, MAX_NAME, false));
    Some(NewAid {
        case_id: 0,
        granted_on: granted_on?,
        amount_fen: amount_fen?,
        recipient: recipient?,
        request_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addressees_fit_kinds() {
        use pb::{AddresseeType as A, MeasureKind as K};
        assert!(addressee_fits(K::Protest as i16, A::Court as i16).is_ok());
        assert!(addressee_fits(K::Protest as i16, A::AdministrativeOrgan as i16).is_err());
        assert!(addressee_fits(K::AdministrativeOrganSuggestion as i16, A::Court as i16).is_err());
        assert!(addressee_fits(K::SocialGovernanceSuggestion as i16, A::OtherOrgan as i16).is_ok());
    }

    #[test]
    fn enums_must_be_known_and_given() {
        assert!(enum_value::<pb::CaseType>(0, "case type").is_err());
        assert!(enum_value::<pb::CaseType>(99, "case type").is_err());
        assert_eq!(enum_value::<pb::CaseType>(1, "case type"), Ok(1));
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
    fn request_ids_are_uuids() {
        assert_eq!(request_id(""), Ok(None));
        assert!(request_id("not-a-uuid").is_err());
        assert!(request_id("6f1c3e1e-8d5f-4c53-9a55-1f0b8e1f2a3b").is_ok());
    }
}
