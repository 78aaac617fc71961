//! A case's whole state, what it adds to each figure, and what changed between two states.
//!
//! One definition of counting serves every path: the totals kept up to date on each write,
//! the rollups "as of" a past moment, and the drill-down to the cases behind a figure.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::enums::{
    AddresseeType, Adoption, ApplicantType, CaseStatus, CaseType, MeasureKind, ResolutionMethod,
    Sector,
};
use super::metric::{self, BucketTally, index};
use super::period::DateSpan;
use super::region::RegionCode;

/// A case with everything under it, as stored at one moment. Its JSON (revisions' snapshots)
/// gives the region as its code and each enum as its number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// The handling procuratorate's region.
    pub region_code: RegionCode,
    /// 案号
    pub case_number: String,
    /// 案件类型
    pub case_type: CaseType,
    /// 案件状态
    pub status: CaseStatus,
    /// 申请人类型
    pub applicant_type: ApplicantType,
    /// 行政管理领域
    pub sector: Sector,
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
    /// 监督措施
    pub measures: Vec<Measure>,
    /// 行政争议实质性化解
    pub resolution: Option<Resolution>,
    /// 司法救助
    pub aid: Vec<AidGrant>,
}

/// A measure as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measure {
    /// Its id.
    pub id: i64,
    /// 监督措施种类
    pub kind: MeasureKind,
    /// 发出日期
    pub issued_on: NaiveDate,
    /// 监督对象类型
    pub addressee_type: AddresseeType,
    /// 监督对象名称
    pub addressee: String,
    /// 采纳情况
    pub adoption: Adoption,
    /// 回复日期
    pub answered_on: Option<NaiveDate>,
}

/// A resolution as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// 化解方式
    pub method: ResolutionMethod,
    /// 化解日期
    pub resolved_on: NaiveDate,
    /// 说明
    pub note: String,
}

/// An aid grant as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AidGrant {
    /// Its id.
    pub id: i64,
    /// 救助日期
    pub granted_on: NaiveDate,
    /// 救助金额, fen
    pub amount_fen: i64,
    /// 救助对象
    pub recipient: String,
}

/// What one record adds to one figure on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Contribution {
    /// The day the event falls on.
    pub date: NaiveDate,
    /// Index of the figure in [`metric::METRICS`].
    pub metric: usize,
    /// How much it adds.
    pub amount: i64,
}

impl Case {
    /// Everything this case adds to the stored figures. A withdrawn case adds nothing.
    pub fn contributions(&self) -> Vec<Contribution> {
        let mut out = Vec::new();
        if self.status == CaseStatus::Withdrawn {
            return out;
        }
        let mut add = |date: NaiveDate, metric: usize, amount: i64| {
            out.push(Contribution {
                date,
                metric,
                amount,
            });
        };
        add(self.accepted_on, index::CASES_ACCEPTED, 1);
        if let Some(day) = self.concluded_on {
            add(day, index::CASES_CONCLUDED, 1);
        }
        let markers = [
            (self.leader_handled, index::LEADER_HANDLED),
            (self.public_hearing, index::PUBLIC_HEARING),
            (self.private_enterprise, index::PRIVATE_ENTERPRISE),
            (self.spp_listed_batch > 0, index::SPP_LISTED),
            (
                self.spp_listed_batch > 0 && self.private_enterprise,
                index::SPP_LISTED_PRIVATE_ENTERPRISE,
            ),
            (self.typical, index::TYPICAL),
        ];
        for (set, metric) in markers {
            if set {
                add(self.accepted_on, metric, 1);
            }
        }
        for m in &self.measures {
            if let Some(kind) = metric::measure_kind(m.kind.number()) {
                add(m.issued_on, kind, 1);
            }
            if m.adoption == Adoption::Adopted
                && let Some(adopted) = metric::measure_kind_adopted(m.kind.number())
            {
                add(m.issued_on, adopted, 1);
            }
        }
        if let Some(r) = &self.resolution {
            if let Some(method) = metric::resolution_method(r.method.number()) {
                add(r.resolved_on, method, 1);
            }
            add(r.resolved_on, index::RESOLUTIONS_TOTAL, 1);
            if self.private_enterprise {
                add(r.resolved_on, index::RESOLUTIONS_PRIVATE_ENTERPRISE, 1);
            }
        }
        for a in &self.aid {
            add(a.granted_on, index::AID_GRANTS, 1);
            add(a.granted_on, index::AID_AMOUNT_FEN, a.amount_fen);
        }
        out
    }

