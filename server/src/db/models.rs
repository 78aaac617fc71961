//! Rows as stored: a read struct per table, and a `New…` struct for inserts.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use diesel::result::QueryResult;

use crate::domain::enums::UnknownValue;
use crate::domain::record::{AidGrant, Case, Measure, Resolution};
use crate::domain::region::RegionCode;

use super::schema::{cases, judicial_aid, measures, regions, resolutions};

/// A division of the region tree.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = regions, check_for_backend(diesel::pg::Pg))]
pub struct RegionRow {
    /// Six-digit code.
    pub code: String,
    /// Parent's code; none for the root.
    pub parent_code: Option<String>,
    /// 1 national .. 4 county.
    pub level: i16,
    /// Chinese name.
    pub name: String,
    /// English name or empty.
    pub name_en: String,
}

/// A stored case.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = cases, check_for_backend(diesel::pg::Pg))]
pub struct CaseRow {
    /// Server-assigned id; the name is `cases/{id}`.
    pub id: i64,
    /// Code of the handling procuratorate's region.
    pub region_code: String,
    /// 案号
    pub case_number: String,
    /// procura.v1.CaseType
    pub case_type: i16,
    /// procura.v1.CaseStatus
    pub status: i16,
    /// procura.v1.ApplicantType
    pub applicant_type: i16,
    /// procura.v1.Sector
    pub sector: i16,
    /// 受理日期
    pub accepted_on: NaiveDate,
    /// 审结日期
    pub concluded_on: Option<NaiveDate>,
    /// 领导包案
    pub leader_handled: bool,
    /// 公开听证
    pub public_hearing: bool,
    /// 涉民营企业
    pub private_enterprise: bool,
    /// 挂牌督办批次, 0 when not listed
    pub spp_listed_batch: i32,
    /// 典型案例
    pub typical: bool,
    /// 案情摘要
    pub summary: String,
    /// AIP-155 idempotency key of the creating request.
    pub request_id: Option<Uuid>,
    /// Bumped by every change to the case or its records; the etag.
    pub version: i32,
    /// When stored.
    pub create_time: DateTime<Utc>,
    /// When last changed.
    pub update_time: DateTime<Utc>,
}

/// A case to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = cases)]
pub struct NewCase {
    /// See [`CaseRow`].
    pub region_code: String,
    /// See [`CaseRow`].
    pub case_number: String,
    /// See [`CaseRow`].
    pub case_type: i16,
    /// See [`CaseRow`].
    pub status: i16,
    /// See [`CaseRow`].
    pub applicant_type: i16,
    /// See [`CaseRow`].
    pub sector: i16,
    /// See [`CaseRow`].
    pub accepted_on: NaiveDate,
    /// See [`CaseRow`].
    pub concluded_on: Option<NaiveDate>,
    /// See [`CaseRow`].
    pub leader_handled: bool,
    /// See [`CaseRow`].
    pub public_hearing: bool,
    /// See [`CaseRow`].
    pub private_enterprise: bool,
    /// See [`CaseRow`].
    pub spp_listed_batch: i32,
    /// See [`CaseRow`].
    pub typical: bool,
    /// See [`CaseRow`].
    pub summary: String,
    /// See [`CaseRow`].
    pub request_id: Option<Uuid>,
}

/// A stored supervision measure.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = measures, check_for_backend(diesel::pg::Pg))]
pub struct MeasureRow {
    /// Server-assigned id.
    pub id: i64,
    /// The case it belongs to.
    pub case_id: i64,
    /// procura.v1.MeasureKind
    pub kind: i16,
    /// 发出日期
    pub issued_on: NaiveDate,
    /// procura.v1.AddresseeType
    pub addressee_type: i16,
    /// 监督对象名称
    pub addressee: String,
    /// procura.v1.Adoption
    pub adoption: i16,
    /// 回复日期
    pub answered_on: Option<NaiveDate>,
    /// AIP-155 idempotency key.
    pub request_id: Option<Uuid>,
    /// When stored.
    pub create_time: DateTime<Utc>,
    /// When last changed.
    pub update_time: DateTime<Utc>,
}

/// A measure to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = measures)]
pub struct NewMeasure {
    /// See [`MeasureRow`]; set when the case id is known.
    pub case_id: i64,
    /// See [`MeasureRow`].
    pub kind: i16,
    /// See [`MeasureRow`].
    pub issued_on: NaiveDate,
    /// See [`MeasureRow`].
    pub addressee_type: i16,
    /// See [`MeasureRow`].
    pub addressee: String,
    /// See [`MeasureRow`].
    pub adoption: i16,
    /// See [`MeasureRow`].
    pub answered_on: Option<NaiveDate>,
    /// See [`MeasureRow`].
    pub request_id: Option<Uuid>,
}

