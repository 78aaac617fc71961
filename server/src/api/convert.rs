//! Conversions from stored rows to `procura.v1` messages.

use chrono::{DateTime, Utc};
use procura_proto::v1 as pb;
use prost::Message;

use crate::db::models::{AidRow, CaseRecord, MeasureRow, RegionRow, ResolutionRow, RevisionRow};
use crate::domain::record::FieldChange;
use crate::domain::{names, region::RegionCode};
use crate::service::answers;

/// Conversion between `procura.v1.Date` and calendar dates.
pub mod date {
    use chrono::{Datelike, NaiveDate};
    use procura_proto::v1::Date;

    /// A valid calendar date from its message, or why not.
    pub fn from_proto(date: &Date) -> Result<NaiveDate, String> {
        crate::domain::date::from_ymd(date.year, date.month, date.day)
    }

    /// A required date field: missing is an error.
    pub fn required(date: Option<&Date>) -> Result<NaiveDate, String> {
        match date {
            Some(date) => from_proto(date),
            None => Err("is required".to_owned()),
        }
    }

    /// An optional date field.
    pub fn optional(date: Option<&Date>) -> Result<Option<NaiveDate>, String> {
        date.map(from_proto).transpose()
    }

    /// The message for a date.
    pub fn to_proto(date: NaiveDate) -> Date {
        Date {
            year: date.year(),
            month: date.month() as i32,
            day: date.day() as i32,
        }
    }
}

/// A protobuf timestamp.
pub fn timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}

/// The etag of a case at `version` (AIP-154).
pub fn etag(version: i32) -> String {
    crate::service::cases::etag_of(version)
}

/// A region message.
pub fn region(row: RegionRow, child_count: i64) -> pb::Region {
    pb::Region {
        name: format!("regions/{}", row.code),
        parent: row
            .parent_code
            .map(|p| format!("regions/{p}"))
            .unwrap_or_default(),
        code: row.code,
        level: i32::from(row.level),
        display_name: row.name,
        english_name: row.name_en,
        child_count: i32::try_from(child_count).unwrap_or(i32::MAX),
    }
}

/// A measure message.
pub fn measure(row: MeasureRow) -> pb::Measure {
    pb::Measure {
        name: names::measure(row.case_id, row.id),
        kind: i32::from(row.kind),
        issued_on: Some(date::to_proto(row.issued_on)),
        addressee_type: i32::from(row.addressee_type),
        addressee: row.addressee,
        adoption: i32::from(row.adoption),
        answered_on: row.answered_on.map(date::to_proto),
        create_time: Some(timestamp(row.create_time)),
        update_time: Some(timestamp(row.update_time)),
    }
}

/// A resolution message.
pub fn resolution(row: ResolutionRow) -> pb::Resolution {
    pb::Resolution {
        name: names::resolution(row.case_id),
        method: i32::from(row.method),
        resolved_on: Some(date::to_proto(row.resolved_on)),
        note: row.note,
        create_time: Some(timestamp(row.create_time)),
    }
}

/// A judicial aid message.
pub fn aid(row: AidRow) -> pb::JudicialAid {
    pb::JudicialAid {
        name: names::aid_grant(row.case_id, row.id),
        granted_on: Some(date::to_proto(row.granted_on)),
        amount_fen: row.amount_fen,
        recipient: row.recipient,
        create_time: Some(timestamp(row.create_time)),
    }
}

/// How GetCase answers are kept: a case's message, encoded, and read back.
pub fn case_answers() -> answers::Codec<pb::Case> {
    answers::Codec {
        decode: |bytes| pb::Case::decode(bytes).ok(),
        build: case,
    }
}

/// The GetCase message of a case as stored, encoded: its kept answer.
pub fn encode_case(record: CaseRecord) -> Vec<u8> {
    case(record).encode_to_vec()
}

/// A case message with everything under it.
pub fn case(record: CaseRecord) -> pb::Case {
    let row = record.case;
    pb::Case {
        name: names::case(row.id),
        region: RegionCode::parse(&row.region_code)
            .map(|code| code.name())
            .unwrap_or_else(|_| format!("regions/{}", row.region_code)),
        case_number: row.case_number,
        case_type: i32::from(row.case_type),
        status: i32::from(row.status),
        applicant_type: i32::from(row.applicant_type),
        sector: i32::from(row.sector),
        accepted_on: Some(date::to_proto(row.accepted_on)),
        concluded_on: row.concluded_on.map(date::to_proto),
        leader_handled: row.leader_handled,
        public_hearing: row.public_hearing,
        private_enterprise: row.private_enterprise,
        spp_listed_batch: row.spp_listed_batch,
        typical: row.typical,
        summary: row.summary,
        measures: record.measures.into_iter().map(measure).collect(),
        resolution: record.resolution.map(resolution),
        aid_grants: record.aid.into_iter().map(aid).collect(),
        create_time: Some(timestamp(row.create_time)),
        update_time: Some(timestamp(row.update_time)),
        etag: etag(row.version),
    }
}

/// The fields of a case as a message, without its records, name, times or etag.
pub fn case_fields(c: &crate::domain::record::Case) -> pb::Case {
    pb::Case {
        region: c.region_code.name(),
        case_number: c.case_number.clone(),
        case_type: i32::from(c.case_type.number()),
        status: i32::from(c.status.number()),
        applicant_type: i32::from(c.applicant_type.number()),
        sector: i32::from(c.sector.number()),
        accepted_on: Some(date::to_proto(c.accepted_on)),
        concluded_on: c.concluded_on.map(date::to_proto),
        leader_handled: c.leader_handled,
        public_hearing: c.public_hearing,
        private_enterprise: c.private_enterprise,
        spp_listed_batch: c.spp_listed_batch,
        typical: c.typical,
        summary: c.summary.clone(),
        ..pb::Case::default()
    }
}

/// The fields of a measure as a message, without its name or times.
pub fn measure_fields(m: &crate::domain::record::Measure) -> pb::Measure {
    pb::Measure {
        kind: i32::from(m.kind.number()),
        issued_on: Some(date::to_proto(m.issued_on)),
        addressee_type: i32::from(m.addressee_type.number()),
        addressee: m.addressee.clone(),
        adoption: i32::from(m.adoption.number()),
        answered_on: m.answered_on.map(date::to_proto),
        ..pb::Measure::default()
    }
}

/// A revision message.
pub fn revision(row: RevisionRow) -> pb::CaseRevision {
    let changes: Vec<FieldChange> = serde_json::from_value(row.changes).unwrap_or_default();
    pb::CaseRevision {
        name: format!("{}/revisions/{}", names::case(row.case_id), row.revision),
        revision: row.revision,
        revise_time: Some(timestamp(row.revise_time)),
        actor: row.actor,
        reason: row.reason,
        changes: changes
            .into_iter()
            .map(|c| pb::FieldChange {
                field: c.field,
                old_value: c.old,
                new_value: c.new,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::date::*;
    use procura_proto::v1::Date;

    #[test]
    fn dates_from_messages() {
        let d = |year, month, day| Date { year, month, day };
        assert!(from_proto(&d(2020, 2, 29)).is_ok());
        assert!(from_proto(&d(2021, 2, 29)).is_err());
        assert!(required(None).is_err());
        assert_eq!(optional(None), Ok(None));
    }
}
