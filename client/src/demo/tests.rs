//! The demo data set gives exactly the published figures (counted as the service counts them),
//! its records are valid and plausible, and a seed always gives the same records.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeSet, HashSet};
use std::sync::OnceLock;

use procura_proto::v1::{AddresseeType, Adoption, Case, CaseStatus, CaseType, MeasureKind};

use super::calendar::{Day, day, day_of};
use super::tally::{Figures, tally};
use super::*;

/// The data set of the default seed, generated once for all tests.
fn default_cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| generate(DEFAULT_SEED))
}

fn figures(cases: &[Case], window: (Day, Day)) -> Figures {
    tally(cases, window.0, window.1)
}

/// Every figure the brief and `data/published-figures-2020.csv` ask for.
fn assert_published_figures(cases: &[Case]) {
    let y2020 = figures(cases, YEAR_2020);
    let y2019 = figures(cases, YEAR_2019);
    let activity = figures(cases, ACTIVITY);

    assert_eq!(y2020.protest_and_retrial(), 380);
    assert_eq!(y2019.protest_and_retrial(), 239);
    for figures in [&y2020, &y2019] {
        assert!(figures.measure(MeasureKind::Protest) > 0);
        assert!(figures.measure(MeasureKind::RetrialSuggestion) > 0);
    }
    assert_eq!(y2020.measure(MeasureKind::TrialViolationSuggestion), 6_000);
    assert_eq!(y2019.measure(MeasureKind::TrialViolationSuggestion), 2_791);
    assert_eq!(
        y2020.measure(MeasureKind::EnforcementViolationSuggestion),
        25_000
    );
    assert_eq!(
        y2019.measure(MeasureKind::EnforcementViolationSuggestion),
        12_953
    );
    assert_eq!(
        y2020.measure(MeasureKind::SocialGovernanceSuggestion),
        1_500
    );
    assert!(y2019.measure(MeasureKind::SocialGovernanceSuggestion) > 0);

    assert_eq!(
        activity.measure(MeasureKind::AdministrativeOrganSuggestion),
        1_300
    );
    assert_eq!(activity.resolutions, 6_300);
    assert_eq!(activity.resolutions_private_enterprise, 390);
    assert_eq!(activity.aid_grants, 190);
    assert_eq!(activity.aid_amount_fen, 420_000_000);
    assert_eq!(activity.spp_listed, 45);
    assert_eq!(activity.spp_listed_batches, 2);
    assert_eq!(activity.spp_listed_private_enterprise, 11);
    assert_eq!(activity.typical, 12);

    // Activity outside the windows, before the special activity.
    let before = figures(cases, (FIRST_DAY, day(2019, 10, 31)));
    assert!(before.measure(MeasureKind::AdministrativeOrganSuggestion) > 0);
    assert!(before.resolutions > 0);
    assert!(before.aid_grants > 0);
}

#[test]
fn the_default_seed_gives_the_published_figures() {
    assert_published_figures(default_cases());
}

#[test]
fn any_seed_gives_the_published_figures() {
    let cases = generate(7);
    assert_published_figures(&cases);
    assert_ne!(cases, default_cases(), "another seed, other records");
}

#[test]
fn a_seed_always_gives_the_same_records() {
    assert_eq!(generate(DEFAULT_SEED), default_cases());
}

