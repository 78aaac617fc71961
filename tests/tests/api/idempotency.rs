//! Retries and reused keys, and input that must not reach the database.

use procura_proto::v1::{
    CaseStatus, CreateJudicialAidRequest, CreateMeasureRequest, CreateResolutionRequest,
    MeasureKind, ResolutionMethod, UpdateCaseRequest, UpdateMeasureRequest,
};
use tonic::Code;

use crate::helpers::*;

#[tokio::test]
async fn retries_of_child_records_return_the_first_and_keys_stay_with_their_case() {
    let app = spawn_app().await;
    let one = app.create_case(valid_case("530102", "K-1")).await;
    let two = app.create_case(valid_case("530102", "K-2")).await;
    let key = uuid::Uuid::new_v4().to_string();
    let resolution_request = |parent: &str| CreateResolutionRequest {
        parent: parent.to_owned(),
        resolution: Some(resolution(
            ResolutionMethod::Reconciliation,
            date(2020, 6, 1),
        )),
        request_id: key.clone(),
    };
    let first = app
        .cases
        .clone()
        .create_resolution(resolution_request(&one.name))
        .await
        .unwrap()
        .into_inner();
    let retry = app
        .cases
        .clone()
        .create_resolution(resolution_request(&one.name))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, retry);
    // The same key on another case is refused by name, and stores nothing there.
    let reused = app
        .cases
        .clone()
        .create_resolution(resolution_request(&two.name))
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::InvalidArgument);
    let fields = check_field_violations(&reused).unwrap();
    assert_eq!(fields[0].0, "request_id");
    assert!(fields[0].1.contains(&one.name), "{fields:?}");
    assert!(app.get_case(&two.name).await.resolution.is_none());

    for (parent, expected) in [(&one.name, Code::Ok), (&two.name, Code::InvalidArgument)] {
        let key = uuid::Uuid::new_v4().to_string();
        let measure_key = key.clone();
        let add = |parent: String| {
            let mut cases = app.cases.clone();
            let request_id = measure_key.clone();
            async move {
                cases
                    .create_measure(CreateMeasureRequest {
                        parent,
                        measure: Some(measure(MeasureKind::Protest, date(2020, 4, 1))),
                        request_id,
                    })
                    .await
            }
        };
        add(one.name.clone()).await.unwrap();
        let again = add(parent.clone()).await;
        assert_eq!(
            again.as_ref().err().map_or(Code::Ok, |s| s.code()),
            expected
        );
        let aid_request = |parent: &str| CreateJudicialAidRequest {
            parent: parent.to_owned(),
            aid_grant: Some(aid(date(2020, 6, 2), 100)),
            request_id: key.clone(),
        };
        // A measure's key is not an aid grant's: aid keys are checked among aid grants.
        let aid_key_check = app
            .cases
            .clone()
            .create_judicial_aid(aid_request(&one.name))
            .await;
        assert!(aid_key_check.is_ok());
    }
    assert_eq!(app.get_case(&one.name).await.measures.len(), 2);
    assert!(app.get_case(&two.name).await.measures.is_empty());
}

/// One request id sent for two cases at once: while a first use of the key is not yet
/// committed, a CreateMeasure with it on another case looks, finds nothing, inserts and waits
/// on the key's unique index; when the first commits, it answers ABORTED CONCURRENT_REQUEST
/// (not INTERNAL), stores nothing, and its retry is refused by field.
#[tokio::test]
async fn one_request_id_sent_for_two_cases_at_once_is_aborted_then_refused() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

    let app = spawn_app().await;
    let one = app.create_case(valid_case("530102", "R-1")).await;
    let two = app.create_case(valid_case("530102", "R-2")).await;
    let key = uuid::Uuid::new_v4().to_string();
    let request = |parent: &str| CreateMeasureRequest {
        parent: parent.to_owned(),
        measure: Some(measure(MeasureKind::Protest, date(2020, 4, 1))),
        request_id: key.clone(),
    };
    // The first use of the key, held open in a transaction of its own.
    let mut first = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    first
        .batch_execute(&format!(
            "BEGIN; INSERT INTO measures (case_id, kind, issued_on, addressee_type, addressee, \
             adoption, request_id) VALUES ({}, 1, '2020-04-01', 1, 'court', 1, '{key}')",
            trailing_id(&one.name)
        ))
        .await
        .unwrap();
    let mut cases = app.cases.clone();
    let second = tokio::spawn({
        let request = request(&two.name);
        async move { cases.create_measure(request).await }
    });
    // Until the second request waits on the key's index.
    let mut watcher = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let mut waited = 0;
    loop {
        use diesel_async::RunQueryDsl;
        let waiting: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
              AND wait_event_type = 'Lock')",
        ))
        .get_result(&mut watcher)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        waited += 1;
        assert!(waited < 500, "the second request never waited on the key");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    first.batch_execute("COMMIT").await.unwrap();

    let status = second.await.unwrap().unwrap_err();
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    let info = assert_error_info(&status, "CONCURRENT_REQUEST");
    assert_eq!(info.metadata["constraint"], "measures_request_id_key");
    assert!(status.message().contains("retry"), "{status:?}");
    // Nothing stored on the second case; the retry is refused by field, naming the first.
    assert!(app.get_case(&two.name).await.measures.is_empty());
    let retry = app
        .cases
        .clone()
        .create_measure(request(&two.name))
        .await
        .unwrap_err();
    assert_invalid_field(&retry, "request_id");
    assert!(retry.message().contains(&one.name), "{retry:?}");
    assert!(app.get_case(&two.name).await.measures.is_empty());
}

#[tokio::test]
async fn control_characters_are_refused_by_field() {
    let app = spawn_app().await;
    let mut case = valid_case("530102", "N\u{0}1");
    case.summary = "bell\u{7}".into();
    let status = app.try_create_case(case).await.unwrap_err();
    let mut fields: Vec<String> = check_field_violations(&status)
        .unwrap()
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    fields.sort();
    assert_eq!(fields, vec!["case.case_number", "case.summary"]);
    // Line breaks are text.
    let mut multiline = valid_case("530102", "N-2");
    multiline.summary = "第一行\n第二行".into();
    assert_eq!(app.create_case(multiline).await.summary, "第一行\n第二行");
}

#[tokio::test]
async fn an_update_naming_an_enum_must_give_it() {
    let app = spawn_app().await;
    let mut case = valid_case("530102", "U-1");
    case.status = CaseStatus::Withdrawn as i32;
    case.measures = vec![answered(
        measure(MeasureKind::Protest, date(2020, 4, 1)),
        procura_proto::v1::Adoption::Adopted,
        date(2020, 5, 1),
    )];
    let case = app.create_case(case).await;
    let mut unset = case.clone();
    unset.status = 0;
    let status = app
        .cases
        .clone()
        .update_case(UpdateCaseRequest {
            case: Some(unset),
            update_mask: Some(field_mask(&["status"])),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(check_field_violations(&status).unwrap()[0].0, "case.status");
    assert_eq!(
        app.get_case(&case.name).await.status,
        CaseStatus::Withdrawn as i32,
        "the withdrawn case stays withdrawn"
    );
    let mut measure = case.measures[0].clone();
    measure.adoption = 0;
    let status = app
        .cases
        .clone()
        .update_measure(UpdateMeasureRequest {
            measure: Some(measure),
            update_mask: Some(field_mask(&["adoption"])),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        check_field_violations(&status).unwrap()[0].0,
        "measure.adoption"
    );
}
