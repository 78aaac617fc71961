//! CaseService: creating, reading, listing and updating cases.

use std::collections::HashSet;

use procura_proto::v1::{
    Adoption, CaseStatus, CaseType, CreateCaseRequest, ListCasesRequest, Marker, MeasureKind,
    ResolutionMethod,
};
use tonic::Code;

use crate::helpers::{
    aid, answered, assert_invalid_field, assert_status, date, expect_err, measure, on, region,
    resolution, spawn_app, trailing_id, valid_case,
};

fn is_case_name(name: &str) -> bool {
    name.strip_prefix("cases/")
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

#[tokio::test]
async fn create_case_returns_the_stored_case() {
    let app = spawn_app().await;
    let mut case = valid_case("530102", "昆五检行监〔2020〕1号");
    case.leader_handled = true;
    case.spp_listed_batch = 2;

    let created = app.create_case(case.clone()).await;

    assert!(is_case_name(&created.name), "name {:?}", created.name);
    assert_eq!(created.region, "regions/530102");
    assert_eq!(created.case_number, "昆五检行监〔2020〕1号");
    assert_eq!(
        created.status,
        CaseStatus::Accepted as i32,
        "status defaults to ACCEPTED"
    );
    assert_eq!(created.case_type, case.case_type);
    assert_eq!(created.applicant_type, case.applicant_type);
    assert_eq!(created.sector, case.sector);
    assert_eq!(created.accepted_on, on(2020, 3, 1));
    assert_eq!(created.concluded_on, None);
    assert!(created.leader_handled);
    assert_eq!(created.spp_listed_batch, 2);
    assert_eq!(created.summary, case.summary);
    assert!(!created.etag.is_empty(), "etag is set");
    assert!(created.create_time.is_some(), "create_time is set");
    assert!(created.update_time.is_some(), "update_time is set");

    let read = app.get_case(&created.name).await;
    assert_eq!(read, created, "GetCase returns what CreateCase returned");
}

/// Every output-only field of a case and of the records under it is given a value the server
/// would never assign (a name it did not make, times in 2001, a made-up etag): the server
/// assigns its own, and the supplied ones are nowhere to be found.
#[tokio::test]
async fn create_case_ignores_output_only_fields() {
    let app = spawn_app().await;
    let long_ago = prost_types::Timestamp {
        seconds: 978_307_200, // 2001-01-01T00:00:00Z
        nanos: 0,
    };
    let mut case = valid_case("530102", "N-1");
    case.status = CaseStatus::Accepted as i32;
    case.name = "cases/424242".to_owned();
    case.etag = "made-up".to_owned();
    case.create_time = Some(long_ago);
    case.update_time = Some(long_ago);
    let mut protest = measure(MeasureKind::Protest, date(2020, 4, 1));
    protest.adoption = Adoption::Pending as i32;
    protest.name = "cases/424242/measures/424242".to_owned();
    protest.create_time = Some(long_ago);
    protest.update_time = Some(long_ago);
    case.measures = vec![protest];
    let mut resolved = resolution(ResolutionMethod::Reconciliation, date(2020, 6, 1));
    resolved.name = "cases/424242/resolution".to_owned();
    resolved.create_time = Some(long_ago);
    case.resolution = Some(resolved);
    let mut grant = aid(date(2020, 6, 2), 100);
    grant.name = "cases/424242/aidGrants/424242".to_owned();
    grant.create_time = Some(long_ago);
    case.aid_grants = vec![grant];
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;

    let created = app.create_case(case.clone()).await;

    // The server's own name, and nothing under the supplied one.
    assert!(is_case_name(&created.name), "name {:?}", created.name);
    assert_ne!(created.name, "cases/424242", "the supplied name was kept");
    assert_eq!(app.get_case(&created.name).await, created);
    let missing = expect_err(
        app.try_get_case("cases/424242").await,
        "GetCase cases/424242",
    );
    assert_status(&missing, Code::NotFound, "CASE_NOT_FOUND");
    // The etag of a case just created, not the supplied one.
    assert_eq!(created.etag, "\"v1\"");
    // Names of the records under the case the server named.
    let id = trailing_id(&created.name);
    assert_eq!(created.measures.len(), 1);
    let measure_id = created.measures[0]
        .name
        .strip_prefix(&format!("cases/{id}/measures/"))
        .unwrap_or_else(|| panic!("measure name {:?}", created.measures[0].name));
    assert_ne!(measure_id, "424242", "the supplied measure id was kept");
    let resolution = created.resolution.as_ref().expect("the resolution");
    assert_eq!(resolution.name, format!("cases/{id}/resolution"));
    assert_eq!(created.aid_grants.len(), 1);
    let grant_id = created.aid_grants[0]
        .name
        .strip_prefix(&format!("cases/{id}/aidGrants/"))
        .unwrap_or_else(|| panic!("aid grant name {:?}", created.aid_grants[0].name));
    assert_ne!(grant_id, "424242", "the supplied grant id was kept");
    // Times of now, not 2001.
    let times = [
        ("case.create_time", created.create_time),
        ("case.update_time", created.update_time),
        ("measure.create_time", created.measures[0].create_time),
        ("measure.update_time", created.measures[0].update_time),
        ("resolution.create_time", resolution.create_time),
        ("aid.create_time", created.aid_grants[0].create_time),
    ];
    for (what, time) in times {
        let time = time.unwrap_or_else(|| panic!("{what} is not set"));
        assert!(
            time.seconds >= before - 60,
            "{what} is {time:?}, not the time of the call ({before})"
        );
    }
    // Everything else is as sent.
    let without_output_only = |mut case: procura_proto::v1::Case| {
        case.name.clear();
        case.etag.clear();
        case.create_time = None;
        case.update_time = None;
        for m in &mut case.measures {
            m.name.clear();
            m.create_time = None;
            m.update_time = None;
        }
        if let Some(r) = &mut case.resolution {
            r.name.clear();
            r.create_time = None;
        }
        for a in &mut case.aid_grants {
            a.name.clear();
            a.create_time = None;
        }
        case
    };
    assert_eq!(without_output_only(created), without_output_only(case));
}

#[tokio::test]
async fn create_case_stores_inline_measures_resolution_and_aid() {
    let app = spawn_app().await;
    let mut case = valid_case("530102", "N-1");
    case.status = CaseStatus::Concluded as i32;
    case.concluded_on = on(2020, 9, 30);
    case.measures = vec![
        measure(MeasureKind::Protest, date(2020, 4, 1)),
        answered(
            measure(MeasureKind::AdministrativeOrganSuggestion, date(2020, 4, 2)),
            Adoption::Adopted,
            date(2020, 5, 1),
        ),
    ];
    case.resolution = Some(resolution(
        ResolutionMethod::Reconciliation,
        date(2020, 6, 1),
    ));
    case.aid_grants = vec![aid(date(2020, 6, 2), 123_456), aid(date(2020, 6, 3), 100)];

    let created = app.create_case(case).await;
    let read = app.get_case(&created.name).await;

    assert_eq!(read, created);
    let id = trailing_id(&created.name);
    assert_eq!(read.status, CaseStatus::Concluded as i32);
    assert_eq!(read.concluded_on, on(2020, 9, 30));

    assert_eq!(read.measures.len(), 2);
    let mut measure_ids = HashSet::new();
    for m in &read.measures {
        let prefix = format!("cases/{id}/measures/");
        let measure_id = m
            .name
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("measure name {:?} under {prefix}", m.name));
        assert!(!measure_id.is_empty() && measure_ids.insert(measure_id.to_owned()));
        assert!(m.create_time.is_some());
    }
    let protest = read
        .measures
        .iter()
        .find(|m| m.kind == MeasureKind::Protest as i32)
        .expect("the protest");
    assert_eq!(
        protest.adoption,
        Adoption::Pending as i32,
        "adoption defaults to PENDING"
    );
    assert_eq!(protest.issued_on, on(2020, 4, 1));
    assert_eq!(protest.addressee, "昆明市中级人民法院");
    assert_eq!(protest.answered_on, None);
    let suggestion = read
        .measures
        .iter()
        .find(|m| m.kind == MeasureKind::AdministrativeOrganSuggestion as i32)
        .expect("the suggestion");
    assert_eq!(suggestion.adoption, Adoption::Adopted as i32);
    assert_eq!(suggestion.answered_on, on(2020, 5, 1));

    let stored_resolution = read.resolution.as_ref().expect("the resolution");
    assert_eq!(stored_resolution.name, format!("cases/{id}/resolution"));
    assert_eq!(
        stored_resolution.method,
        ResolutionMethod::Reconciliation as i32
    );
    assert_eq!(stored_resolution.resolved_on, on(2020, 6, 1));

    assert_eq!(read.aid_grants.len(), 2);
    let mut amounts: Vec<i64> = read.aid_grants.iter().map(|g| g.amount_fen).collect();
    amounts.sort_unstable();
    assert_eq!(amounts, vec![100, 123_456]);
    for grant in &read.aid_grants {
        assert!(
            grant.name.starts_with(&format!("cases/{id}/aidGrants/"))
                && !trailing_id(&grant.name).is_empty(),
            "aid grant name {:?}",
            grant.name
        );
        assert_eq!(grant.recipient, "张某");
    }
}