/// The vendored CSV and the generator agree row by row (the end-to-end test then checks the
/// server's rollups against the same file).
#[test]
fn every_row_of_the_published_figures_is_reproduced() {
    let text = include_str!("../../../data/published-figures-2020.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let cases = default_cases();
    let mut rows = 0;
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), header.len(), "{line}");
        let id = cells[column("id")];
        let parse_day = |text: &str| {
            let parts: Vec<i32> = text.split('-').map(|p| p.parse().unwrap()).collect();
            day(parts[0], parts[1], parts[2])
        };
        let from = parse_day(cells[column("period_start")]);
        let to = parse_day(cells[column("period_end")]);
        let (metric, scale) = match id {
            "protests_and_retrial_suggestions" => ("measures.protest_and_retrial", 1),
            "trial_violation_suggestions" => ("measures.trial_violation_suggestion", 1),
            "enforcement_violation_suggestions" => ("measures.enforcement_violation_suggestion", 1),
            "social_governance_suggestions" => ("measures.social_governance_suggestion", 1),
            "administrative_organ_suggestions" => ("measures.administrative_organ_suggestion", 1),
            "disputes_resolved" => ("resolutions.total", 1),
            "private_enterprise_disputes_resolved" => ("resolutions.private_enterprise", 1),
            "judicial_aid_grants" => ("aid.grants", 1),
            "judicial_aid_yuan" => ("aid.amount_fen", 100),
            "listed_major_cases" => ("markers.spp_listed", 1),
            "listed_private_enterprise_cases" => ("markers.spp_listed_private_enterprise", 1),
            "typical_cases" => ("markers.typical", 1),
            other => panic!("unknown figure {other}"),
        };
        let value: i64 = cells[column("demo_value")].parse().unwrap();
        let got = tally(cases, from, to).metric(metric).unwrap();
        assert_eq!(got, value * scale, "{id}");
        let previous = cells[column("demo_previous_year_value")];
        if !previous.is_empty() {
            // The rows with a change are calendar 2020, compared with calendar 2019.
            assert_eq!((from, to), YEAR_2020, "{id}");
            let previous: i64 = previous.parse().unwrap();
            let got = tally(cases, YEAR_2019.0, YEAR_2019.1)
                .metric(metric)
                .unwrap();
            assert_eq!(got, previous * scale, "{id}, previous year");
            let percent: i64 = cells[column("published_yoy_percent")].parse().unwrap();
            let change = (value - previous) as f64 / previous as f64 * 100.0;
            assert_eq!(change.round() as i64, percent, "{id}, change");
        }
        rows += 1;
    }
    assert_eq!(rows, 12);
}

#[test]
fn the_records_are_valid() {
    let cases = default_cases();
    let mut keys = HashSet::new();
    for case in cases {
        let context = format!("{} {}", case.region, case.case_number);
        assert!(keys.insert((&case.region, &case.case_number)), "{context}");
        assert!(case.case_number.chars().count() <= 100);
        assert!(case.summary.chars().count() <= 2000);
        assert!(case.case_type != 0 && case.applicant_type != 0 && case.sector != 0);
        let accepted = day_of(case.accepted_on.as_ref().unwrap());
        assert!((FIRST_DAY..=LAST_DAY).contains(&accepted), "{context}");
        assert_ne!(case.status, CaseStatus::Withdrawn as i32);
        match case.concluded_on.as_ref().map(day_of) {
            Some(concluded) => {
                assert_eq!(case.status, CaseStatus::Concluded as i32, "{context}");
                assert!((accepted..=LAST_DAY).contains(&concluded), "{context}");
            }
            None => assert_eq!(case.status, CaseStatus::Accepted as i32, "{context}"),
        }
        assert!(case.spp_listed_batch == 0 || case.spp_listed_batch <= 2);
        for measure in &case.measures {
            let issued = day_of(measure.issued_on.as_ref().unwrap());
            assert!((accepted..=LAST_DAY).contains(&issued), "{context}");
            let kind = MeasureKind::try_from(measure.kind).unwrap();
            let addressee = AddresseeType::try_from(measure.addressee_type).unwrap();
            match kind {
                MeasureKind::AdministrativeOrganSuggestion => {
                    assert_eq!(addressee, AddresseeType::AdministrativeOrgan, "{context}");
                }
                MeasureKind::SocialGovernanceSuggestion => {
                    assert_ne!(addressee, AddresseeType::Unspecified, "{context}");
                }
                _ => assert_eq!(addressee, AddresseeType::Court, "{context}"),
            }
            assert!(!measure.addressee.is_empty() && measure.addressee.chars().count() <= 200);
            // Measures come from fitting cases.
            let case_type = CaseType::try_from(case.case_type).unwrap();
            let fits = match kind {
                MeasureKind::Protest | MeasureKind::RetrialSuggestion => {
                    case_type == CaseType::JudgmentSupervision
                }
                MeasureKind::TrialViolationSuggestion => {
                    case_type == CaseType::TrialConductSupervision
                }
                MeasureKind::EnforcementViolationSuggestion => matches!(
                    case_type,
                    CaseType::EnforcementSupervision
                        | CaseType::NonLitigationEnforcementSupervision
                ),
                _ => true,
            };
            assert!(fits, "{context}: {kind:?} from a {case_type:?} case");
            match measure.answered_on.as_ref().map(day_of) {
                Some(answered) => {
                    assert_ne!(measure.adoption, Adoption::Pending as i32);
                    assert!((issued..=LAST_DAY).contains(&answered), "{context}");
                }
                None => assert_eq!(measure.adoption, Adoption::Pending as i32),
            }
        }
        if let Some(resolution) = &case.resolution {
            let resolved = day_of(resolution.resolved_on.as_ref().unwrap());
            assert!((accepted..=LAST_DAY).contains(&resolved), "{context}");
            assert_ne!(resolution.method, 0);
        }
        for grant in &case.aid_grants {
            let granted = day_of(grant.granted_on.as_ref().unwrap());
            assert!((accepted..=LAST_DAY).contains(&granted), "{context}");
            assert!((1..=100_000_000).contains(&grant.amount_fen), "{context}");
        }
        if case.typical {
            assert_eq!(case.status, CaseStatus::Concluded as i32, "{context}");
        }
    }
}

