//! ReportService.GetRollup against hand-made fixtures. Every expected number below was counted
//! by hand from the fixture tables, not computed by code.
//!
//! # Fixture "Yunnan" (`yunnan_fixture`)
//!
//! Seven cases. "pe" = private_enterprise marker, "spp N" = spp_listed_batch N.
//!
//! | case | region | accepted | status / concluded | markers |
//! | --- | --- | --- | --- | --- |
//! | C1 | 530102 五华区 (Kunming) | 2020-03-01 | concluded 2020-09-30 | pe, leader, spp 1 |
//! | C2 | 530103 盘龙区 (Kunming) | 2020-05-01 | accepted | public hearing, typical, spp 2 |
//! | C3 | 530000 云南省 itself | 2020-02-01 | concluded 2020-03-15 | pe, spp 1 |
//! | C4 | 530302 麒麟区 (Qujing) | 2019-06-01 | concluded 2020-01-10 | pe |
//! | C5 | 530102 五华区 (Kunming) | 2019-03-01 | concluded 2019-12-31 | leader |
//! | C6 | 110101 东城区 (Beijing) | 2020-03-01 | accepted | pe, spp 3 |
//! | C7 | 530102 五华区, WITHDRAWN | 2020-04-01 | withdrawn | pe, leader, typical, spp 4 |
//!
//! Records under them (measure: kind issued → adoption answered):
//! - C1: m1 protest 2020-04-01 → adopted 2020-05-01; m2 retrial suggestion 2020-04-15 pending
//!   (added later with CreateMeasure); m3 suggestion to an administrative organ 2020-05-10 →
//!   adopted 2020-06-01; resolution reconciliation 2020-06-01; aid 2020-06-02 123,456 fen and
//!   2020-07-01 100,000 fen.
//! - C2: m4 protest 2020-06-01 → not adopted 2020-07-01 (recorded later with UpdateMeasure);
//!   m5 enforcement violation suggestion 2020-06-10 → adopted 2020-07-10; resolution public
//!   hearing settlement 2020-08-01.
//! - C3: m6 trial violation suggestion 2020-02-20 → adopted 2020-03-01; m7 social governance
//!   suggestion 2020-03-01 pending; resolution supervision correction 2020-03-10; aid
//!   2020-03-12 50,000 fen.
//! - C4: m8 protest 2019-07-01 → adopted 2019-08-01; m9 retrial suggestion 2020-01-05 pending;
//!   aid 2019-07-15 20,000 fen.
//! - C5: m10 protest 2019-04-01 pending; resolution reconciliation 2019-05-01.
//! - C6: protest 2020-04-01 → adopted 2020-05-01; resolution other 2020-05-01; aid 2020-05-02
//!   99,999 fen.
//! - C7: protest 2020-04-10 → adopted 2020-05-01; resolution other 2020-04-20; aid 2020-04-21
//!   77,700 fen — and then withdrawn, so none of it counts anywhere.
//!
//! # Expected: regions/530000, year 2020 (previous: 2019). C1–C5 count; C6 (Beijing) and C7
//! (withdrawn) do not.
//!
//! | metric | 2020 | 2019 | change |
//! | --- | --- | --- | --- |
//! | measures.total | 8 (m1–m7, m9) | 2 (m8, m10) | +300 |
//! | measures.protest_and_retrial | 4 (m1 m2 m4 m9) | 2 | +100 |
//! | measures.protest | 2 (m1 m4) | 2 (m8 m10) | 0 |
//! | measures.protest.adopted | 1 (m1) | 1 (m8) | 0 |
//! | measures.retrial_suggestion | 2 (m2 m9) | 0 | none |
//! | measures.trial_violation_suggestion (+.adopted) | 1 (1) | 0 | none |
//! | measures.enforcement_violation_suggestion (+.adopted) | 1 (1) | 0 | none |
//! | measures.social_governance_suggestion | 1 (m7) | 0 | none |
//! | measures.administrative_organ_suggestion (+.adopted) | 1 (1) | 0 | none |
//! | cases.accepted | 3 (C1 C2 C3) | 2 (C4 C5) | +50 |
//! | cases.concluded | 3 (C1 C3 C4) | 1 (C5) | +200 |
//! | resolutions.total | 3 (C1 C2 C3) | 1 (C5) | +200 |
//! | resolutions.private_enterprise | 2 (C1 C3) | 0 | none |
//! | resolutions.supervision_correction | 1 (C3) | 0 | none |
//! | resolutions.reconciliation | 1 (C1) | 1 (C5) | 0 |
//! | resolutions.public_hearing_settlement | 1 (C2) | 0 | none |
//! | aid.grants | 3 | 1 | +200 |
//! | aid.amount_fen | 273,456 | 20,000 | +1,267.28 |
//! | markers.leader_handled | 1 (C1) | 1 (C5) | 0 |
//! | markers.public_hearing | 1 (C2) | 0 | none |
//! | markers.private_enterprise | 2 (C1 C3) | 1 (C4) | +100 |
//! | markers.spp_listed | 3 (C1 C2 C3) | 0 | none |
//! | markers.spp_listed_private_enterprise | 2 (C1 C3) | 0 | none |
//! | markers.spp_listed_batches | 2 ({1, 2}) | 0 | none |
//! | markers.typical | 1 (C2) | 0 | none |
//! | everything else | 0 | 0 | none |
//!
//! Breakdown by prefecture (rows: 530100 Kunming = C1 C2 C5; 530300 Qujing = C4; and
//! 530000 own_records_only = C3): see `yunnan_breakdown_by_prefecture_adds_up` for each row's
//! numbers. Batches do not add up (C1 and C3 share batch 1: rows 2 + 1, total 2).
//!
//! regions/110000 (Beijing), 2020: C6 only. regions/000000, 2020: C1–C6 (batches {1, 2, 3}).
//!
//! # Fixture "March" (`a_range_counts_its_first_and_last_day`), range 2020-03-01..2020-03-31
//! is documented at the test.
//!
//! # Fixture "periods" (`calendar_periods_resolve_to_day_ranges`): one case with protests
//! issued on days around period boundaries, documented at the test.