/// A stored dispute resolution.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = resolutions, check_for_backend(diesel::pg::Pg))]
pub struct ResolutionRow {
    /// The case; at most one resolution each.
    pub case_id: i64,
    /// procura.v1.ResolutionMethod
    pub method: i16,
    /// 化解日期
    pub resolved_on: NaiveDate,
    /// 说明
    pub note: String,
    /// AIP-155 idempotency key.
    pub request_id: Option<Uuid>,
    /// When stored.
    pub create_time: DateTime<Utc>,
}

/// A resolution to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = resolutions)]
pub struct NewResolution {
    /// See [`ResolutionRow`].
    pub case_id: i64,
    /// See [`ResolutionRow`].
    pub method: i16,
    /// See [`ResolutionRow`].
    pub resolved_on: NaiveDate,
    /// See [`ResolutionRow`].
    pub note: String,
    /// See [`ResolutionRow`].
    pub request_id: Option<Uuid>,
}

/// A stored judicial aid grant.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = judicial_aid, check_for_backend(diesel::pg::Pg))]
pub struct AidRow {
    /// Server-assigned id.
    pub id: i64,
    /// The case.
    pub case_id: i64,
    /// 救助日期
    pub granted_on: NaiveDate,
    /// 救助金额, fen
    pub amount_fen: i64,
    /// 救助对象
    pub recipient: String,
    /// AIP-155 idempotency key.
    pub request_id: Option<Uuid>,
    /// When stored.
    pub create_time: DateTime<Utc>,
}

/// A grant to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = judicial_aid)]
pub struct NewAid {
    /// See [`AidRow`].
    pub case_id: i64,
    /// See [`AidRow`].
    pub granted_on: NaiveDate,
    /// See [`AidRow`].
    pub amount_fen: i64,
    /// See [`AidRow`].
    pub recipient: String,
    /// See [`AidRow`].
    pub request_id: Option<Uuid>,
}

/// A case with everything under it.
#[derive(Debug, Clone)]
pub struct CaseRecord {
    /// The case.
    pub case: CaseRow,
    /// Its measures, by id.
    pub measures: Vec<MeasureRow>,
    /// Its resolution, if any.
    pub resolution: Option<ResolutionRow>,
    /// Its aid grants, by id.
    pub aid: Vec<AidRow>,
}

/// A stored revision.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::case_revisions, check_for_backend(diesel::pg::Pg))]
pub struct RevisionRow {
    /// The case.
    pub case_id: i64,
    /// Revision number; the case's version after the change.
    pub revision: i32,
    /// When stored.
    pub revise_time: DateTime<Utc>,
    /// Who.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// What changed: `[{"field", "old", "new"}]`.
    pub changes: serde_json::Value,
    /// The case's state before the change; none for the creation.
    pub before: Option<serde_json::Value>,
}

/// A revision to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = super::schema::case_revisions)]
pub struct NewRevision {
    /// See [`RevisionRow`].
    pub case_id: i64,
    /// See [`RevisionRow`].
    pub revision: i32,
    /// See [`RevisionRow`].
    pub actor: String,
    /// See [`RevisionRow`].
    pub reason: String,
    /// See [`RevisionRow`].
    pub changes: serde_json::Value,
    /// See [`RevisionRow`].
    pub before: Option<serde_json::Value>,
    /// The case's state after the change (migration 000012; not in [`RevisionRow`], which
    /// most readers read: see `revisions::since_for_cases`).
    pub after: Option<serde_json::Value>,
}

/// A stored release.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = super::schema::releases, check_for_backend(diesel::pg::Pg))]
pub struct ReleaseRow {
    /// Server-assigned id; the name is `releases/{id}`.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Who published it.
    pub published_by: String,
    /// When.
    pub publish_time: DateTime<Utc>,
    /// The moment the figures reflect.
    pub as_of: DateTime<Utc>,
    /// The encoded procura.v1.Rollup as published.
    pub rollup: Vec<u8>,
    /// The canonical encoding of the values.
    pub canonical_values: String,
    /// Hex SHA-256 of `canonical_values`.
    pub sha256: String,
    /// AIP-155 idempotency key.
    pub request_id: Option<Uuid>,
    /// The snapshot the figures were read in (a `pg_snapshot` as text; see
    /// [`Moment`](super::moments::Moment)); none for releases published before migration 000011.
    pub as_of_snapshot: Option<String>,
}

