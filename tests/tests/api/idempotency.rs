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
/// on the key's unique index; when the first commits, it answers as its retry would (not
/// INTERNAL, not ABORTED): refused by field, naming the first, with nothing stored.
#[tokio::test]
async fn one_request_id_sent_for_two_cases_at_once_answers_as_its_retry() {
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
    assert_invalid_field(&status, "request_id");
    assert!(status.message().contains(&one.name), "{status:?}");
    // Nothing stored on the second case; the retry is refused alike.
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

/// Runs `call` twice at once while `lock` (a LOCK TABLE) is held by a transaction of the
/// test's, until both wait on a lock; then ends that transaction and gives both answers.
async fn twice_at_once<T, F>(app: &TestApp, lock: &str, call: impl Fn() -> F) -> [T; 2]
where
    F: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>> + Send + 'static,
    T: Send + 'static,
{
    let blocker = Blocker::hold(&app.db_url, lock).await;
    let calls = [tokio::spawn(call()), tokio::spawn(call())];
    until_waiting_on_locks(&app.db_url, 2).await;
    blocker.release().await;
    let mut answers = Vec::new();
    for call in calls {
        let answer = call.await.unwrap().unwrap_or_else(|s| panic!("{s:?}"));
        answers.push(answer.into_inner());
    }
    answers.try_into().ok().unwrap()
}

/// Two PublishRollup calls with one request id at once (a client retrying before its first
/// call answered): both look for the id and find nothing, both compute the rollup, and their
/// inserts meet on the id's unique index (inserts into releases wait on the test's lock,
/// reads do not). The second answers the release the first published, not INTERNAL and not
/// ABORTED; one release is stored.
#[tokio::test]
async fn two_publish_retries_at_once_answer_the_same_release() {
    use procura_proto::v1::{GetRollupRequest, PublishRollupRequest};

    // Two heavy reads at once, so that the two calls run side by side.
    let app = spawn_app_with(|s| s.limits.max_heavy = Some(2)).await;
    app.create_case(valid_case("530102", "P-1")).await;
    let request = PublishRollupRequest {
        rollup: Some(GetRollupRequest {
            region: region("530000"),
            period: year(2020),
            ..Default::default()
        }),
        title: "Yunnan 2020".into(),
        qualifiers: Default::default(),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let lock = "LOCK TABLE releases IN EXCLUSIVE MODE";
    let [one, two] = twice_at_once(&app, lock, || {
        let (mut reports, request) = (app.reports.clone(), request.clone());
        async move { reports.publish_rollup(request).await }
    })
    .await;
    assert_eq!(one.release.unwrap().name, two.release.unwrap().name);
    let stored = query_values(&app.db_url, "SELECT count(*)::text AS value FROM releases").await;
    assert_eq!(stored, ["1"]);
}

/// Two CreateCase calls with one request id at once: the second's insert waits on the
/// first's case row (the first waits on the test's lock of the kept answers, before its
/// commit) and, once the first commits, answers the first's case; one case is stored.
#[tokio::test]
async fn two_create_case_retries_at_once_answer_the_same_case() {
    use procura_proto::v1::CreateCaseRequest;

    let app = spawn_app().await;
    let request = CreateCaseRequest {
        case: Some(valid_case("530102", "C-1")),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let lock = "LOCK TABLE case_docs IN EXCLUSIVE MODE";
    let [one, two] = twice_at_once(&app, lock, || {
        let (mut cases, request) = (app.cases.clone(), request.clone());
        async move { cases.create_case(request).await }
    })
    .await;
    assert_eq!(one.case.unwrap().name, two.case.unwrap().name);
    let stored = query_values(&app.db_url, "SELECT count(*)::text AS value FROM cases").await;
    assert_eq!(stored, ["1"]);
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