use procura_proto::v1::{
    Adoption, ApplicantType, Case, CaseStatus, CaseType, Comparison, CreateMeasureRequest,
    DateRange, GetRollupRequest, MeasureKind, RegionLevel, ResolutionMethod, Rollup, RollupRow,
    UpdateMeasureRequest,
};
use tonic::Code;

use crate::helpers::{
    METRICS, TestApp, aid, answered, assert_change, assert_figures, assert_status, date,
    date_range, expect_err, field_mask, measure, month, on, quarter, range, region, resolution,
    spawn_app, valid_case, value, year,
};

/// Creates the "Yunnan" fixture described at the top of this file.
async fn yunnan_fixture(app: &TestApp) {
    // C1, Kunming 五华区.
    let mut c1 = valid_case("530102", "C1");
    c1.applicant_type = ApplicantType::PrivateEnterprise as i32;
    c1.accepted_on = on(2020, 3, 1);
    c1.status = CaseStatus::Concluded as i32;
    c1.concluded_on = on(2020, 9, 30);
    c1.private_enterprise = true;
    c1.leader_handled = true;
    c1.spp_listed_batch = 1;
    c1.measures = vec![
        answered(
            measure(MeasureKind::Protest, date(2020, 4, 1)),
            Adoption::Adopted,
            date(2020, 5, 1),
        ),
        answered(
            measure(
                MeasureKind::AdministrativeOrganSuggestion,
                date(2020, 5, 10),
            ),
            Adoption::Adopted,
            date(2020, 6, 1),
        ),
    ];
    c1.resolution = Some(resolution(
        ResolutionMethod::Reconciliation,
        date(2020, 6, 1),
    ));
    c1.aid_grants = vec![
        aid(date(2020, 6, 2), 123_456),
        aid(date(2020, 7, 1), 100_000),
    ];
    let c1 = app.create_case(c1).await;
    // m2, added afterwards.
    app.cases
        .clone()
        .create_measure(CreateMeasureRequest {
            parent: c1.name.clone(),
            measure: Some(measure(MeasureKind::RetrialSuggestion, date(2020, 4, 15))),
            request_id: String::new(),
        })
        .await
        .expect("CreateMeasure m2");

    // C2, Kunming 盘龙区.
    let mut c2 = valid_case("530103", "C2");
    c2.case_type = CaseType::EnforcementSupervision as i32;
    c2.accepted_on = on(2020, 5, 1);
    c2.public_hearing = true;
    c2.typical = true;
    c2.spp_listed_batch = 2;
    c2.measures = vec![
        measure(MeasureKind::Protest, date(2020, 6, 1)),
        answered(
            measure(
                MeasureKind::EnforcementViolationSuggestion,
                date(2020, 6, 10),
            ),
            Adoption::Adopted,
            date(2020, 7, 10),
        ),
    ];
    c2.resolution = Some(resolution(
        ResolutionMethod::PublicHearingSettlement,
        date(2020, 8, 1),
    ));
    let c2 = app.create_case(c2).await;
    // m4's answer, recorded afterwards.
    let m4 = c2
        .measures
        .iter()
        .find(|m| m.kind == MeasureKind::Protest as i32)
        .expect("m4")
        .clone();
    app.cases
        .clone()
        .update_measure(UpdateMeasureRequest {
            measure: Some(answered(m4, Adoption::NotAdopted, date(2020, 7, 1))),
            update_mask: Some(field_mask(&["adoption", "answered_on"])),
            reason: String::new(),
        })
        .await
        .expect("UpdateMeasure m4");

    // C3, the provincial procuratorate itself.
    let mut c3 = valid_case("530000", "C3");
    c3.case_type = CaseType::TrialConductSupervision as i32;
    c3.accepted_on = on(2020, 2, 1);
    c3.status = CaseStatus::Concluded as i32;
    c3.concluded_on = on(2020, 3, 15);
    c3.private_enterprise = true;
    c3.spp_listed_batch = 1;
    c3.measures = vec![
        answered(
            measure(MeasureKind::TrialViolationSuggestion, date(2020, 2, 20)),
            Adoption::Adopted,
            date(2020, 3, 1),
        ),
        measure(MeasureKind::SocialGovernanceSuggestion, date(2020, 3, 1)),
    ];
    c3.resolution = Some(resolution(
        ResolutionMethod::SupervisionCorrection,
        date(2020, 3, 10),
    ));
    c3.aid_grants = vec![aid(date(2020, 3, 12), 50_000)];
    app.create_case(c3).await;

    // C4, Qujing 麒麟区.
    let mut c4 = valid_case("530302", "C4");
    c4.case_type = CaseType::NonLitigationEnforcementSupervision as i32;
    c4.accepted_on = on(2019, 6, 1);
    c4.status = CaseStatus::Concluded as i32;
    c4.concluded_on = on(2020, 1, 10);
    c4.private_enterprise = true;
    c4.measures = vec![
        answered(
            measure(MeasureKind::Protest, date(2019, 7, 1)),
            Adoption::Adopted,
            date(2019, 8, 1),
        ),
        measure(MeasureKind::RetrialSuggestion, date(2020, 1, 5)),
    ];
    c4.aid_grants = vec![aid(date(2019, 7, 15), 20_000)];
    app.create_case(c4).await;

    // C5, Kunming 五华区, the year before.
    let mut c5 = valid_case("530102", "C5");
    c5.accepted_on = on(2019, 3, 1);
    c5.status = CaseStatus::Concluded as i32;
    c5.concluded_on = on(2019, 12, 31);
    c5.leader_handled = true;
    c5.measures = vec![measure(MeasureKind::Protest, date(2019, 4, 1))];
    c5.resolution = Some(resolution(
        ResolutionMethod::Reconciliation,
        date(2019, 5, 1),
    ));
    app.create_case(c5).await;

    // C6, Beijing: outside Yunnan.
    let mut c6 = valid_case("110101", "C6");
    c6.accepted_on = on(2020, 3, 1);
    c6.private_enterprise = true;
    c6.spp_listed_batch = 3;
    c6.measures = vec![answered(
        measure(MeasureKind::Protest, date(2020, 4, 1)),
        Adoption::Adopted,
        date(2020, 5, 1),
    )];
    c6.resolution = Some(resolution(ResolutionMethod::Other, date(2020, 5, 1)));
    c6.aid_grants = vec![aid(date(2020, 5, 2), 99_999)];
    app.create_case(c6).await;

    // C7, withdrawn: counts nowhere.
    let c7 = withdrawn_case_with_records(app, "530102", "C7").await;
    assert_eq!(c7.status, CaseStatus::Withdrawn as i32);
}