    /// Whether the case was pending on `day`: accepted by then, not concluded by then, and
    /// not withdrawn.
    pub fn pending_on(&self, day: NaiveDate) -> bool {
        self.status != CaseStatus::Withdrawn
            && self.accepted_on <= day
            && self.concluded_on.is_none_or(|concluded| concluded > day)
    }

    /// The SPP listing batch of a counted case, if listed.
    pub fn listing_batch(&self) -> Option<i32> {
        (self.spp_listed_batch > 0 && self.status != CaseStatus::Withdrawn)
            .then_some(self.spp_listed_batch)
    }

    /// What the case adds to figure `metric` between `start` and `end`, both included,
    /// derived figures included (counted as [`super::metric::Tally::value`] counts them).
    pub fn value_in(&self, metric: usize, start: NaiveDate, end: NaiveDate) -> i64 {
        let mut tally = BucketTally::default();
        let span = DateSpan { start, end };
        tally.add_state(self, span, span);
        tally.current.value(metric)
    }

    /// Every field as text, by path (`status`, `measures/7.adoption`), for revisions.
    pub fn fields(&self) -> BTreeMap<String, String> {
        let mut f = BTreeMap::new();
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        f.insert("region".into(), format!("regions/{}", self.region_code));
        f.insert("case_number".into(), self.case_number.clone());
        f.insert("case_type".into(), self.case_type.as_str().to_owned());
        f.insert("status".into(), self.status.as_str().to_owned());
        f.insert(
            "applicant_type".into(),
            self.applicant_type.as_str().to_owned(),
        );
        f.insert("sector".into(), self.sector.as_str().to_owned());
        f.insert("accepted_on".into(), self.accepted_on.to_string());
        f.insert("concluded_on".into(), date(self.concluded_on));
        f.insert("leader_handled".into(), self.leader_handled.to_string());
        f.insert("public_hearing".into(), self.public_hearing.to_string());
        f.insert(
            "private_enterprise".into(),
            self.private_enterprise.to_string(),
        );
        f.insert("spp_listed_batch".into(), self.spp_listed_batch.to_string());
        f.insert("typical".into(), self.typical.to_string());
        f.insert("summary".into(), self.summary.clone());
        for m in &self.measures {
            let p = format!("measures/{}", m.id);
            f.insert(format!("{p}.kind"), m.kind.as_str().to_owned());
            f.insert(format!("{p}.issued_on"), m.issued_on.to_string());
            f.insert(
                format!("{p}.addressee_type"),
                m.addressee_type.as_str().to_owned(),
            );
            f.insert(format!("{p}.addressee"), m.addressee.clone());
            f.insert(format!("{p}.adoption"), m.adoption.as_str().to_owned());
            f.insert(format!("{p}.answered_on"), date(m.answered_on));
        }
        if let Some(r) = &self.resolution {
            f.insert("resolution.method".into(), r.method.as_str().to_owned());
            f.insert("resolution.resolved_on".into(), r.resolved_on.to_string());
            f.insert("resolution.note".into(), r.note.clone());
        }
        for a in &self.aid {
            let p = format!("aidGrants/{}", a.id);
            f.insert(format!("{p}.granted_on"), a.granted_on.to_string());
            f.insert(format!("{p}.amount_fen"), a.amount_fen.to_string());
            f.insert(format!("{p}.recipient"), a.recipient.clone());
        }
        f
    }
}