#[tokio::test]
async fn case_numbers_are_unique_per_procuratorate_only() {
    let app = spawn_app().await;
    let first = app.create_case(valid_case("530102", "N-1")).await;

    // The same number at another procuratorate is another case.
    let elsewhere = app.create_case(valid_case("530103", "N-1")).await;
    assert_ne!(elsewhere.name, first.name);

    // The same number at the same procuratorate is a duplicate.
    let mut again = valid_case("530102", "N-1");
    again.case_type = CaseType::EnforcementSupervision as i32;
    let status = expect_err(app.try_create_case(again).await, "duplicate CreateCase");

    let info = assert_status(&status, Code::AlreadyExists, "CASE_ALREADY_EXISTS");
    assert!(
        status.message().contains(&first.name),
        "the message names the existing case {}: {:?}",
        first.name,
        status.message()
    );
    assert_eq!(info.metadata.get("existing"), Some(&first.name));
    let all = app.list_case_numbers(ListCasesRequest::default()).await;
    assert_eq!(all, vec!["N-1", "N-1"], "the duplicate was not stored");
}

#[tokio::test]
async fn create_case_with_the_same_request_id_is_idempotent() {
    let app = spawn_app().await;
    let request_id = uuid::Uuid::new_v4().to_string();
    let request = CreateCaseRequest {
        case: Some(valid_case("530102", "N-1")),
        request_id: request_id.clone(),
    };

    let first = app.create_case_request(request.clone()).await.unwrap();
    let retry = app
        .create_case_request(request)
        .await
        .expect("a retry with the same request_id succeeds");

    assert_eq!(retry.name, first.name, "the retry returns the first case");
    let all = app.list_all_cases(ListCasesRequest::default()).await;
    assert_eq!(all.len(), 1, "only one case is stored");
    assert_eq!(all[0].name, first.name);
}

