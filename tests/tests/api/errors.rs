//! The error model (AIP-193): bad input is INVALID_ARGUMENT with ONE BadRequest naming every
//! bad field by its proto path relative to the request, plus ErrorInfo{domain procura.v1,
//! reason INVALID_ARGUMENT}; a rejected request changes nothing.

use procura_proto::v1::{
    AddresseeType, Adoption, ApplicantType, Case, CaseStatus, CaseType, CreateCaseRequest,
    CreateJudicialAidRequest, CreateMeasureRequest, CreateResolutionRequest, GetRollupRequest,
    JudicialAid, ListCasesRequest, Measure, MeasureKind, RegionLevel, ResolutionMethod, Sector,
    UpdateMeasureRequest,
};
use tonic::Code;

use crate::helpers::{
    CreateRecord, TestApp, aid, assert_invalid_field, assert_invalid_fields, assert_status,
    check_field_violations, check_invalid_fields, date, expect_err, field_mask, field_violations,
    measure, month, on, quarter, range, resolution, spawn_app, valid_case, year,
};

/// A date well in the future whatever the server's time zone.
fn future_date() -> procura_proto::v1::Date {
    use chrono::Datelike;
    let day = chrono::Utc::now().date_naive() + chrono::Days::new(3);
    date(day.year(), day.month() as i32, day.day() as i32)
}

async fn assert_nothing_stored(app: &TestApp) {
    let all = app
        .list_all_cases(ListCasesRequest {
            status: CaseStatus::Unspecified as i32,
            ..Default::default()
        })
        .await;
    assert!(all.is_empty(), "a rejected request stored cases: {all:?}");
}

#[tokio::test]
async fn create_case_names_every_bad_field_in_one_bad_request() {
    let app = spawn_app().await;
    let case = Case {
        region: "530102".to_owned(),
        case_number: String::new(),
        case_type: CaseType::Unspecified as i32,
        applicant_type: ApplicantType::Unspecified as i32,
        sector: Sector::Unspecified as i32,
        accepted_on: None,
        spp_listed_batch: -1,
        ..Case::default()
    };

    let status = expect_err(app.try_create_case(case).await, "CreateCase of garbage");

    assert_invalid_fields(
        &status,
        &[
            "case.region",
            "case.case_number",
            "case.case_type",
            "case.applicant_type",
            "case.sector",
            "case.accepted_on",
            "case.spp_listed_batch",
        ],
    );
    assert_nothing_stored(&app).await;
}

#[tokio::test]
async fn create_case_without_a_case_is_invalid() {
    let app = spawn_app().await;

    let status = expect_err(
        app.create_case_request(CreateCaseRequest::default()).await,
        "CreateCase without a case",
    );

    let fields = field_violations(&status);
    assert!(
        fields
            .iter()
            .any(|(f, _)| f == "case" || f.starts_with("case.")),
        "names the case: {fields:?}"
    );
}