/// A case at `region_code` accepted 2020-04-01 with a measure, a resolution and a grant in
/// 2020 and every marker, then withdrawn.
async fn withdrawn_case_with_records(app: &TestApp, region_code: &str, number: &str) -> Case {
    let mut case = valid_case(region_code, number);
    case.accepted_on = on(2020, 4, 1);
    case.private_enterprise = true;
    case.leader_handled = true;
    case.public_hearing = true;
    case.typical = true;
    case.spp_listed_batch = 4;
    case.measures = vec![answered(
        measure(MeasureKind::Protest, date(2020, 4, 10)),
        Adoption::Adopted,
        date(2020, 5, 1),
    )];
    case.resolution = Some(resolution(ResolutionMethod::Other, date(2020, 4, 20)));
    case.aid_grants = vec![aid(date(2020, 4, 21), 77_700)];
    let created = app.create_case(case).await;
    let mut withdraw = created.clone();
    withdraw.status = CaseStatus::Withdrawn as i32;
    app.update_case(withdraw, &["status"])
        .await
        .expect("withdrawing a case")
}

fn rollup_request(code: &str, period: Option<procura_proto::v1::Period>) -> GetRollupRequest {
    GetRollupRequest {
        region: region(code),
        period,
        breakdown: RegionLevel::Unspecified as i32,
        comparison: Comparison::Unspecified as i32,
        ..Default::default()
    }
}

fn with_breakdown(mut request: GetRollupRequest, level: RegionLevel) -> GetRollupRequest {
    request.breakdown = level as i32;
    request
}

fn days(start: (i32, i32, i32), end: (i32, i32, i32)) -> Option<DateRange> {
    Some(date_range(
        date(start.0, start.1, start.2),
        date(end.0, end.1, end.2),
    ))
}

/// Yunnan 2020 vs 2019, whole subtree: the table at the top of this file.
const YUNNAN_2020: &[(&str, i64, i64)] = &[
    ("measures.total", 8, 2),
    ("measures.protest_and_retrial", 4, 2),
    ("measures.protest", 2, 2),
    ("measures.protest.adopted", 1, 1),
    ("measures.retrial_suggestion", 2, 0),
    ("measures.trial_violation_suggestion", 1, 0),
    ("measures.trial_violation_suggestion.adopted", 1, 0),
    ("measures.enforcement_violation_suggestion", 1, 0),
    ("measures.enforcement_violation_suggestion.adopted", 1, 0),
    ("measures.social_governance_suggestion", 1, 0),
    ("measures.administrative_organ_suggestion", 1, 0),
    ("measures.administrative_organ_suggestion.adopted", 1, 0),
    ("cases.accepted", 3, 2),
    ("cases.concluded", 3, 1),
    ("resolutions.total", 3, 1),
    ("resolutions.private_enterprise", 2, 0),
    ("resolutions.supervision_correction", 1, 0),
    ("resolutions.reconciliation", 1, 1),
    ("resolutions.public_hearing_settlement", 1, 0),
    ("aid.grants", 3, 1),
    ("aid.amount_fen", 273_456, 20_000),
    ("markers.leader_handled", 1, 1),
    ("markers.public_hearing", 1, 0),
    ("markers.private_enterprise", 2, 1),
    ("markers.spp_listed", 3, 0),
    ("markers.spp_listed_private_enterprise", 2, 0),
    ("markers.spp_listed_batches", 2, 0),
    ("markers.typical", 1, 0),
];

/// Kunming (530100) subtree, 2020 vs 2019: C1, C2 (2020) and C5 (2019).
const KUNMING_2020: &[(&str, i64, i64)] = &[
    ("measures.total", 5, 1),
    ("measures.protest_and_retrial", 3, 1),
    ("measures.protest", 2, 1),
    ("measures.protest.adopted", 1, 0),
    ("measures.retrial_suggestion", 1, 0),
    ("measures.enforcement_violation_suggestion", 1, 0),
    ("measures.enforcement_violation_suggestion.adopted", 1, 0),
    ("measures.administrative_organ_suggestion", 1, 0),
    ("measures.administrative_organ_suggestion.adopted", 1, 0),
    ("cases.accepted", 2, 1),
    ("cases.concluded", 1, 1),
    ("resolutions.total", 2, 1),
    ("resolutions.private_enterprise", 1, 0),
    ("resolutions.reconciliation", 1, 1),
    ("resolutions.public_hearing_settlement", 1, 0),
    ("aid.grants", 2, 0),
    ("aid.amount_fen", 223_456, 0),
    ("markers.leader_handled", 1, 1),
    ("markers.public_hearing", 1, 0),
    ("markers.private_enterprise", 1, 0),
    ("markers.spp_listed", 2, 0),
    ("markers.spp_listed_private_enterprise", 1, 0),
    ("markers.spp_listed_batches", 2, 0),
    ("markers.typical", 1, 0),
];