/// Whether a measure of `kind` may go to an addressee of `addressee_type`.
pub fn addressee_fits(kind: MeasureKind, addressee_type: AddresseeType) -> Result<(), String> {
    match kind {
        MeasureKind::SocialGovernanceSuggestion => Ok(()),
        MeasureKind::AdministrativeOrganSuggestion => {
            if addressee_type == AddresseeType::AdministrativeOrgan {
                Ok(())
            } else {
                Err("a suggestion to an administrative organ must be addressed to an administrative organ".to_owned())
            }
        }
        _ if addressee_type == AddresseeType::Court => Ok(()),
        _ => Err("protests and the four court suggestions must be addressed to a court".to_owned()),
    }
}

/// One field that differs between two states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Path, as in [`Case::fields`].
    pub field: String,
    /// Value before; empty when absent.
    pub old: String,
    /// Value after; empty when absent.
    pub new: String,
}

/// The fields that differ from `before` (none for a new case) to `after`.
pub fn changes(before: Option<&Case>, after: &Case) -> Vec<FieldChange> {
    let old = before.map(Case::fields).unwrap_or_default();
    let new = after.fields();
    let mut paths: Vec<&String> = old.keys().chain(new.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|path| {
            let o = old.get(path).cloned().unwrap_or_default();
            let n = new.get(path).cloned().unwrap_or_default();
            (o != n).then(|| FieldChange {
                field: path.clone(),
                old: o,
                new: n,
            })
        })
        .collect()
}

/// A case's part of a bucket's figures (the tally lives with the figures; what a case adds to
/// it is counted here, beside [`Case::contributions`]).
impl BucketTally {
    /// Adds everything `state` contributes to the period `current` and the period `previous`.
    pub fn add_state(&mut self, state: &Case, current: DateSpan, previous: DateSpan) {
        self.add_state_times(state, current, previous, 1);
    }

    /// Takes away what `state` adds with [`BucketTally::add_state`].
    pub fn remove_state(&mut self, state: &Case, current: DateSpan, previous: DateSpan) {
        self.add_state_times(state, current, previous, -1);
    }