/// A release to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = super::schema::releases)]
pub struct NewRelease {
    /// See [`ReleaseRow`].
    pub title: String,
    /// See [`ReleaseRow`].
    pub published_by: String,
    /// See [`ReleaseRow`].
    pub as_of: DateTime<Utc>,
    /// See [`ReleaseRow`].
    pub rollup: Vec<u8>,
    /// See [`ReleaseRow`].
    pub canonical_values: String,
    /// See [`ReleaseRow`].
    pub sha256: String,
    /// See [`ReleaseRow`].
    pub request_id: Option<Uuid>,
    /// See [`ReleaseRow`].
    pub as_of_snapshot: Option<String>,
}

impl CaseRecord {
    /// The case as the domain knows it, as kept in revisions and counted in figures; an error
    /// if a stored number names no value of its enum.
    pub fn state(&self) -> QueryResult<Case> {
        let c = &self.case;
        let measures = self
            .measures
            .iter()
            .map(MeasureRow::to_domain)
            .collect::<QueryResult<_>>()?;
        let resolution = self
            .resolution
            .as_ref()
            .map(|r| resolution_of(r.method, r.resolved_on, &r.note))
            .transpose()?;
        let aid = self
            .aid
            .iter()
            .map(|a| aid_of(a.id, a.granted_on, a.amount_fen, &a.recipient))
            .collect();
        Ok(Case {
            region_code: RegionCode::parse(&c.region_code)
                .map_err(|e| diesel::result::Error::DeserializationError(e.into()))?,
            case_number: c.case_number.clone(),
            case_type: known(c.case_type)?,
            status: known(c.status)?,
            applicant_type: known(c.applicant_type)?,
            sector: known(c.sector)?,
            accepted_on: c.accepted_on,
            concluded_on: c.concluded_on,
            leader_handled: c.leader_handled,
            public_hearing: c.public_hearing,
            private_enterprise: c.private_enterprise,
            spp_listed_batch: c.spp_listed_batch,
            typical: c.typical,
            summary: c.summary.clone(),
            measures,
            resolution,
            aid,
        })
    }
}

/// A stored number as its domain enum.
fn known<E: TryFrom<i16, Error = UnknownValue>>(value: i16) -> QueryResult<E> {
    E::try_from(value).map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
}

fn measure_of(
    id: i64,
    (kind, issued_on, addressee_type): (i16, NaiveDate, i16),
    addressee: &str,
    (adoption, answered_on): (i16, Option<NaiveDate>),
) -> QueryResult<Measure> {
    Ok(Measure {
        id,
        kind: known(kind)?,
        issued_on,
        addressee_type: known(addressee_type)?,
        addressee: addressee.to_owned(),
        adoption: known(adoption)?,
        answered_on,
    })
}

fn resolution_of(method: i16, resolved_on: NaiveDate, note: &str) -> QueryResult<Resolution> {
    Ok(Resolution {
        method: known(method)?,
        resolved_on,
        note: note.to_owned(),
    })
}

fn aid_of(id: i64, granted_on: NaiveDate, amount_fen: i64, recipient: &str) -> AidGrant {
    AidGrant {
        id,
        granted_on,
        amount_fen,
        recipient: recipient.to_owned(),
    }
}

/// A validated new case with the records given with it.
#[derive(Debug, Clone)]
pub struct NewCaseRecord {
    /// The case.
    pub case: NewCase,
    /// Its measures (case id not yet set).
    pub measures: Vec<NewMeasure>,
    /// Its resolution, if any.
    pub resolution: Option<NewResolution>,
    /// Its aid grants.
    pub aid: Vec<NewAid>,
    /// The case as it will be once stored (ids not yet known).
    pub state: Case,
}

impl NewCaseRecord {
    /// The rows that store `case` (its records' ids unset), sent with `request_id`.
    pub fn new(case: Case, request_id: Option<Uuid>) -> Self {
        Self {
            case: NewCase {
                region_code: case.region_code.as_str().to_owned(),
                case_number: case.case_number.clone(),
                case_type: case.case_type.number(),
                status: case.status.number(),
                applicant_type: case.applicant_type.number(),
                sector: case.sector.number(),
                accepted_on: case.accepted_on,
                concluded_on: case.concluded_on,
                leader_handled: case.leader_handled,
                public_hearing: case.public_hearing,
                private_enterprise: case.private_enterprise,
                spp_listed_batch: case.spp_listed_batch,
                typical: case.typical,
                summary: case.summary.clone(),
                request_id,
            },
            measures: case
                .measures
                .iter()
                .map(|m| NewMeasure::new(0, m, None))
                .collect(),
            resolution: case
                .resolution
                .as_ref()
                .map(|r| NewResolution::new(0, r, None)),
            aid: case.aid.iter().map(|a| NewAid::new(0, a, None)).collect(),
            state: case,
        }
    }
}