#[test]
fn the_records_look_like_a_country() {
    let cases = default_cases();
    assert!(
        (40_000..=60_000).contains(&cases.len()),
        "{} cases",
        cases.len()
    );
    let code = |case: &Case| case.region.trim_start_matches("regions/").to_owned();
    let provinces: BTreeSet<String> = cases.iter().map(|c| code(c)[..2].to_owned()).collect();
    assert_eq!(provinces.len(), 31);
    let regions: BTreeSet<String> = cases.iter().map(code).collect();
    assert!(regions.len() > 2_000, "{} procuratorates", regions.len());
    assert!(regions.contains("530000"), "Yunnan's own cases");
    assert!(regions.contains("530100"), "Kunming's own cases");
    assert!(regions.iter().filter(|r| r.starts_with("5301")).count() > 8);
    let at_level = |suffix: &str| regions.iter().filter(|r| r.ends_with(suffix)).count();
    assert!(at_level("0000") >= 31, "provincial procuratorates");
    assert!(at_level("00") > 300, "prefecture procuratorates");

    // Several measures per case happen; listed cases are handled by chief prosecutors.
    assert!(cases.iter().any(|c| c.measures.len() >= 3));
    assert!(cases.iter().any(|c| {
        c.measures
            .iter()
            .map(|m| m.kind)
            .collect::<BTreeSet<_>>()
            .len()
            >= 2
    }));
    assert!(
        cases
            .iter()
            .filter(|c| c.spp_listed_batch > 0)
            .all(|c| c.leader_handled)
    );
    let adopted = cases
        .iter()
        .flat_map(|c| &c.measures)
        .filter(|m| m.adoption == Adoption::Adopted as i32)
        .count();
    let pending = cases
        .iter()
        .flat_map(|c| &c.measures)
        .filter(|m| m.adoption == Adoption::Pending as i32)
        .count();
    let answered_not_adopted = cases
        .iter()
        .flat_map(|c| &c.measures)
        .filter(|m| m.adoption == Adoption::NotAdopted as i32)
        .count();
    // Most answered measures are adopted; those of the last weeks are still pending.
    assert!(adopted > 10 * answered_not_adopted && adopted > 3 * pending);
    assert!(pending > 0 && answered_not_adopted > 0);
    // The amounts: whole yuan mostly, some with fen.
    let amounts: Vec<i64> = cases
        .iter()
        .flat_map(|c| &c.aid_grants)
        .map(|g| g.amount_fen)
        .collect();
    assert!(amounts.iter().any(|a| a % 100 != 0));
    assert!(amounts.iter().filter(|a| *a % 100 == 0).count() > amounts.len() / 2);
    // The case numbers count up per procuratorate and year.
    assert!(
        cases
            .iter()
            .any(|c| c.case_number == "演示〔2020〕0001号" && c.region == "regions/530100")
    );
}