    fn add_state_times(&mut self, state: &Case, current: DateSpan, previous: DateSpan, times: i64) {
        let contributions = state.contributions();
        for (tally, span) in [(&mut self.current, current), (&mut self.previous, previous)] {
            for c in &contributions {
                if c.date >= span.start && c.date <= span.end {
                    tally.add(c.metric, times * c.amount);
                }
            }
            if let Some(batch) = state.listing_batch()
                && state.accepted_on >= span.start
                && state.accepted_on <= span.end
            {
                tally.add_batch(batch, times);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test date")
    }

    fn state() -> Case {
        Case {
            region_code: RegionCode::parse("530102").expect("code"),
            case_number: "N-1".into(),
            case_type: CaseType::JudgmentSupervision,
            status: CaseStatus::Concluded,
            applicant_type: ApplicantType::PrivateEnterprise,
            sector: Sector::NaturalResources,
            accepted_on: d("2020-03-01"),
            concluded_on: Some(d("2020-06-01")),
            leader_handled: true,
            public_hearing: false,
            private_enterprise: true,
            spp_listed_batch: 1,
            typical: false,
            summary: String::new(),
            measures: vec![Measure {
                id: 7,
                kind: MeasureKind::Protest,
                issued_on: d("2020-04-01"),
                addressee_type: AddresseeType::Court,
                addressee: "court".into(),
                adoption: Adoption::Adopted,
                answered_on: Some(d("2020-05-01")),
            }],
            resolution: Some(Resolution {
                method: ResolutionMethod::Reconciliation,
                resolved_on: d("2020-05-02"),
                note: String::new(),
            }),
            aid: vec![AidGrant {
                id: 3,
                granted_on: d("2020-05-03"),
                amount_fen: 12_345,
                recipient: String::new(),
            }],
        }
    }

    /// A snapshot as revisions stored it when the state held its enums as plain numbers.
    const STORED_SNAPSHOT: &str = r#"{"region_code":"530102","case_number":"N-1","case_type":1,
        "status":2,"applicant_type":2,"sector":1,"accepted_on":"2020-03-01",
        "concluded_on":"2020-06-01","leader_handled":true,"public_hearing":false,
        "private_enterprise":true,"spp_listed_batch":1,"typical":false,"summary":"",
        "measures":[{"id":7,"kind":1,"issued_on":"2020-04-01","addressee_type":1,
        "addressee":"court","adoption":2,"answered_on":"2020-05-01"}],
        "resolution":{"method":2,"resolved_on":"2020-05-02","note":""},
        "aid":[{"id":3,"granted_on":"2020-05-03","amount_fen":12345,"recipient":""}]}"#;

    #[test]
    fn stored_snapshots_still_read_and_keep_their_shape() {
        let read: Case = serde_json::from_str(STORED_SNAPSHOT).expect("old snapshot");
        assert_eq!(read, state());
        let written = serde_json::to_value(state()).expect("json");
        let stored: serde_json::Value = serde_json::from_str(STORED_SNAPSHOT).expect("json");
        assert_eq!(written, stored);
    }

    #[test]
    fn fields_use_the_proto_names() {
        let fields = state().fields();
        assert_eq!(fields["status"], "CASE_STATUS_CONCLUDED");
        assert_eq!(fields["region"], "regions/530102");
        assert_eq!(fields["measures/7.adoption"], "ADOPTION_ADOPTED");
        assert_eq!(
            fields["resolution.method"],
            "RESOLUTION_METHOD_RECONCILIATION"
        );
    }

    #[test]
    fn counts_each_event_on_its_day() {
        let s = state();
        let (start, end) = (d("2020-01-01"), d("2020-12-31"));
        assert_eq!(s.value_in(index::CASES_ACCEPTED, start, end), 1);
        assert_eq!(s.value_in(index::CASES_CONCLUDED, start, end), 1);
        assert_eq!(
            s.value_in(index::RESOLUTIONS_PRIVATE_ENTERPRISE, start, end),
            1
        );
        assert_eq!(s.value_in(index::AID_AMOUNT_FEN, start, end), 12_345);
        assert_eq!(
            s.value_in(index::SPP_LISTED_PRIVATE_ENTERPRISE, start, end),
            1
        );
        let protest = metric::measure_kind(1).expect("kind");
        assert_eq!(s.value_in(protest, d("2020-04-01"), d("2020-04-01")), 1);
        assert_eq!(s.value_in(protest, d("2020-04-02"), end), 0);
    }

    #[test]
    fn addressees_fit_kinds() {
        use AddresseeType as A;
        use MeasureKind as K;
        assert!(addressee_fits(K::Protest, A::Court).is_ok());
        assert!(addressee_fits(K::Protest, A::AdministrativeOrgan).is_err());
        assert!(addressee_fits(K::AdministrativeOrganSuggestion, A::Court).is_err());
        assert!(addressee_fits(K::SocialGovernanceSuggestion, A::OtherOrgan).is_ok());
    }

    #[test]
    fn withdrawn_cases_count_nowhere() {
        let mut s = state();
        s.status = CaseStatus::Withdrawn;
        assert!(s.contributions().is_empty());
    }

    #[test]
    fn changes_name_the_fields() {
        let before = state();
        let mut after = before.clone();
        after.measures[0].adoption = Adoption::NotAdopted;
        after.status = CaseStatus::Accepted;
        let fields: Vec<String> = changes(Some(&before), &after)
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(fields, vec!["measures/7.adoption", "status"]);
        assert!(changes(None, &after).len() > 10);
    }
}