/// Creates cases in 530102 and 530103 (Kunming, Yunnan) and 110101 (Beijing).
#[tokio::test]
async fn list_cases_filters_by_region_subtree() {
    let app = spawn_app().await;
    app.create_case(valid_case("530102", "KM-1")).await;
    app.create_case(valid_case("530103", "KM-2")).await;
    app.create_case(valid_case("110101", "BJ-1")).await;
    let in_region = |code: &str| ListCasesRequest {
        region: region(code),
        ..Default::default()
    };

    assert_eq!(
        app.list_case_numbers(in_region("530000")).await,
        vec!["KM-1", "KM-2"]
    );
    assert_eq!(
        app.list_case_numbers(in_region("530100")).await,
        vec!["KM-1", "KM-2"]
    );
    assert_eq!(
        app.list_case_numbers(in_region("530102")).await,
        vec!["KM-1"]
    );
    assert_eq!(
        app.list_case_numbers(in_region("110000")).await,
        vec!["BJ-1"]
    );
    assert_eq!(
        app.list_case_numbers(in_region("000000")).await,
        vec!["BJ-1", "KM-1", "KM-2"]
    );
    assert_eq!(
        app.list_case_numbers(ListCasesRequest::default()).await,
        vec!["BJ-1", "KM-1", "KM-2"]
    );
    assert!(app.list_case_numbers(in_region("530300")).await.is_empty());
}