/// Qujing (530300) subtree, 2020 vs 2019: C4.
const QUJING_2020: &[(&str, i64, i64)] = &[
    ("measures.total", 1, 1),
    ("measures.protest_and_retrial", 1, 1),
    ("measures.protest", 0, 1),
    ("measures.protest.adopted", 0, 1),
    ("measures.retrial_suggestion", 1, 0),
    ("cases.accepted", 0, 1),
    ("cases.concluded", 1, 0),
    ("aid.grants", 0, 1),
    ("aid.amount_fen", 0, 20_000),
    ("markers.private_enterprise", 0, 1),
];

/// The provincial procuratorate's own records (530000 itself), 2020 vs 2019: C3.
const YUNNAN_OWN_2020: &[(&str, i64, i64)] = &[
    ("measures.total", 2, 0),
    ("measures.trial_violation_suggestion", 1, 0),
    ("measures.trial_violation_suggestion.adopted", 1, 0),
    ("measures.social_governance_suggestion", 1, 0),
    ("cases.accepted", 1, 0),
    ("cases.concluded", 1, 0),
    ("resolutions.total", 1, 0),
    ("resolutions.private_enterprise", 1, 0),
    ("resolutions.supervision_correction", 1, 0),
    ("aid.grants", 1, 0),
    ("aid.amount_fen", 50_000, 0),
    ("markers.private_enterprise", 1, 0),
    ("markers.spp_listed", 1, 0),
    ("markers.spp_listed_private_enterprise", 1, 0),
    ("markers.spp_listed_batches", 1, 0),
];

/// Beijing (110000) subtree, 2020 vs 2019: C6.
const BEIJING_2020: &[(&str, i64, i64)] = &[
    ("measures.total", 1, 0),
    ("measures.protest_and_retrial", 1, 0),
    ("measures.protest", 1, 0),
    ("measures.protest.adopted", 1, 0),
    ("cases.accepted", 1, 0),
    ("resolutions.total", 1, 0),
    ("resolutions.private_enterprise", 1, 0),
    ("resolutions.other", 1, 0),
    ("aid.grants", 1, 0),
    ("aid.amount_fen", 99_999, 0),
    ("markers.private_enterprise", 1, 0),
    ("markers.spp_listed", 1, 0),
    ("markers.spp_listed_private_enterprise", 1, 0),
    ("markers.spp_listed_batches", 1, 0),
];

/// The whole country, 2020 vs 2019: C1–C6.
const NATIONAL_2020: &[(&str, i64, i64)] = &[
    ("measures.total", 9, 2),
    ("measures.protest_and_retrial", 5, 2),
    ("measures.protest", 3, 2),
    ("measures.protest.adopted", 2, 1),
    ("measures.retrial_suggestion", 2, 0),
    ("measures.trial_violation_suggestion", 1, 0),
    ("measures.trial_violation_suggestion.adopted", 1, 0),
    ("measures.enforcement_violation_suggestion", 1, 0),
    ("measures.enforcement_violation_suggestion.adopted", 1, 0),
    ("measures.social_governance_suggestion", 1, 0),
    ("measures.administrative_organ_suggestion", 1, 0),
    ("measures.administrative_organ_suggestion.adopted", 1, 0),
    ("cases.accepted", 4, 2),
    ("cases.concluded", 3, 1),
    ("resolutions.total", 4, 1),
    ("resolutions.private_enterprise", 3, 0),
    ("resolutions.supervision_correction", 1, 0),
    ("resolutions.reconciliation", 1, 1),
    ("resolutions.public_hearing_settlement", 1, 0),
    ("resolutions.other", 1, 0),
    ("aid.grants", 4, 1),
    ("aid.amount_fen", 373_455, 20_000),
    ("markers.leader_handled", 1, 1),
    ("markers.public_hearing", 1, 0),
    ("markers.private_enterprise", 3, 1),
    ("markers.spp_listed", 4, 0),
    ("markers.spp_listed_private_enterprise", 3, 0),
    ("markers.spp_listed_batches", 3, 0),
    ("markers.typical", 1, 0),
];

#[tokio::test]
async fn yunnan_year_counts_the_whole_subtree_only() {
    let app = spawn_app().await;
    yunnan_fixture(&app).await;

    let rollup = app.rollup(rollup_request("530000", year(2020))).await;

    assert_eq!(rollup.region, "regions/530000");
    assert_eq!(rollup.display_name, "云南省");
    assert_eq!(rollup.period, days((2020, 1, 1), (2020, 12, 31)));
    assert_eq!(rollup.comparison_period, days((2019, 1, 1), (2019, 12, 31)));
    assert_eq!(rollup.breakdown, RegionLevel::Unspecified as i32);
    assert!(rollup.rows.is_empty(), "no rows without a breakdown");
    assert_figures("530000 2020", &rollup.figures, YUNNAN_2020, true);

    // Year-on-year changes, written out by hand.
    let f = &rollup.figures;
    assert_change(f, "cases.accepted", Some(50.0)); // 3 vs 2
    assert_change(f, "measures.total", Some(300.0)); // 8 vs 2
    assert_change(f, "measures.protest_and_retrial", Some(100.0)); // 4 vs 2
    assert_change(f, "measures.protest", Some(0.0)); // 2 vs 2: no change, not undefined
    assert_change(f, "cases.concluded", Some(200.0)); // 3 vs 1
    assert_change(f, "aid.amount_fen", Some(1267.28)); // 273,456 vs 20,000
    assert_change(f, "markers.private_enterprise", Some(100.0)); // 2 vs 1
    // Previous 0: undefined, absent — never 0 or infinity.
    assert_change(f, "measures.retrial_suggestion", None); // 2 vs 0
    assert_change(f, "resolutions.private_enterprise", None); // 2 vs 0
    assert_change(f, "markers.spp_listed", None); // 3 vs 0
    assert_change(f, "resolutions.other", None); // 0 vs 0
    assert_eq!(
        crate::helpers::figure(f, "measures.retrial_suggestion").previous_value,
        Some(0),
        "a previous value of 0 is present"
    );
}