/// One bad field at a time on an otherwise valid case: each names exactly that field.
#[tokio::test]
async fn create_case_rejects_each_bad_field() {
    let app = spawn_app().await;
    type Mutation = fn(&mut Case);
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "region without prefix",
            |c| c.region = "530102".into(),
            "case.region",
        ),
        (
            "region of 5 digits",
            |c| c.region = "regions/53010".into(),
            "case.region",
        ),
        (
            "region with letters",
            |c| c.region = "regions/5301ab".into(),
            "case.region",
        ),
        (
            "region unknown",
            |c| c.region = "regions/999999".into(),
            "case.region",
        ),
        ("region empty", |c| c.region = String::new(), "case.region"),
        (
            "case_number empty",
            |c| c.case_number = String::new(),
            "case.case_number",
        ),
        (
            "case_number of 101 characters",
            |c| c.case_number = "x".repeat(101),
            "case.case_number",
        ),
        (
            "case_type unspecified",
            |c| c.case_type = 0,
            "case.case_type",
        ),
        (
            "case_type out of range",
            |c| c.case_type = 99,
            "case.case_type",
        ),
        (
            "applicant_type unspecified",
            |c| c.applicant_type = 0,
            "case.applicant_type",
        ),
        ("sector unspecified", |c| c.sector = 0, "case.sector"),
        (
            "accepted_on missing",
            |c| c.accepted_on = None,
            "case.accepted_on",
        ),
        (
            "accepted_on 2021-02-30",
            |c| c.accepted_on = on(2021, 2, 30),
            "case.accepted_on",
        ),
        (
            "accepted_on month 13",
            |c| c.accepted_on = on(2021, 13, 1),
            "case.accepted_on",
        ),
        (
            "accepted_on day 0",
            |c| c.accepted_on = on(2021, 1, 0),
            "case.accepted_on",
        ),
        (
            "accepted_on year 0",
            |c| c.accepted_on = on(0, 1, 1),
            "case.accepted_on",
        ),
        (
            "accepted_on in the future",
            |c| c.accepted_on = Some(future_date()),
            "case.accepted_on",
        ),
        (
            "concluded without concluded_on",
            |c| c.status = CaseStatus::Concluded as i32,
            "case.concluded_on",
        ),
        (
            "concluded_on before accepted_on",
            |c| {
                c.status = CaseStatus::Concluded as i32;
                c.concluded_on = on(2020, 2, 29);
            },
            "case.concluded_on",
        ),
        (
            "concluded_on while accepted",
            |c| {
                c.status = CaseStatus::Accepted as i32;
                c.concluded_on = on(2020, 9, 30);
            },
            "case.concluded_on",
        ),
        (
            "concluded_on invalid",
            |c| {
                c.status = CaseStatus::Concluded as i32;
                c.concluded_on = on(2021, 2, 29);
            },
            "case.concluded_on",
        ),
        (
            "spp_listed_batch negative",
            |c| c.spp_listed_batch = -1,
            "case.spp_listed_batch",
        ),
        (
            "summary too long",
            |c| c.summary = "案".repeat(2001),
            "case.summary",
        ),
        (
            "measure kind unspecified",
            |c| {
                let mut m = measure(MeasureKind::Protest, date(2020, 4, 1));
                m.kind = MeasureKind::Unspecified as i32;
                c.measures = vec![m];
            },
            "case.measures[0].kind",
        ),
        (
            "measure issued before the case was accepted",
            |c| c.measures = vec![measure(MeasureKind::Protest, date(2020, 2, 29))],
            "case.measures[0].issued_on",
        ),
        (
            "measure issued_on missing",
            |c| {
                let mut m = measure(MeasureKind::Protest, date(2020, 4, 1));
                m.issued_on = None;
                c.measures = vec![m];
            },
            "case.measures[0].issued_on",
        ),
        (
            "protest to an administrative organ",
            |c| {
                let mut m = measure(MeasureKind::Protest, date(2020, 4, 1));
                m.addressee_type = AddresseeType::AdministrativeOrgan as i32;
                c.measures = vec![m];
            },
            "case.measures[0].addressee_type",
        ),
        (
            "suggestion to an administrative organ addressed to a court",
            |c| {
                let mut m = measure(MeasureKind::AdministrativeOrganSuggestion, date(2020, 4, 1));
                m.addressee_type = AddresseeType::Court as i32;
                c.measures = vec![m];
            },
            "case.measures[0].addressee_type",
        ),
        (
            "addressee_type unspecified",
            |c| {
                let mut m = measure(MeasureKind::Protest, date(2020, 4, 1));
                m.addressee_type = AddresseeType::Unspecified as i32;
                c.measures = vec![m];
            },
            "case.measures[0].addressee_type",
        ),
        (
            "addressee empty",
            |c| {
                let mut m = measure(MeasureKind::Protest, date(2020, 4, 1));
                m.addressee = String::new();
                c.measures = vec![m];
            },
            "case.measures[0].addressee",
        ),
        (
            "adopted without answered_on",
            |c| {
                let mut m = measure(MeasureKind::Protest, date(2020, 4, 1));
                m.adoption = Adoption::Adopted as i32;
                c.measures = vec![m];
            },
            "case.measures[0].answered_on",
        ),
        (
            "answered before issued",
            |c| {
                let mut m = measure(MeasureKind::Protest, date(2020, 4, 1));
                m.adoption = Adoption::NotAdopted as i32;
                m.answered_on = on(2020, 3, 31);
                c.measures = vec![m];
            },
            "case.measures[0].answered_on",
        ),
        (
            "answered_on while pending",
            |c| {
                let mut m = measure(MeasureKind::Protest, date(2020, 4, 1));
                m.adoption = Adoption::Pending as i32;
                m.answered_on = on(2020, 5, 1);
                c.measures = vec![m];
            },
            "case.measures[0].answered_on",
        ),
        (
            "second measure bad",
            |c| {
                let good = measure(MeasureKind::Protest, date(2020, 4, 1));
                let mut bad = measure(MeasureKind::RetrialSuggestion, date(2020, 4, 1));
                bad.kind = MeasureKind::Unspecified as i32;
                c.measures = vec![good, bad];
            },
            "case.measures[1].kind",
        ),
        (
            "resolution method unspecified",
            |c| c.resolution = Some(resolution(ResolutionMethod::Unspecified, date(2020, 6, 1))),
            "case.resolution.method",
        ),
        (
            "resolution before the case was accepted",
            |c| c.resolution = Some(resolution(ResolutionMethod::Other, date(2020, 2, 1))),
            "case.resolution.resolved_on",
        ),
        (
            "aid amount 0",
            |c| c.aid_grants = vec![aid(date(2020, 6, 2), 0)],
            "case.aid_grants[0].amount_fen",
        ),
        (
            "aid amount negative",
            |c| c.aid_grants = vec![aid(date(2020, 6, 2), -100)],
            "case.aid_grants[0].amount_fen",
        ),
        (
            "aid amount above 100,000,000 fen",
            |c| c.aid_grants = vec![aid(date(2020, 6, 2), 100_000_001)],
            "case.aid_grants[0].amount_fen",
        ),
        (
            "aid granted before the case was accepted",
            |c| c.aid_grants = vec![aid(date(2020, 2, 1), 100)],
            "case.aid_grants[0].granted_on",
        ),
    ];

    let mut failures = Vec::new();
    for (what, mutate, field) in cases {
        let mut case = valid_case("530102", "N-1");
        mutate(&mut case);
        match app.try_create_case(case).await {
            Ok(created) => failures.push(format!("{what}: accepted as {}", created.name)),
            Err(status) => {
                if let Err(e) = check_invalid_fields(&status, &[field]) {
                    failures.push(format!("{what}: {e}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "CreateCase validation:\n  {}",
        failures.join("\n  ")
    );
    assert_nothing_stored(&app).await;
}

#[tokio::test]
async fn create_case_accepts_the_edges_of_the_rules() {
    let app = spawn_app().await;
    let mut case = valid_case("530102", &"案".repeat(100));
    case.accepted_on = on(2020, 2, 29);
    case.status = CaseStatus::Concluded as i32;
    case.concluded_on = on(2020, 2, 29);
    case.measures = vec![crate::helpers::answered(
        measure(MeasureKind::Protest, date(2020, 2, 29)),
        Adoption::Adopted,
        date(2020, 2, 29),
    )];
    case.resolution = Some(resolution(ResolutionMethod::Other, date(2020, 2, 29)));
    case.aid_grants = vec![
        aid(date(2020, 2, 29), 1),
        aid(date(2020, 2, 29), 100_000_000),
    ];
    let mut social = measure(MeasureKind::SocialGovernanceSuggestion, date(2020, 3, 1));
    social.addressee_type = AddresseeType::Court as i32;
    case.measures.push(social);

    let created = app.create_case(case).await;

    assert_eq!(created.case_number.chars().count(), 100);
    assert_eq!(created.measures.len(), 2);
    assert_eq!(created.aid_grants.len(), 2);
}

#[tokio::test]
async fn create_case_rejects_a_request_id_that_is_not_a_uuid() {
    let app = spawn_app().await;

    let status = expect_err(
        app.create_case_request(CreateCaseRequest {
            case: Some(valid_case("530102", "N-1")),
            request_id: "not-a-uuid".to_owned(),
        })
        .await,
        "CreateCase with a bad request_id",
    );

    assert_invalid_field(&status, "request_id");
    assert_nothing_stored(&app).await;
}

#[tokio::test]
async fn a_case_with_one_bad_inline_measure_is_not_stored_at_all() {
    let app = spawn_app().await;
    let mut case = valid_case("530102", "N-1");
    let mut bad = measure(MeasureKind::Protest, date(2020, 4, 1));
    bad.addressee = String::new();
    case.measures = vec![measure(MeasureKind::Protest, date(2020, 4, 1)), bad];
    case.aid_grants = vec![aid(date(2020, 6, 2), 500)];

    let status = expect_err(
        app.try_create_case(case).await,
        "CreateCase with a bad measure",
    );

    assert_invalid_field(&status, "case.measures[1].addressee");
    assert_nothing_stored(&app).await;
    // Nothing half-stored blocks the corrected case either.
    let created = app.create_case(valid_case("530102", "N-1")).await;
    assert!(created.measures.is_empty());
}

#[tokio::test]
async fn unknown_case_and_region_are_not_found() {
    let app = spawn_app().await;

    let status = expect_err(app.try_get_case("cases/999999").await, "GetCase");
    let info = assert_status(&status, Code::NotFound, "CASE_NOT_FOUND");
    assert_eq!(info.domain, "procura.v1");

    let status = expect_err(
        app.cases
            .clone()
            .create_measure(CreateMeasureRequest {
                parent: "cases/999999".to_owned(),
                measure: Some(measure(MeasureKind::Protest, date(2020, 4, 1))),
                request_id: String::new(),
            })
            .await,
        "CreateMeasure on an unknown case",
    );
    assert_status(&status, Code::NotFound, "CASE_NOT_FOUND");

    let status = expect_err(
        app.try_rollup(GetRollupRequest {
            region: "regions/999999".to_owned(),
            period: year(2020),
            ..Default::default()
        })
        .await,
        "GetRollup of an unknown region",
    );
    assert_status(&status, Code::NotFound, "REGION_NOT_FOUND");
}

#[tokio::test]
async fn resource_names_are_validated() {
    let app = spawn_app().await;

    for bad in ["", "cases/", "cases/abc", "case/1", "1"] {
        let status = expect_err(app.try_get_case(bad).await, bad);
        assert_invalid_field(&status, "name");
    }

    let requests = [
        (
            "CreateMeasure with a bad parent",
            CreateRecord::Measure(CreateMeasureRequest {
                parent: "cases/abc".to_owned(),
                measure: Some(measure(MeasureKind::Protest, date(2020, 4, 1))),
                request_id: String::new(),
            }),
        ),
        (
            "CreateResolution with a bad parent",
            CreateRecord::Resolution(CreateResolutionRequest {
                parent: "nonsense".to_owned(),
                resolution: Some(resolution(ResolutionMethod::Other, date(2020, 6, 1))),
                request_id: String::new(),
            }),
        ),
        (
            "CreateJudicialAid without a parent",
            CreateRecord::Aid(CreateJudicialAidRequest {
                parent: String::new(),
                aid_grant: Some(aid(date(2020, 6, 2), 100)),
                request_id: String::new(),
            }),
        ),
    ];
    for (what, request) in requests {
        let status = expect_err(request.send(&app).await, what);
        assert_invalid_field(&status, "parent");
    }

    let mut bad_measure = measure(MeasureKind::Protest, date(2020, 4, 1));
    bad_measure.name = "cases/1/measure/1".to_owned();
    let status = expect_err(
        app.cases
            .clone()
            .update_measure(UpdateMeasureRequest {
                measure: Some(bad_measure),
                update_mask: Some(field_mask(&["addressee"])),
                reason: String::new(),
            })
            .await,
        "UpdateMeasure with a bad name",
    );
    assert_invalid_field(&status, "measure.name");
}

#[tokio::test]
async fn update_case_rejects_bad_masks_and_values() {
    let app = spawn_app().await;
    let created = app.create_case(valid_case("530102", "N-1")).await;

    let mut failures = Vec::new();
    for (what, paths) in [
        ("empty mask", vec![]),
        ("immutable region", vec!["region"]),
        ("immutable case_number", vec!["case_number"]),
        ("output-only etag", vec!["etag"]),
        ("unknown field", vec!["nonsense"]),
        ("good and unknown", vec!["summary", "nonsense"]),
    ] {
        let mut change = created.clone();
        change.region = "regions/110101".to_owned();
        change.case_number = "N-2".to_owned();
        change.summary = "changed".to_owned();
        match app.update_case(change, &paths).await {
            Ok(updated) => failures.push(format!("{what}: accepted, returned {updated:?}")),
            Err(status) => {
                if let Err(e) = check_invalid_fields(&status, &["update_mask"]) {
                    failures.push(format!("{what}: {e}"));
                }
            }
        }
    }
    // No update_mask at all.
    let status = expect_err(
        app.cases
            .clone()
            .update_case(procura_proto::v1::UpdateCaseRequest {
                case: Some(created.clone()),
                update_mask: None,
                ..Default::default()
            })
            .await,
        "UpdateCase without a mask",
    );
    if let Err(e) = check_invalid_fields(&status, &["update_mask"]) {
        failures.push(format!("no mask: {e}"));
    }
    assert!(
        failures.is_empty(),
        "UpdateCase masks:\n  {}",
        failures.join("\n  ")
    );

    // A masked value is validated like on create.
    let mut change = created.clone();
    change.status = CaseStatus::Concluded as i32;
    change.concluded_on = on(2020, 2, 1);
    let status = expect_err(
        app.update_case(change, &["status", "concluded_on"]).await,
        "conclusion before acceptance",
    );
    assert_invalid_field(&status, "case.concluded_on");

    let mut change = created.clone();
    change.status = CaseStatus::Concluded as i32;
    let status = expect_err(
        app.update_case(change, &["status"]).await,
        "concluded without a date",
    );
    assert_invalid_field(&status, "case.concluded_on");

    assert_eq!(
        app.get_case(&created.name).await,
        created,
        "nothing changed"
    );
}

#[tokio::test]
async fn rollup_requests_are_validated() {
    let app = spawn_app().await;
    let rollup = |region: &str, period, breakdown: RegionLevel| GetRollupRequest {
        region: region.to_owned(),
        period,
        breakdown: breakdown as i32,
        ..Default::default()
    };
    let is_period = |f: &str| f == "period" || f.starts_with("period.");

    let mut failures = Vec::new();
    for (what, request) in [
        (
            "period missing",
            rollup("regions/530000", None, RegionLevel::Unspecified),
        ),
        (
            "period with no kind",
            rollup(
                "regions/530000",
                Some(procura_proto::v1::Period { kind: None }),
                RegionLevel::Unspecified,
            ),
        ),
        (
            "quarter 5",
            rollup("regions/530000", quarter(2020, 5), RegionLevel::Unspecified),
        ),
        (
            "quarter 0",
            rollup("regions/530000", quarter(2020, 0), RegionLevel::Unspecified),
        ),
        (
            "month 13",
            rollup("regions/530000", month(2020, 13), RegionLevel::Unspecified),
        ),
        (
            "range end before start",
            rollup(
                "regions/530000",
                range(date(2020, 3, 31), date(2020, 3, 1)),
                RegionLevel::Unspecified,
            ),
        ),
        (
            "range with an invalid day",
            rollup(
                "regions/530000",
                range(date(2020, 2, 30), date(2020, 3, 1)),
                RegionLevel::Unspecified,
            ),
        ),
    ] {
        match app.try_rollup(request).await {
            Ok(_) => failures.push(format!("{what}: accepted")),
            Err(status) => match check_field_violations(&status) {
                Ok(fields) if !fields.is_empty() && fields.iter().all(|(f, _)| is_period(f)) => {}
                Ok(fields) => failures.push(format!(
                    "{what}: expected violations on period, got {fields:?}"
                )),
                Err(e) => failures.push(format!("{what}: {e}")),
            },
        }
    }
    assert!(
        failures.is_empty(),
        "GetRollup periods:\n  {}",
        failures.join("\n  ")
    );

    let status = expect_err(
        app.try_rollup(rollup("530000", year(2020), RegionLevel::Unspecified))
            .await,
        "region without prefix",
    );
    assert_invalid_field(&status, "region");

    let status = expect_err(
        app.try_rollup(rollup("regions/530000", year(2020), RegionLevel::Province))
            .await,
        "breakdown at the region's own level",
    );
    assert_invalid_field(&status, "breakdown");

    let status = expect_err(
        app.try_rollup(rollup("regions/530100", year(2020), RegionLevel::National))
            .await,
        "breakdown above the region",
    );
    assert_invalid_field(&status, "breakdown");

    let status = expect_err(
        app.try_rollup(rollup("regions/530102", year(2020), RegionLevel::County))
            .await,
        "breakdown of a county",
    );
    assert_invalid_field(&status, "breakdown");

    let status = expect_err(
        app.try_rollup(rollup("bogus", None, RegionLevel::Unspecified))
            .await,
        "two bad fields",
    );
    let fields = field_violations(&status);
    assert!(fields.iter().any(|(f, _)| f == "region"), "{fields:?}");
    assert!(fields.iter().any(|(f, _)| is_period(f)), "{fields:?}");
}

#[tokio::test]
async fn measure_requests_are_validated() {
    let app = spawn_app().await;
    let case = app.create_case(valid_case("530102", "N-1")).await;

    let mut to_organ = measure(MeasureKind::Protest, date(2020, 4, 1));
    to_organ.addressee_type = AddresseeType::AdministrativeOrgan as i32;
    let measure_request = |measure: Measure| {
        CreateRecord::Measure(CreateMeasureRequest {
            parent: case.name.clone(),
            measure: Some(measure),
            request_id: String::new(),
        })
    };
    let aid_request = |aid_grant: JudicialAid, request_id: &str| {
        CreateRecord::Aid(CreateJudicialAidRequest {
            parent: case.name.clone(),
            aid_grant: Some(aid_grant),
            request_id: request_id.to_owned(),
        })
    };
    let requests = [
        (
            "CreateMeasure protest to an administrative organ",
            measure_request(to_organ),
            "measure.addressee_type",
        ),
        (
            "CreateMeasure issued before acceptance",
            measure_request(measure(MeasureKind::Protest, date(2020, 2, 1))),
            "measure.issued_on",
        ),
        (
            "CreateResolution without a method",
            CreateRecord::Resolution(CreateResolutionRequest {
                parent: case.name.clone(),
                resolution: Some(resolution(ResolutionMethod::Unspecified, date(2020, 6, 1))),
                request_id: String::new(),
            }),
            "resolution.method",
        ),
        (
            "CreateJudicialAid of 0 fen",
            aid_request(aid(date(2020, 6, 2), 0), ""),
            "aid_grant.amount_fen",
        ),
        (
            "CreateJudicialAid with a bad request_id",
            aid_request(aid(date(2020, 6, 2), 100), "123"),
            "request_id",
        ),
    ];
    for (what, request, field) in requests {
        let status = expect_err(request.send(&app).await, what);
        assert_invalid_field(&status, field);
    }

    assert_eq!(app.get_case(&case.name).await, case, "nothing was added");
}
