//! The demo's records counted the way the service counts them (`report.proto`, comment on
//! `Figure.metric`), for the tests and for the summary `procura demo load` prints: measures by
//! issue date, resolutions by resolution date, aid grants by grant date, cases and markers by
//! acceptance date, withdrawn cases nowhere.

use std::collections::BTreeSet;

use procura_proto::v1::{Case, CaseStatus, MeasureKind};

use super::calendar::{Day, day_of};

/// The figures of a set of cases for one period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// Measures issued, indexed by `MeasureKind` value (index 0 unused).
    pub measures: [i64; 7],
    /// Cases accepted.
    pub cases_accepted: i64,
    /// Cases concluded.
    pub cases_concluded: i64,
    /// Disputes resolved.
    pub resolutions: i64,
    /// Disputes resolved whose case involves a private enterprise.
    pub resolutions_private_enterprise: i64,
    /// Aid grants made.
    pub aid_grants: i64,
    /// Aid granted, in fen.
    pub aid_amount_fen: i64,
    /// Cases accepted that are handled by a chief prosecutor.
    pub leader_handled: i64,
    /// Cases accepted with a public hearing.
    pub public_hearing: i64,
    /// Cases accepted that involve a private enterprise.
    pub private_enterprise: i64,
    /// Cases accepted that the SPP listed.
    pub spp_listed: i64,
    /// Of those, the ones involving a private enterprise.
    pub spp_listed_private_enterprise: i64,
    /// Distinct listing batches among them.
    pub spp_listed_batches: i64,
    /// Cases accepted that were published as typical cases.
    pub typical: i64,
}

impl Figures {
    /// Measures of `kind` issued.
    pub fn measure(&self, kind: MeasureKind) -> i64 {
        self.measures[kind as usize]
    }

    /// Protests plus retrial suggestions.
    pub fn protest_and_retrial(&self) -> i64 {
        self.measure(MeasureKind::Protest) + self.measure(MeasureKind::RetrialSuggestion)
    }

    /// The figure with the service's metric id (`Figure.metric`), for the ones counted here.
    pub fn metric(&self, id: &str) -> Option<i64> {
        Some(match id {
            "measures.total" => self.measures.iter().sum(),
            "measures.protest_and_retrial" => self.protest_and_retrial(),
            "measures.protest" => self.measure(MeasureKind::Protest),
            "measures.retrial_suggestion" => self.measure(MeasureKind::RetrialSuggestion),
            "measures.trial_violation_suggestion" => {
                self.measure(MeasureKind::TrialViolationSuggestion)
            }
            "measures.enforcement_violation_suggestion" => {
                self.measure(MeasureKind::EnforcementViolationSuggestion)
            }
            "measures.social_governance_suggestion" => {
                self.measure(MeasureKind::SocialGovernanceSuggestion)
            }
            "measures.administrative_organ_suggestion" => {
                self.measure(MeasureKind::AdministrativeOrganSuggestion)
            }
            "cases.accepted" => self.cases_accepted,
            "cases.concluded" => self.cases_concluded,
            "resolutions.total" => self.resolutions,
            "resolutions.private_enterprise" => self.resolutions_private_enterprise,
            "aid.grants" => self.aid_grants,
            "aid.amount_fen" => self.aid_amount_fen,
            "markers.leader_handled" => self.leader_handled,
            "markers.public_hearing" => self.public_hearing,
            "markers.private_enterprise" => self.private_enterprise,
            "markers.spp_listed" => self.spp_listed,
            "markers.spp_listed_private_enterprise" => self.spp_listed_private_enterprise,
            "markers.spp_listed_batches" => self.spp_listed_batches,
            "markers.typical" => self.typical,
            _ => return None,
        })
    }
}

/// Counts `cases` for the days `from..=to`.
pub fn tally(cases: &[Case], from: Day, to: Day) -> Figures {
    let within = |date: Option<&procura_proto::v1::Date>| {
        date.map(day_of)
            .is_some_and(|day| (from..=to).contains(&day))
    };
    let mut figures = Figures::default();
    let mut batches = BTreeSet::new();
    for case in cases {
        if case.status == CaseStatus::Withdrawn as i32 {
            continue;
        }
        for measure in &case.measures {
            if within(measure.issued_on.as_ref())
                && let Some(slot) = usize::try_from(measure.kind)
                    .ok()
                    .and_then(|k| figures.measures.get_mut(k))
            {
                *slot += 1;
            }
        }
        if let Some(resolution) = &case.resolution
            && within(resolution.resolved_on.as_ref())
        {
            figures.resolutions += 1;
            figures.resolutions_private_enterprise += i64::from(case.private_enterprise);
        }
        for grant in &case.aid_grants {
            if within(grant.granted_on.as_ref()) {
                figures.aid_grants += 1;
                figures.aid_amount_fen += grant.amount_fen;
            }
        }
        if case.status == CaseStatus::Concluded as i32 && within(case.concluded_on.as_ref()) {
            figures.cases_concluded += 1;
        }
        if within(case.accepted_on.as_ref()) {
            figures.cases_accepted += 1;
            figures.leader_handled += i64::from(case.leader_handled);
            figures.public_hearing += i64::from(case.public_hearing);
            figures.private_enterprise += i64::from(case.private_enterprise);
            figures.typical += i64::from(case.typical);
            if case.spp_listed_batch > 0 {
                figures.spp_listed += 1;
                figures.spp_listed_private_enterprise += i64::from(case.private_enterprise);
                batches.insert(case.spp_listed_batch);
            }
        }
    }
    figures.spp_listed_batches = batches.len() as i64;
    figures
}