#[tokio::test]
async fn subtree_rollups_of_a_prefecture_a_county_and_another_province() {
    let app = spawn_app().await;
    yunnan_fixture(&app).await;

    let kunming = app.rollup(rollup_request("530100", year(2020))).await;
    assert_eq!(kunming.display_name, "昆明市");
    assert_figures("530100 2020", &kunming.figures, KUNMING_2020, true);

    let qujing = app.rollup(rollup_request("530300", year(2020))).await;
    assert_figures("530300 2020", &qujing.figures, QUJING_2020, true);

    let beijing = app.rollup(rollup_request("110000", year(2020))).await;
    assert_figures("110000 2020", &beijing.figures, BEIJING_2020, true);

    // 盘龙区 (530103): C2 only, nothing the year before.
    let panlong = app.rollup(rollup_request("530103", year(2020))).await;
    assert_figures(
        "530103 2020",
        &panlong.figures,
        &[
            ("measures.total", 2, 0),
            ("measures.protest_and_retrial", 1, 0),
            ("measures.protest", 1, 0),
            ("measures.enforcement_violation_suggestion", 1, 0),
            ("measures.enforcement_violation_suggestion.adopted", 1, 0),
            ("cases.accepted", 1, 0),
            ("resolutions.total", 1, 0),
            ("resolutions.public_hearing_settlement", 1, 0),
            ("markers.public_hearing", 1, 0),
            ("markers.spp_listed", 1, 0),
            ("markers.spp_listed_batches", 1, 0),
            ("markers.typical", 1, 0),
        ],
        true,
    );

    // A prefecture of Yunnan with no records at all.
    let yuxi = app.rollup(rollup_request("530400", year(2020))).await;
    assert_figures("530400 2020", &yuxi.figures, &[], true);
}

#[tokio::test]
async fn national_rollup_counts_every_province() {
    let app = spawn_app().await;
    yunnan_fixture(&app).await;

    let national = app
        .rollup(with_breakdown(
            rollup_request("000000", year(2020)),
            RegionLevel::Province,
        ))
        .await;

    assert_eq!(national.region, "regions/000000");
    assert_eq!(national.display_name, "全国");
    assert_figures("000000 2020", &national.figures, NATIONAL_2020, true);
    assert_eq!(national.breakdown, RegionLevel::Province as i32);
    let rows: Vec<(&str, bool)> = national
        .rows
        .iter()
        .map(|r| (r.region.as_str(), r.own_records_only))
        .collect();
    assert_eq!(
        rows,
        vec![("regions/110000", false), ("regions/530000", false)],
        "one row per province with records, ordered by code; no own row for the SPP"
    );
    assert_figures("row 110000", &national.rows[0].figures, BEIJING_2020, true);
    assert_figures("row 530000", &national.rows[1].figures, YUNNAN_2020, true);
    assert_eq!(national.rows[0].display_name, "北京市");
    assert_eq!(national.rows[1].display_name, "云南省");
    assert_rows_add_up(&national);
}

#[tokio::test]
async fn yunnan_breakdown_by_prefecture_adds_up() {
    let app = spawn_app().await;
    yunnan_fixture(&app).await;

    let rollup = app
        .rollup(with_breakdown(
            rollup_request("530000", year(2020)),
            RegionLevel::Prefecture,
        ))
        .await;

    assert_eq!(rollup.breakdown, RegionLevel::Prefecture as i32);
    assert_figures("530000 2020", &rollup.figures, YUNNAN_2020, true);

    let prefecture_rows: Vec<&RollupRow> =
        rollup.rows.iter().filter(|r| !r.own_records_only).collect();
    let regions: Vec<&str> = prefecture_rows.iter().map(|r| r.region.as_str()).collect();
    assert_eq!(
        regions,
        vec!["regions/530100", "regions/530300"],
        "one row per prefecture with records in either period, ordered by code"
    );
    assert_eq!(prefecture_rows[0].display_name, "昆明市");
    assert_eq!(prefecture_rows[1].display_name, "曲靖市");
    assert_figures(
        "row 530100",
        &prefecture_rows[0].figures,
        KUNMING_2020,
        true,
    );
    assert_figures("row 530300", &prefecture_rows[1].figures, QUJING_2020, true);

    let own: Vec<&RollupRow> = rollup.rows.iter().filter(|r| r.own_records_only).collect();
    assert_eq!(own.len(), 1, "one own-records row: {:?}", rollup.rows);
    assert_eq!(own[0].region, "regions/530000");
    assert_eq!(own[0].display_name, "云南省");
    assert_figures("own row 530000", &own[0].figures, YUNNAN_OWN_2020, true);
    assert_eq!(rollup.rows.len(), 3);

    assert_rows_add_up(&rollup);
}

#[tokio::test]
async fn kunming_breakdown_by_county() {
    let app = spawn_app().await;
    yunnan_fixture(&app).await;

    let rollup = app
        .rollup(with_breakdown(
            rollup_request("530100", year(2020)),
            RegionLevel::County,
        ))
        .await;

    let rows: Vec<(&str, bool)> = rollup
        .rows
        .iter()
        .map(|r| (r.region.as_str(), r.own_records_only))
        .collect();
    assert_eq!(
        rows,
        vec![("regions/530102", false), ("regions/530103", false)],
        "no own row: the Kunming procuratorate itself has no records"
    );
    // 五华区: C1 in 2020, C5 in 2019 (C7 is withdrawn).
    assert_figures(
        "row 530102",
        &rollup.rows[0].figures,
        &[
            ("measures.total", 3, 1),
            ("measures.protest_and_retrial", 2, 1),
            ("measures.protest", 1, 1),
            ("measures.protest.adopted", 1, 0),
            ("measures.retrial_suggestion", 1, 0),
            ("measures.administrative_organ_suggestion", 1, 0),
            ("measures.administrative_organ_suggestion.adopted", 1, 0),
            ("cases.accepted", 1, 1),
            ("cases.concluded", 1, 1),
            ("resolutions.total", 1, 1),
            ("resolutions.private_enterprise", 1, 0),
            ("resolutions.reconciliation", 1, 1),
            ("aid.grants", 2, 0),
            ("aid.amount_fen", 223_456, 0),
            ("markers.leader_handled", 1, 1),
            ("markers.private_enterprise", 1, 0),
            ("markers.spp_listed", 1, 0),
            ("markers.spp_listed_private_enterprise", 1, 0),
            ("markers.spp_listed_batches", 1, 0),
        ],
        true,
    );
    assert_rows_add_up(&rollup);
}