#[tokio::test]
async fn list_cases_filters_by_type_status_dates_and_markers() {
    let app = spawn_app().await;

    let mut a = valid_case("530102", "A");
    a.accepted_on = on(2020, 1, 1);
    a.leader_handled = true;
    a.public_hearing = true;
    app.create_case(a).await;

    let mut b = valid_case("530102", "B");
    b.case_type = CaseType::EnforcementSupervision as i32;
    b.accepted_on = on(2020, 2, 1);
    b.status = CaseStatus::Concluded as i32;
    b.concluded_on = on(2020, 3, 1);
    b.leader_handled = true;
    app.create_case(b).await;

    let mut c = valid_case("530102", "C");
    c.accepted_on = on(2020, 3, 1);
    c.public_hearing = true;
    c.spp_listed_batch = 1;
    app.create_case(c).await;

    let by_type = app
        .list_case_numbers(ListCasesRequest {
            case_type: CaseType::EnforcementSupervision as i32,
            ..Default::default()
        })
        .await;
    assert_eq!(by_type, vec!["B"]);

    let accepted = app
        .list_case_numbers(ListCasesRequest {
            status: CaseStatus::Accepted as i32,
            ..Default::default()
        })
        .await;
    assert_eq!(accepted, vec!["A", "C"]);
    let concluded = app
        .list_case_numbers(ListCasesRequest {
            status: CaseStatus::Concluded as i32,
            ..Default::default()
        })
        .await;
    assert_eq!(concluded, vec!["B"]);

    // Both ends of the acceptance range are included.
    let february_to_march = app
        .list_case_numbers(ListCasesRequest {
            accepted_from: on(2020, 2, 1),
            accepted_to: on(2020, 3, 1),
            ..Default::default()
        })
        .await;
    assert_eq!(february_to_march, vec!["B", "C"]);
    let only_from = app
        .list_case_numbers(ListCasesRequest {
            accepted_from: on(2020, 2, 2),
            ..Default::default()
        })
        .await;
    assert_eq!(only_from, vec!["C"]);
    let only_to = app
        .list_case_numbers(ListCasesRequest {
            accepted_to: on(2020, 1, 31),
            ..Default::default()
        })
        .await;
    assert_eq!(only_to, vec!["A"]);

    let markers = |markers: &[Marker]| ListCasesRequest {
        markers: markers.iter().map(|m| *m as i32).collect(),
        ..Default::default()
    };
    assert_eq!(
        app.list_case_numbers(markers(&[Marker::LeaderHandled]))
            .await,
        vec!["A", "B"]
    );
    assert_eq!(
        app.list_case_numbers(markers(&[Marker::PublicHearing]))
            .await,
        vec!["A", "C"]
    );
    assert_eq!(
        app.list_case_numbers(markers(&[Marker::LeaderHandled, Marker::PublicHearing]))
            .await,
        vec!["A"],
        "every given marker must be present"
    );
    assert_eq!(
        app.list_case_numbers(markers(&[Marker::SppListed])).await,
        vec!["C"]
    );
    assert!(
        app.list_case_numbers(markers(&[Marker::Typical]))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn list_cases_orders_by_acceptance_date() {
    let app = spawn_app().await;
    for (number, month) in [("March", 3), ("January", 1), ("February", 2)] {
        let mut case = valid_case("530102", number);
        case.accepted_on = on(2020, month, 1);
        app.create_case(case).await;
    }

    let listed: Vec<String> = app
        .list_all_cases(ListCasesRequest::default())
        .await
        .into_iter()
        .map(|c| c.case_number)
        .collect();

    assert_eq!(listed, vec!["January", "February", "March"]);
}

#[tokio::test]
async fn withdrawn_cases_are_listed_only_when_asked_for() {
    let app = spawn_app().await;
    app.create_case(valid_case("530102", "KEPT")).await;
    let withdrawn = app.create_case(valid_case("530102", "WITHDRAWN")).await;
    let mut change = withdrawn.clone();
    change.status = CaseStatus::Withdrawn as i32;
    let updated = app.update_case(change, &["status"]).await.unwrap();
    assert_eq!(updated.status, CaseStatus::Withdrawn as i32);

    assert_eq!(
        app.list_case_numbers(ListCasesRequest::default()).await,
        vec!["KEPT"],
        "the default status filter leaves withdrawn cases out"
    );
    assert_eq!(
        app.list_case_numbers(ListCasesRequest {
            status: CaseStatus::Withdrawn as i32,
            ..Default::default()
        })
        .await,
        vec!["WITHDRAWN"]
    );
    // A withdrawn case can still be read.
    assert_eq!(
        app.get_case(&withdrawn.name).await.status,
        CaseStatus::Withdrawn as i32
    );
}

#[tokio::test]
async fn list_cases_pages_through_every_case() {
    let app = spawn_app().await;
    let mut created = HashSet::new();
    for i in 1..=5 {
        let mut case = valid_case("530102", &format!("P-{i}"));
        // Two cases share a date, so the order must break ties by name.
        case.accepted_on = on(2020, 3, 1 + i.min(4));
        created.insert(app.create_case(case).await.name);
    }

    let mut request = ListCasesRequest {
        page_size: 2,
        ..Default::default()
    };
    let mut pages = Vec::new();
    loop {
        let page = app.list_cases(request.clone()).await.unwrap();
        pages.push(
            page.cases
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>(),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        assert!(pages.len() < 5, "ListCases does not end");
        request.page_token = page.next_page_token;
    }

    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    let listed: Vec<String> = pages.into_iter().flatten().collect();
    let distinct: HashSet<String> = listed.iter().cloned().collect();
    assert_eq!(distinct.len(), 5, "no case twice: {listed:?}");
    assert_eq!(distinct, created);
}

#[tokio::test]
async fn list_cases_rejects_bad_arguments() {
    let app = spawn_app().await;
    app.create_case(valid_case("530102", "N-1")).await;

    let negative = expect_err(
        app.list_cases(ListCasesRequest {
            page_size: -1,
            ..Default::default()
        })
        .await,
        "page_size -1",
    );
    assert_invalid_field(&negative, "page_size");

    let garbage = expect_err(
        app.list_cases(ListCasesRequest {
            page_token: "garbage".to_owned(),
            ..Default::default()
        })
        .await,
        "garbage page_token",
    );
    assert_invalid_field(&garbage, "page_token");

    let bad_region = expect_err(
        app.list_cases(ListCasesRequest {
            region: "530000".to_owned(),
            ..Default::default()
        })
        .await,
        "region without regions/",
    );
    assert_invalid_field(&bad_region, "region");

    let unspecified_marker = expect_err(
        app.list_cases(ListCasesRequest {
            markers: vec![Marker::Unspecified as i32],
            ..Default::default()
        })
        .await,
        "marker unspecified",
    );
    let violations = crate::helpers::field_violations(&unspecified_marker);
    let fields: Vec<&str> = violations.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, vec!["markers[0]"], "{violations:?}");
}

#[tokio::test]
async fn list_cases_rejects_a_page_token_reused_with_other_filters() {
    let app = spawn_app().await;
    for i in 1..=3 {
        app.create_case(valid_case("530102", &format!("N-{i}")))
            .await;
    }
    let first = app
        .list_cases(ListCasesRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!first.next_page_token.is_empty());

    let status = expect_err(
        app.list_cases(ListCasesRequest {
            page_size: 1,
            region: "regions/530000".to_owned(),
            page_token: first.next_page_token,
            ..Default::default()
        })
        .await,
        "token reused with another region",
    );
    assert_invalid_field(&status, "page_token");
}

#[tokio::test]
async fn update_case_changes_the_masked_fields_only() {
    let app = spawn_app().await;
    let created = app.create_case(valid_case("530102", "N-1")).await;

    let mut change = created.clone();
    change.status = CaseStatus::Concluded as i32;
    change.concluded_on = on(2020, 9, 30);
    change.summary = "not in the mask: must stay".to_owned();
    let updated = app
        .update_case(change, &["status", "concluded_on"])
        .await
        .unwrap();

    assert_eq!(updated.name, created.name);
    assert_eq!(updated.status, CaseStatus::Concluded as i32);
    assert_eq!(updated.concluded_on, on(2020, 9, 30));
    assert_eq!(
        updated.summary, created.summary,
        "fields outside the mask are kept"
    );
    assert_ne!(updated.etag, created.etag, "the etag changes");
    assert_ne!(
        updated.update_time, created.update_time,
        "update_time changes"
    );
    assert_eq!(updated.create_time, created.create_time);
    assert_eq!(app.get_case(&created.name).await, updated);
}

#[tokio::test]
async fn update_case_with_the_current_etag_succeeds() {
    let app = spawn_app().await;
    let created = app.create_case(valid_case("530102", "N-1")).await;

    let mut change = created.clone();
    change.typical = true;
    change.spp_listed_batch = 3;
    let updated = app
        .update_case(change, &["typical", "spp_listed_batch"])
        .await
        .expect("an update with the current etag succeeds");

    assert!(updated.typical);
    assert_eq!(updated.spp_listed_batch, 3);
    assert_ne!(updated.etag, created.etag);
}

#[tokio::test]
async fn update_case_with_a_stale_etag_is_aborted_and_changes_nothing() {
    let app = spawn_app().await;
    let created = app.create_case(valid_case("530102", "N-1")).await;
    let mut first = created.clone();
    first.leader_handled = true;
    let after_first = app.update_case(first, &["leader_handled"]).await.unwrap();

    // A second writer still holds the etag of `created`.
    let mut stale = created.clone();
    stale.summary = "stale write".to_owned();
    let status = expect_err(
        app.update_case(stale, &["summary"]).await,
        "UpdateCase with a stale etag",
    );

    assert_status(&status, Code::Aborted, "ETAG_MISMATCH");
    assert_eq!(
        app.get_case(&created.name).await,
        after_first,
        "the case is unchanged"
    );
}

#[tokio::test]
async fn update_case_with_a_wildcard_mask_replaces_every_updatable_field() {
    let app = spawn_app().await;
    let created = app.create_case(valid_case("530102", "N-1")).await;

    let mut change = created.clone();
    change.etag = String::new();
    change.case_type = CaseType::TrialConductSupervision as i32;
    change.accepted_on = on(2020, 2, 1);
    change.public_hearing = true;
    change.summary = "new summary".to_owned();
    let updated = app.update_case(change, &["*"]).await.unwrap();

    assert_eq!(updated.case_type, CaseType::TrialConductSupervision as i32);
    assert_eq!(updated.accepted_on, on(2020, 2, 1));
    assert!(updated.public_hearing);
    assert_eq!(updated.summary, "new summary");
    assert_eq!(updated.region, created.region);
    assert_eq!(updated.case_number, created.case_number);
}

#[tokio::test]
async fn get_case_of_an_unknown_case_is_not_found() {
    let app = spawn_app().await;

    let status = expect_err(app.try_get_case("cases/999999").await, "GetCase 999999");

    assert_status(&status, Code::NotFound, "CASE_NOT_FOUND");
}

#[tokio::test]
async fn update_case_of_an_unknown_case_is_not_found() {
    let app = spawn_app().await;
    let mut case = valid_case("530102", "N-1");
    case.name = "cases/999999".to_owned();

    let status = expect_err(
        app.update_case(case, &["summary"]).await,
        "UpdateCase of an unknown case",
    );

    assert_status(&status, Code::NotFound, "CASE_NOT_FOUND");
}

/// Many GetCase calls at once are answered together (one snapshot per batch); each caller
/// still gets its own case, with its own records, or NOT_FOUND.
#[tokio::test]
async fn concurrent_reads_each_get_their_own_case() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for n in 0..8i64 {
        let mut case = valid_case("530102", &format!("R-{n}"));
        case.summary = format!("case {n}");
        case.measures = (0..n % 3 + 1)
            .map(|k| measure(MeasureKind::Protest, date(2020, 4, 1 + k as i32)))
            .collect();
        if n % 2 == 0 {
            case.resolution = Some(resolution(
                ResolutionMethod::Reconciliation,
                date(2020, 5, 1),
            ));
        }
        case.aid_grants = (0..n % 3).map(|k| aid(date(2020, 6, 1), 100 + k)).collect();
        created.push(app.create_case(case).await);
    }
    let unknown = "cases/999999".to_owned();
    // 400 calls over the cases (each read many times) and an unknown one, all at once.
    let calls = (0..400usize).map(|i| {
        let name = match i % 9 {
            8 => unknown.clone(),
            k => created[k].name.clone(),
        };
        let app = &app;
        async move { (name.clone(), app.try_get_case(&name).await) }
    });
    let answers = futures::future::join_all(calls).await;
    for (name, answer) in answers {
        if name == unknown {
            assert_status(
                &answer.expect_err("an unknown case"),
                Code::NotFound,
                "CASE_NOT_FOUND",
            );
        } else {
            let expected = created.iter().find(|c| c.name == name).expect("created");
            assert_eq!(&answer.expect("a stored case"), expected, "GetCase {name}");
        }
    }
}
