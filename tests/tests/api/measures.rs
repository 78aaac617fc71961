//! CaseService: the records under a case — measures, the resolution, aid grants.

use procura_proto::v1::{
    Adoption, CreateJudicialAidRequest, CreateMeasureRequest, CreateResolutionRequest, Measure,
    MeasureKind, ResolutionMethod, UpdateMeasureRequest,
};
use tonic::Code;

use crate::helpers::{
    CreateRecord, TestApp, aid, assert_invalid_field, assert_status, date, expect_err, field_mask,
    measure, on, resolution, spawn_app, trailing_id, valid_case,
};

async fn create_measure(
    app: &TestApp,
    parent: &str,
    measure: Measure,
    request_id: &str,
) -> Result<Measure, tonic::Status> {
    let response = app
        .cases
        .clone()
        .create_measure(CreateMeasureRequest {
            parent: parent.to_owned(),
            measure: Some(measure),
            request_id: request_id.to_owned(),
        })
        .await?
        .into_inner();
    Ok(response
        .measure
        .expect("CreateMeasureResponse.measure is set"))
}

async fn update_measure(
    app: &TestApp,
    measure: Measure,
    paths: &[&str],
) -> Result<Measure, tonic::Status> {
    let response = app
        .cases
        .clone()
        .update_measure(UpdateMeasureRequest {
            measure: Some(measure),
            update_mask: Some(field_mask(paths)),
            reason: String::new(),
        })
        .await?
        .into_inner();
    Ok(response
        .measure
        .expect("UpdateMeasureResponse.measure is set"))
}

#[tokio::test]
async fn create_measure_adds_a_pending_measure_and_changes_the_etag() {
    let app = spawn_app().await;
    let case = app.create_case(valid_case("530102", "N-1")).await;

    let created = create_measure(
        &app,
        &case.name,
        measure(MeasureKind::RetrialSuggestion, date(2020, 4, 1)),
        "",
    )
    .await
    .unwrap();

    let prefix = format!("{}/measures/", case.name);
    assert!(
        created.name.starts_with(&prefix) && !trailing_id(&created.name).is_empty(),
        "measure name {:?}",
        created.name
    );
    assert_eq!(created.kind, MeasureKind::RetrialSuggestion as i32);
    assert_eq!(created.adoption, Adoption::Pending as i32);
    assert_eq!(created.issued_on, on(2020, 4, 1));
    assert!(created.create_time.is_some());
    let read = app.get_case(&case.name).await;
    assert_eq!(read.measures, vec![created]);
    assert_ne!(
        read.etag, case.etag,
        "adding a measure changes the case's etag"
    );
}

#[tokio::test]
async fn create_measure_with_the_same_request_id_is_idempotent() {
    let app = spawn_app().await;
    let case = app.create_case(valid_case("530102", "N-1")).await;
    let request_id = uuid::Uuid::new_v4().to_string();
    let protest = measure(MeasureKind::Protest, date(2020, 4, 1));

    let first = create_measure(&app, &case.name, protest.clone(), &request_id)
        .await
        .unwrap();
    let retry = create_measure(&app, &case.name, protest, &request_id)
        .await
        .expect("a retry with the same request_id succeeds");

    assert_eq!(retry.name, first.name);
    assert_eq!(app.get_case(&case.name).await.measures.len(), 1);
}

#[tokio::test]
async fn update_measure_records_the_adoption_and_changes_the_etag() {
    let app = spawn_app().await;
    let mut case = valid_case("530102", "N-1");
    case.measures = vec![measure(MeasureKind::Protest, date(2020, 4, 1))];
    let case = app.create_case(case).await;
    let pending = case.measures[0].clone();

    let mut change = pending.clone();
    change.adoption = Adoption::Adopted as i32;
    change.answered_on = on(2020, 5, 1);
    change.addressee = "not in the mask".to_owned();
    let updated = update_measure(&app, change, &["adoption", "answered_on"])
        .await
        .unwrap();

    assert_eq!(updated.name, pending.name);
    assert_eq!(updated.adoption, Adoption::Adopted as i32);
    assert_eq!(updated.answered_on, on(2020, 5, 1));
    assert_eq!(
        updated.addressee, pending.addressee,
        "fields outside the mask are kept"
    );
    let read = app.get_case(&case.name).await;
    assert_eq!(read.measures, vec![updated]);
    assert_ne!(
        read.etag, case.etag,
        "updating a measure changes the case's etag"
    );
}

#[tokio::test]
async fn update_measure_validates_the_result() {
    let app = spawn_app().await;
    let mut case = valid_case("530102", "N-1");
    case.measures = vec![measure(MeasureKind::Protest, date(2020, 4, 1))];
    let case = app.create_case(case).await;
    let pending = case.measures[0].clone();

    // Adopted without an answer date.
    let mut change = pending.clone();
    change.adoption = Adoption::Adopted as i32;
    let status = expect_err(
        update_measure(&app, change, &["adoption"]).await,
        "adopted without answered_on",
    );
    assert_invalid_field(&status, "measure.answered_on");

    // A kind that does not fit the stored addressee type (a court).
    let mut change = pending.clone();
    change.kind = MeasureKind::AdministrativeOrganSuggestion as i32;
    let status = expect_err(
        update_measure(&app, change, &["kind"]).await,
        "suggestion to an administrative organ addressed to a court",
    );
    // Exactly one violation: the stored addressee type (a court) does not fit the new kind.
    let violations = crate::helpers::field_violations(&status);
    let fields: Vec<&str> = violations.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, vec!["measure.addressee_type"], "{violations:?}");
    assert!(
        violations[0].1.contains("administrative organ"),
        "the description says what fits: {violations:?}"
    );

    // Empty and unknown masks.
    for paths in [&[][..], &["nonsense"][..], &["name"][..]] {
        let status = expect_err(
            update_measure(&app, pending.clone(), paths).await,
            "bad update_mask",
        );
        assert_invalid_field(&status, "update_mask");
    }

    assert_eq!(app.get_case(&case.name).await, case, "nothing changed");
}