/// Every row-additive figure of the rows sums to the rollup's figure, in both periods.
/// `markers.spp_listed_batches` counts distinct batches and need not add up.
fn assert_rows_add_up(rollup: &Rollup) {
    assert!(!rollup.rows.is_empty());
    for metric in METRICS {
        if metric == "markers.spp_listed_batches" {
            continue;
        }
        let total = crate::helpers::figure(&rollup.figures, metric);
        let rows: i64 = rollup.rows.iter().map(|r| value(&r.figures, metric)).sum();
        assert_eq!(rows, total.value, "{metric}: rows add up to the total");
        let previous: i64 = rollup
            .rows
            .iter()
            .map(|r| {
                crate::helpers::figure(&r.figures, metric)
                    .previous_value
                    .unwrap_or(0)
            })
            .sum();
        assert_eq!(
            previous,
            total.previous_value.unwrap_or(0),
            "{metric}: rows' previous values add up to the total's"
        );
    }
}

#[tokio::test]
async fn withdrawn_cases_count_nowhere() {
    let app = spawn_app().await;
    let mut kept = valid_case("530102", "KEPT");
    kept.accepted_on = on(2020, 4, 1);
    app.create_case(kept).await;
    let mut case = valid_case("530102", "W");
    case.accepted_on = on(2020, 4, 1);
    case.measures = vec![measure(MeasureKind::Protest, date(2020, 4, 10))];
    let created = app.create_case(case).await;

    let before = app.rollup(rollup_request("530000", year(2020))).await;
    assert_eq!(value(&before.figures, "cases.accepted"), 2);
    assert_eq!(value(&before.figures, "measures.protest"), 1);

    let mut withdraw = created.clone();
    withdraw.status = CaseStatus::Withdrawn as i32;
    app.update_case(withdraw, &["status"]).await.unwrap();
    withdrawn_case_with_records(&app, "530103", "W2").await;

    let after = app
        .rollup(with_breakdown(
            rollup_request("530000", year(2020)),
            RegionLevel::Prefecture,
        ))
        .await;
    assert_figures(
        "530000 2020 after withdrawals",
        &after.figures,
        &[("cases.accepted", 1, 0)],
        true,
    );
    let rows: Vec<&str> = after.rows.iter().map(|r| r.region.as_str()).collect();
    assert_eq!(
        rows,
        vec!["regions/530100"],
        "withdrawn records make no row"
    );
    let national = app.rollup(rollup_request("000000", year(2020))).await;
    assert_figures(
        "000000 2020 after withdrawals",
        &national.figures,
        &[("cases.accepted", 1, 0)],
        true,
    );
}