impl NewMeasure {
    /// The row of measure `m` under case `case_id`.
    pub fn new(case_id: i64, m: &Measure, request_id: Option<Uuid>) -> Self {
        Self {
            case_id,
            kind: m.kind.number(),
            issued_on: m.issued_on,
            addressee_type: m.addressee_type.number(),
            addressee: m.addressee.clone(),
            adoption: m.adoption.number(),
            answered_on: m.answered_on,
            request_id,
        }
    }
}

impl NewResolution {
    /// The row of resolution `r` of case `case_id`.
    pub fn new(case_id: i64, r: &Resolution, request_id: Option<Uuid>) -> Self {
        Self {
            case_id,
            method: r.method.number(),
            resolved_on: r.resolved_on,
            note: r.note.clone(),
            request_id,
        }
    }
}

impl NewAid {
    /// The row of aid grant `a` under case `case_id`.
    pub fn new(case_id: i64, a: &AidGrant, request_id: Option<Uuid>) -> Self {
        Self {
            case_id,
            granted_on: a.granted_on,
            amount_fen: a.amount_fen,
            recipient: a.recipient.clone(),
            request_id,
        }
    }
}

impl MeasureRow {
    /// The measure as the domain knows it.
    pub fn to_domain(&self) -> QueryResult<Measure> {
        measure_of(
            self.id,
            (self.kind, self.issued_on, self.addressee_type),
            &self.addressee,
            (self.adoption, self.answered_on),
        )
    }

    /// This row with the fields of `m`.
    pub fn with(self, m: &Measure) -> Self {
        Self {
            kind: m.kind.number(),
            issued_on: m.issued_on,
            addressee_type: m.addressee_type.number(),
            addressee: m.addressee.clone(),
            adoption: m.adoption.number(),
            answered_on: m.answered_on,
            ..self
        }
    }
}

impl CaseRow {
    /// This row with the case-level fields of `c` but its region and case number.
    pub fn with(self, c: &Case) -> Self {
        Self {
            case_type: c.case_type.number(),
            status: c.status.number(),
            applicant_type: c.applicant_type.number(),
            sector: c.sector.number(),
            accepted_on: c.accepted_on,
            concluded_on: c.concluded_on,
            leader_handled: c.leader_handled,
            public_hearing: c.public_hearing,
            private_enterprise: c.private_enterprise,
            spp_listed_batch: c.spp_listed_batch,
            typical: c.typical,
            summary: c.summary.clone(),
            ..self
        }
    }
}

// What a new record is once stored in a transaction that began at `create_time` (the time the
// database gives every row it stores in it): a new case is at version 1 and changed when made.

impl NewCase {
    /// The stored case, with id `id`.
    pub fn stored(&self, id: i64, create_time: DateTime<Utc>) -> CaseRow {
        CaseRow {
            id,
            region_code: self.region_code.clone(),
            case_number: self.case_number.clone(),
            case_type: self.case_type,
            status: self.status,
            applicant_type: self.applicant_type,
            sector: self.sector,
            accepted_on: self.accepted_on,
            concluded_on: self.concluded_on,
            leader_handled: self.leader_handled,
            public_hearing: self.public_hearing,
            private_enterprise: self.private_enterprise,
            spp_listed_batch: self.spp_listed_batch,
            typical: self.typical,
            summary: self.summary.clone(),
            request_id: self.request_id,
            version: 1,
            create_time,
            update_time: create_time,
        }
    }
}

impl NewMeasure {
    /// The stored measure, with id `id`, of case `case_id`.
    pub fn stored(&self, id: i64, case_id: i64, create_time: DateTime<Utc>) -> MeasureRow {
        MeasureRow {
            id,
            case_id,
            kind: self.kind,
            issued_on: self.issued_on,
            addressee_type: self.addressee_type,
            addressee: self.addressee.clone(),
            adoption: self.adoption,
            answered_on: self.answered_on,
            request_id: self.request_id,
            create_time,
            update_time: create_time,
        }
    }
}

impl NewResolution {
    /// The stored resolution of case `case_id`.
    pub fn stored(&self, case_id: i64, create_time: DateTime<Utc>) -> ResolutionRow {
        ResolutionRow {
            case_id,
            method: self.method,
            resolved_on: self.resolved_on,
            note: self.note.clone(),
            request_id: self.request_id,
            create_time,
        }
    }
}

impl NewAid {
    /// The stored grant, with id `id`, of case `case_id`.
    pub fn stored(&self, id: i64, case_id: i64, create_time: DateTime<Utc>) -> AidRow {
        AidRow {
            id,
            case_id,
            granted_on: self.granted_on,
            amount_fen: self.amount_fen,
            recipient: self.recipient.clone(),
            request_id: self.request_id,
            create_time,
        }
    }
}