#[tokio::test]
async fn update_measure_of_an_unknown_measure_is_not_found() {
    let app = spawn_app().await;
    let case = app.create_case(valid_case("530102", "N-1")).await;
    let mut missing = measure(MeasureKind::Protest, date(2020, 4, 1));
    missing.name = format!("{}/measures/999999", case.name);

    let status = expect_err(
        update_measure(&app, missing, &["addressee"]).await,
        "UpdateMeasure of an unknown measure",
    );

    assert_eq!(status.code(), Code::NotFound, "{status:?}");
}

#[tokio::test]
async fn create_resolution_records_it_once() {
    let app = spawn_app().await;
    let case = app.create_case(valid_case("530102", "N-1")).await;

    let created = app
        .cases
        .clone()
        .create_resolution(CreateResolutionRequest {
            parent: case.name.clone(),
            resolution: Some(resolution(
                ResolutionMethod::PublicHearingSettlement,
                date(2020, 6, 1),
            )),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .resolution
        .expect("the resolution");

    assert_eq!(created.name, format!("{}/resolution", case.name));
    assert_eq!(
        created.method,
        ResolutionMethod::PublicHearingSettlement as i32
    );
    assert_eq!(created.resolved_on, on(2020, 6, 1));
    let read = app.get_case(&case.name).await;
    assert_eq!(read.resolution, Some(created));
    assert_ne!(
        read.etag, case.etag,
        "recording a resolution changes the case's etag"
    );

    let status = expect_err(
        app.cases
            .clone()
            .create_resolution(CreateResolutionRequest {
                parent: case.name.clone(),
                resolution: Some(resolution(ResolutionMethod::Other, date(2020, 7, 1))),
                request_id: String::new(),
            })
            .await,
        "a second resolution",
    );
    assert_status(&status, Code::AlreadyExists, "RESOLUTION_ALREADY_EXISTS");
    assert_eq!(
        app.get_case(&case.name).await,
        read,
        "the first resolution stays"
    );
}

#[tokio::test]
async fn a_second_resolution_after_an_inline_one_is_already_exists() {
    let app = spawn_app().await;
    let mut case = valid_case("530102", "N-1");
    case.resolution = Some(resolution(
        ResolutionMethod::Reconciliation,
        date(2020, 6, 1),
    ));
    let case = app.create_case(case).await;

    let status = expect_err(
        app.cases
            .clone()
            .create_resolution(CreateResolutionRequest {
                parent: case.name.clone(),
                resolution: Some(resolution(ResolutionMethod::Other, date(2020, 7, 1))),
                request_id: String::new(),
            })
            .await,
        "a second resolution",
    );

    assert_status(&status, Code::AlreadyExists, "RESOLUTION_ALREADY_EXISTS");
}

#[tokio::test]
async fn create_judicial_aid_adds_a_grant_and_changes_the_etag() {
    let app = spawn_app().await;
    let case = app.create_case(valid_case("530102", "N-1")).await;

    let created = app
        .cases
        .clone()
        .create_judicial_aid(CreateJudicialAidRequest {
            parent: case.name.clone(),
            aid_grant: Some(aid(date(2020, 6, 2), 123_456)),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .aid_grant
        .expect("the grant");

    assert!(
        created
            .name
            .starts_with(&format!("{}/aidGrants/", case.name))
            && !trailing_id(&created.name).is_empty(),
        "aid grant name {:?}",
        created.name
    );
    assert_eq!(created.amount_fen, 123_456);
    assert_eq!(created.granted_on, on(2020, 6, 2));
    let read = app.get_case(&case.name).await;
    assert_eq!(read.aid_grants, vec![created]);
    assert_ne!(
        read.etag, case.etag,
        "adding a grant changes the case's etag"
    );
}

#[tokio::test]
async fn records_under_a_case_must_not_predate_it() {
    let app = spawn_app().await;
    let case = app.create_case(valid_case("530102", "N-1")).await;

    let requests = [
        (
            "resolution before acceptance",
            CreateRecord::Resolution(CreateResolutionRequest {
                parent: case.name.clone(),
                resolution: Some(resolution(ResolutionMethod::Other, date(2020, 2, 29))),
                request_id: String::new(),
            }),
            "resolution.resolved_on",
        ),
        (
            "aid before acceptance",
            CreateRecord::Aid(CreateJudicialAidRequest {
                parent: case.name.clone(),
                aid_grant: Some(aid(date(2020, 2, 29), 100)),
                request_id: String::new(),
            }),
            "aid_grant.granted_on",
        ),
    ];
    for (what, request, field) in requests {
        let status = expect_err(request.send(&app).await, what);
        assert_invalid_field(&status, field);
    }

    assert_eq!(app.get_case(&case.name).await, case);
}