/// Fixture "March", counted over the range 2020-03-01..2020-03-31 (both ends included):
///
/// | case | region | accepted | concluded | records |
/// | --- | --- | --- | --- | --- |
/// | D0 | 530102 | 2020-02-28 (before) | 2020-02-29 (before) | — |
/// | D1 | 530102 | 2020-02-29 (before) | 2020-03-31 (last day: counts) | protest 03-01 (first day: counts), retrial suggestion 02-29 (before), suggestion to an administrative organ 03-31 (last day: counts), social governance suggestion 04-01 (after); resolution other 02-29 (before) |
/// | D2 | 530103 | 2020-03-01 (first day: counts), typical | — | resolution judicial assistance 03-31 (counts); aid 03-01 1,000 fen (counts), 04-01 7,000 fen (after) |
/// | D3 | 530102 | 2020-03-31 (last day: counts), leader | — | aid 03-31 2,500 fen (counts) |
/// | D4 | 530102 | 2020-04-01 (after), public hearing | 2020-04-01 (after) | resolution reconciliation 04-01 (after) |
///
/// Expected: measures.total 2, protest_and_retrial 1, protest 1, administrative_organ 1;
/// cases.accepted 2 (D2 D3); cases.concluded 1 (D1); resolutions.total 1,
/// judicial_assistance 1; aid.grants 2, aid.amount_fen 3,500; markers.leader_handled 1 (D3),
/// markers.typical 1 (D2); everything else 0, and 0 in 2019-03-01..2019-03-31.
#[tokio::test]
async fn a_range_counts_its_first_and_last_day() {
    let app = spawn_app().await;

    let mut d0 = valid_case("530102", "D0");
    d0.accepted_on = on(2020, 2, 28);
    d0.status = CaseStatus::Concluded as i32;
    d0.concluded_on = on(2020, 2, 29);
    app.create_case(d0).await;

    let mut d1 = valid_case("530102", "D1");
    d1.accepted_on = on(2020, 2, 29);
    d1.status = CaseStatus::Concluded as i32;
    d1.concluded_on = on(2020, 3, 31);
    d1.measures = vec![
        measure(MeasureKind::Protest, date(2020, 3, 1)),
        measure(MeasureKind::RetrialSuggestion, date(2020, 2, 29)),
        measure(
            MeasureKind::AdministrativeOrganSuggestion,
            date(2020, 3, 31),
        ),
        measure(MeasureKind::SocialGovernanceSuggestion, date(2020, 4, 1)),
    ];
    d1.resolution = Some(resolution(ResolutionMethod::Other, date(2020, 2, 29)));
    app.create_case(d1).await;

    let mut d2 = valid_case("530103", "D2");
    d2.accepted_on = on(2020, 3, 1);
    d2.typical = true;
    d2.resolution = Some(resolution(
        ResolutionMethod::JudicialAssistance,
        date(2020, 3, 31),
    ));
    d2.aid_grants = vec![aid(date(2020, 3, 1), 1_000), aid(date(2020, 4, 1), 7_000)];
    app.create_case(d2).await;

    let mut d3 = valid_case("530102", "D3");
    d3.accepted_on = on(2020, 3, 31);
    d3.leader_handled = true;
    d3.aid_grants = vec![aid(date(2020, 3, 31), 2_500)];
    app.create_case(d3).await;

    let mut d4 = valid_case("530102", "D4");
    d4.accepted_on = on(2020, 4, 1);
    d4.public_hearing = true;
    d4.status = CaseStatus::Concluded as i32;
    d4.concluded_on = on(2020, 4, 1);
    d4.resolution = Some(resolution(
        ResolutionMethod::Reconciliation,
        date(2020, 4, 1),
    ));
    app.create_case(d4).await;

    let march = range(date(2020, 3, 1), date(2020, 3, 31));
    let expected: &[(&str, i64, i64)] = &[
        ("measures.total", 2, 0),
        ("measures.protest_and_retrial", 1, 0),
        ("measures.protest", 1, 0),
        ("measures.administrative_organ_suggestion", 1, 0),
        ("cases.accepted", 2, 0),
        ("cases.concluded", 1, 0),
        ("resolutions.total", 1, 0),
        ("resolutions.judicial_assistance", 1, 0),
        ("aid.grants", 2, 0),
        ("aid.amount_fen", 3_500, 0),
        ("markers.leader_handled", 1, 0),
        ("markers.typical", 1, 0),
    ];

    let rollup = app.rollup(rollup_request("530000", march)).await;
    assert_eq!(rollup.period, days((2020, 3, 1), (2020, 3, 31)));
    assert_eq!(rollup.comparison_period, days((2019, 3, 1), (2019, 3, 31)));
    assert_figures("530000 March 2020", &rollup.figures, expected, true);
    for metric in METRICS {
        assert_change(&rollup.figures, metric, None);
    }

    // The same without comparison: no previous values, no changes, no comparison period.
    let mut request = rollup_request("530000", march);
    request.comparison = Comparison::None as i32;
    let uncompared = app.rollup(request).await;
    assert_eq!(uncompared.period, days((2020, 3, 1), (2020, 3, 31)));
    assert_eq!(uncompared.comparison_period, None);
    assert_figures(
        "530000 March 2020, no comparison",
        &uncompared.figures,
        expected,
        false,
    );

    // Asking for the previous-year comparison explicitly is the default.
    let mut request = rollup_request("530000", range(date(2020, 3, 1), date(2020, 3, 31)));
    request.comparison = Comparison::PreviousYear as i32;
    let explicit = app.rollup(request).await;
    assert_eq!(explicit.figures, rollup.figures);
    assert_eq!(explicit.comparison_period, rollup.comparison_period);

    // A one-day range on either boundary.
    let first_day = app
        .rollup(rollup_request(
            "530000",
            range(date(2020, 3, 1), date(2020, 3, 1)),
        ))
        .await;
    assert_figures(
        "530000 2020-03-01",
        &first_day.figures,
        &[
            ("measures.total", 1, 0),
            ("measures.protest_and_retrial", 1, 0),
            ("measures.protest", 1, 0),
            ("cases.accepted", 1, 0),
            ("aid.grants", 1, 0),
            ("aid.amount_fen", 1_000, 0),
            ("markers.typical", 1, 0),
        ],
        true,
    );
}

/// Fixture "periods": one case at 530102 accepted 2019-01-01 with protests issued on
/// 2019-02-28, 2019-06-30, 2020-01-31, 2020-02-29, 2020-03-01, 2020-03-31, 2020-04-01,
/// 2020-06-30 and 2020-07-01.
///
/// | period | days | protests | previous (a year earlier) | change |
/// | --- | --- | --- | --- | --- |
/// | year 2020 | 2020-01-01..2020-12-31 | 7 | 2 (02-28, 06-30) | +250 |
/// | Q1 2020 | 2020-01-01..2020-03-31 | 4 | 1 (02-28) | +300 |
/// | Q2 2020 | 2020-04-01..2020-06-30 | 2 | 1 (06-30) | +100 |
/// | Feb 2020 | 2020-02-01..2020-02-29 | 1 | 1 (2019-02-01..2019-02-28) | 0 |
/// | 2020-02-29..2020-02-29 | | 1 | 1 (2019-02-28) | 0 |
/// | Q3 2019 | 2019-07-01..2019-09-30 | 0 | 0 | none |
#[tokio::test]
async fn calendar_periods_resolve_to_day_ranges() {
    let app = spawn_app().await;
    let mut case = valid_case("530102", "K");
    case.accepted_on = on(2019, 1, 1);
    case.measures = [
        (2019, 2, 28),
        (2019, 6, 30),
        (2020, 1, 31),
        (2020, 2, 29),
        (2020, 3, 1),
        (2020, 3, 31),
        (2020, 4, 1),
        (2020, 6, 30),
        (2020, 7, 1),
    ]
    .into_iter()
    .map(|(y, m, d)| measure(MeasureKind::Protest, date(y, m, d)))
    .collect();
    app.create_case(case).await;

    let check = |rollup: &Rollup, what: &str, value: i64, previous: i64, change: Option<f64>| {
        assert_figures(
            what,
            &rollup.figures,
            &[
                ("measures.total", value, previous),
                ("measures.protest_and_retrial", value, previous),
                ("measures.protest", value, previous),
            ],
            true,
        );
        assert_change(&rollup.figures, "measures.protest", change);
    };

    let y2020 = app.rollup(rollup_request("530000", year(2020))).await;
    assert_eq!(y2020.period, days((2020, 1, 1), (2020, 12, 31)));
    assert_eq!(y2020.comparison_period, days((2019, 1, 1), (2019, 12, 31)));
    // The case was accepted in 2019: cases.accepted is 0 in 2020 and 1 in 2019.
    assert_figures(
        "year 2020",
        &y2020.figures,
        &[
            ("measures.total", 7, 2),
            ("measures.protest_and_retrial", 7, 2),
            ("measures.protest", 7, 2),
            ("cases.accepted", 0, 1),
        ],
        true,
    );
    assert_change(&y2020.figures, "measures.protest", Some(250.0));

    let q1 = app.rollup(rollup_request("530000", quarter(2020, 1))).await;
    assert_eq!(q1.period, days((2020, 1, 1), (2020, 3, 31)));
    assert_eq!(q1.comparison_period, days((2019, 1, 1), (2019, 3, 31)));
    assert_figures(
        "Q1 2020",
        &q1.figures,
        &[
            ("measures.total", 4, 1),
            ("measures.protest_and_retrial", 4, 1),
            ("measures.protest", 4, 1),
            ("cases.accepted", 0, 1),
        ],
        true,
    );
    assert_change(&q1.figures, "measures.protest", Some(300.0));

    let q2 = app.rollup(rollup_request("530000", quarter(2020, 2))).await;
    assert_eq!(q2.period, days((2020, 4, 1), (2020, 6, 30)));
    assert_eq!(q2.comparison_period, days((2019, 4, 1), (2019, 6, 30)));
    check(&q2, "Q2 2020", 2, 1, Some(100.0));

    let february = app.rollup(rollup_request("530000", month(2020, 2))).await;
    assert_eq!(february.period, days((2020, 2, 1), (2020, 2, 29)));
    assert_eq!(
        february.comparison_period,
        days((2019, 2, 1), (2019, 2, 28))
    );
    check(&february, "Feb 2020", 1, 1, Some(0.0));

    let leap_day = app
        .rollup(rollup_request(
            "530000",
            range(date(2020, 2, 29), date(2020, 2, 29)),
        ))
        .await;
    assert_eq!(leap_day.period, days((2020, 2, 29), (2020, 2, 29)));
    assert_eq!(
        leap_day.comparison_period,
        days((2019, 2, 28), (2019, 2, 28)),
        "29 February maps to 28 February"
    );
    check(&leap_day, "2020-02-29", 1, 1, Some(0.0));

    let q3_2019 = app.rollup(rollup_request("530000", quarter(2019, 3))).await;
    assert_eq!(q3_2019.period, days((2019, 7, 1), (2019, 9, 30)));
    check(&q3_2019, "Q3 2019 (nothing)", 0, 0, None);

    let december = app.rollup(rollup_request("530000", month(2020, 12))).await;
    assert_eq!(december.period, days((2020, 12, 1), (2020, 12, 31)));
}

#[tokio::test]
async fn an_empty_rollup_reports_every_metric_as_zero() {
    let app = spawn_app().await;

    let rollup = app.rollup(rollup_request("000000", year(2020))).await;

    assert_figures("empty 2020", &rollup.figures, &[], true);
    for metric in METRICS {
        assert_change(&rollup.figures, metric, None);
    }
    assert_eq!(rollup.figures.len(), METRICS.len());

    let with_rows = app
        .rollup(with_breakdown(
            rollup_request("000000", year(2020)),
            RegionLevel::Province,
        ))
        .await;
    assert!(with_rows.rows.is_empty(), "no region has records: no rows");
}

#[tokio::test]
async fn rollup_figures_follow_later_changes() {
    let app = spawn_app().await;
    let case = app.create_case(valid_case("530102", "N-1")).await;
    let request = || rollup_request("530000", year(2020));
    assert_eq!(
        value(&app.rollup(request()).await.figures, "measures.total"),
        0
    );

    let created = app
        .cases
        .clone()
        .create_measure(CreateMeasureRequest {
            parent: case.name.clone(),
            measure: Some(measure(MeasureKind::Protest, date(2020, 4, 1))),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .measure
        .unwrap();
    let after_measure = app.rollup(request()).await;
    assert_eq!(value(&after_measure.figures, "measures.protest"), 1);
    assert_eq!(value(&after_measure.figures, "measures.protest.adopted"), 0);

    app.cases
        .clone()
        .update_measure(UpdateMeasureRequest {
            measure: Some(answered(created, Adoption::Adopted, date(2020, 5, 1))),
            update_mask: Some(field_mask(&["adoption", "answered_on"])),
            reason: String::new(),
        })
        .await
        .unwrap();
    let after_adoption = app.rollup(request()).await;
    assert_eq!(
        value(&after_adoption.figures, "measures.protest.adopted"),
        1
    );

    // Moving the acceptance date into 2019 moves the case between periods.
    let mut change = app.get_case(&case.name).await;
    change.accepted_on = on(2019, 12, 31);
    app.update_case(change, &["accepted_on"]).await.unwrap();
    let after_move = app.rollup(request()).await;
    assert_eq!(value(&after_move.figures, "cases.accepted"), 0);
    assert_eq!(
        crate::helpers::figure(&after_move.figures, "cases.accepted").previous_value,
        Some(1)
    );
}

#[tokio::test]
async fn rollup_of_an_unknown_region_is_not_found() {
    let app = spawn_app().await;

    let status = expect_err(
        app.try_rollup(rollup_request("999999", year(2020))).await,
        "GetRollup regions/999999",
    );

    assert_status(&status, Code::NotFound, "REGION_NOT_FOUND");
}
