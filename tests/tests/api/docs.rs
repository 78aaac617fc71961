//! GetCase answers from the kept answers (`case_docs`): the same case as read from its records
//! (ListCases reads those), after every kind of write, and never stale, even after a change
//! made by hand in the database.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use procura_proto::v1::{
    Adoption, Case, CaseStatus, CreateJudicialAidRequest, CreateMeasureRequest,
    CreateResolutionRequest, ImportCasesRequest, ListCasesRequest, MeasureKind, ResolutionMethod,
    UpdateMeasureRequest,
};
use tokio_stream::StreamExt;

use crate::helpers::*;

/// How many cases of `ids` have a kept answer.
async fn kept(app: &TestApp, ids: &[&str]) -> i64 {
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
        "(SELECT count(*) FROM case_docs WHERE case_id IN ({}))",
        ids.join(",")
    )))
    .get_result(&mut conn)
    .await
    .unwrap()
}

/// The case `name` as ListCases reads it from the records (withdrawn cases included).
async fn listed(app: &TestApp, name: &str) -> Case {
    let mut all = Vec::new();
    for status in [
        CaseStatus::Accepted,
        CaseStatus::Concluded,
        CaseStatus::Withdrawn,
    ] {
        all.extend(
            app.list_all_cases(ListCasesRequest {
                status: status as i32,
                page_size: 1000,
                ..Default::default()
            })
            .await,
        );
    }
    all.into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("{name} is not listed"))
}

/// GetCase answers `name` from its kept answer, and that answer is the case as listed.
async fn assert_served_as_stored(app: &TestApp, name: &str, step: &str) -> Case {
    assert_eq!(
        kept(app, &[trailing_id(name)]).await,
        1,
        "{step}: no kept answer for {name}"
    );
    let got = app.get_case(name).await;
    assert_eq!(
        got,
        listed(app, name).await,
        "{step}: GetCase differs from the records"
    );
    got
}

#[tokio::test]
async fn get_case_answers_the_stored_case_after_every_kind_of_write() {
    let app = spawn_app().await;
    let mut new = valid_case("530102", "D-1");
    new.measures
        .push(measure(MeasureKind::Protest, date(2020, 3, 2)));
    new.aid_grants.push(aid(date(2020, 3, 9), 150_000));
    let created = app.create_case(new).await;
    let case = assert_served_as_stored(&app, &created.name, "created").await;
    assert_eq!(case, created);

    let mut edit = case.clone();
    edit.summary = "corrected summary".to_owned();
    let updated = app.update_case(edit, &["summary"]).await.unwrap();
    let case = assert_served_as_stored(&app, &case.name, "updated").await;
    assert_eq!(case.summary, "corrected summary");
    assert_eq!(case.etag, updated.etag);

    let mut cases = app.cases.clone();
    cases
        .create_measure(CreateMeasureRequest {
            parent: case.name.clone(),
            measure: Some(measure(
                MeasureKind::TrialViolationSuggestion,
                date(2020, 4, 1),
            )),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let case = assert_served_as_stored(&app, &case.name, "measure added").await;
    assert_eq!(case.measures.len(), 2);

    let adopted = answered(
        case.measures[1].clone(),
        Adoption::Adopted,
        date(2020, 5, 6),
    );
    cases
        .update_measure(UpdateMeasureRequest {
            measure: Some(adopted),
            update_mask: Some(field_mask(&["adoption", "answered_on"])),
            reason: "reply received".to_owned(),
        })
        .await
        .unwrap();
    let case = assert_served_as_stored(&app, &case.name, "measure answered").await;
    assert_eq!(case.measures[1].adoption, Adoption::Adopted as i32);

    cases
        .create_resolution(CreateResolutionRequest {
            parent: case.name.clone(),
            resolution: Some(resolution(
                ResolutionMethod::Reconciliation,
                date(2020, 6, 1),
            )),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let case = assert_served_as_stored(&app, &case.name, "resolution added").await;
    assert!(case.resolution.is_some());

    cases
        .create_judicial_aid(CreateJudicialAidRequest {
            parent: case.name.clone(),
            aid_grant: Some(aid(date(2020, 6, 2), 80_000)),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let case = assert_served_as_stored(&app, &case.name, "aid added").await;
    assert_eq!(case.aid_grants.len(), 2);

    let mut withdraw = case.clone();
    withdraw.status = CaseStatus::Withdrawn as i32;
    app.update_case(withdraw, &["status"]).await.unwrap();
    let case = assert_served_as_stored(&app, &case.name, "withdrawn").await;
    assert_eq!(case.status, CaseStatus::Withdrawn as i32);
}

#[tokio::test]
async fn imported_cases_are_answered_as_stored() {
    let app = spawn_app().await;
    let mut sent = Vec::new();
    for i in 0..40 {
        let mut case = valid_case(
            if i % 2 == 0 { "530102" } else { "110101" },
            &format!("I-{i}"),
        );
        for k in 0..(i % 4) {
            case.measures
                .push(measure(MeasureKind::Protest, date(2020, 3 + k, 3)));
        }
        if i % 3 == 0 {
            case.resolution = Some(resolution(ResolutionMethod::Other, date(2020, 7, 1)));
        }
        if i % 5 == 0 {
            case.aid_grants
                .push(aid(date(2020, 8, 1), 1_000 + i64::from(i)));
            case.aid_grants.push(aid(date(2020, 8, 2), 2_000));
        }
        sent.push(case);
    }
    // Two batches, the second sent twice: already present cases get no new answer.
    let batches = vec![
        ImportCasesRequest {
            batch_number: 1,
            cases: sent[..25].to_vec(),
        },
        ImportCasesRequest {
            batch_number: 2,
            cases: sent[25..].to_vec(),
        },
        ImportCasesRequest {
            batch_number: 3,
            cases: sent[25..].to_vec(),
        },
    ];
    let acks: Vec<_> = app
        .cases
        .clone()
        .import_cases(tokio_stream::iter(batches))
        .await
        .unwrap()
        .into_inner()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(acks.len(), 3);
    let counts: Vec<(i32, i32, usize)> = acks
        .iter()
        .map(|a| (a.created, a.already_present, a.rejections.len()))
        .collect();
    // Batches 2 and 3 are written at once: either may be the one that stores the cases.
    assert_eq!(counts[0], (25, 0, 0));
    let mut later = [counts[1], counts[2]];
    later.sort();
    assert_eq!(later, [(0, 15, 0), (15, 0, 0)]);

    let stored = app
        .list_all_cases(ListCasesRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await;
    assert_eq!(stored.len(), 40);
    let ids: Vec<&str> = stored.iter().map(|c| trailing_id(&c.name)).collect();
    assert_eq!(
        kept(&app, &ids).await,
        40,
        "every imported case has a kept answer"
    );
    for case in &stored {
        assert_eq!(&app.get_case(&case.name).await, case);
    }
}

#[tokio::test]
async fn a_change_made_by_hand_in_the_database_is_never_answered_stale() {
    let app = spawn_app().await;
    let mut new = valid_case("530102", "H-1");
    new.measures
        .push(measure(MeasureKind::Protest, date(2020, 3, 2)));
    let case = app.create_case(new).await;
    let id = trailing_id(&case.name).to_owned();
    assert_served_as_stored(&app, &case.name, "created").await;

    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    // A record changed without touching the case.
    conn.batch_execute(&format!(
        "UPDATE measures SET addressee = 'changed by hand' WHERE case_id = {id}"
    ))
    .await
    .unwrap();
    let got = app.get_case(&case.name).await;
    assert_eq!(got.measures[0].addressee, "changed by hand");
    assert_eq!(got, listed(&app, &case.name).await);

    // The case itself changed, without its version.
    let mut edit = app.get_case(&case.name).await;
    edit.summary = "before the hand edit".to_owned();
    app.update_case(edit, &["summary"]).await.unwrap();
    assert_eq!(kept(&app, &[&id]).await, 1);
    conn.batch_execute(&format!(
        "UPDATE cases SET summary = 'edited by hand' WHERE id = {id}"
    ))
    .await
    .unwrap();
    let got = app.get_case(&case.name).await;
    assert_eq!(got.summary, "edited by hand");
    assert_eq!(got, listed(&app, &case.name).await);
    assert_eq!(kept(&app, &[&id]).await, 0);
}

/// Runs `procura-server answers <action> --database-url <the app's database>`.
async fn answers_command(app: &TestApp, action: &str) -> CliOutput {
    let binary = server_binary();
    let mut command = std::process::Command::new(binary);
    command
        .args(["answers", action, "--database-url", &app.db_url])
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("cannot start the procura-server binary");
    CliOutput {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test]
async fn cases_stored_before_answers_were_kept_get_them_from_the_backfill_command() {
    let app = spawn_app().await;
    let mut names = Vec::new();
    for i in 0..5 {
        let mut case = valid_case("530102", &format!("B-{i}"));
        case.measures
            .push(measure(MeasureKind::Protest, date(2020, 3, 2)));
        names.push(app.create_case(case).await.name);
    }
    let ids: Vec<&str> = names.iter().map(|n| trailing_id(n)).collect();
    // As a database that held these cases when it was migrated: no answers, all to build.
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    conn.batch_execute(
        "DELETE FROM case_docs; \
         UPDATE case_docs_backfill SET up_to = (SELECT max(id) FROM cases), done_to = 0",
    )
    .await
    .unwrap();
    assert_eq!(kept(&app, &ids).await, 0);
    for name in &names {
        assert_eq!(app.get_case(name).await, listed(&app, name).await);
    }
    let verified = answers_command(&app, "verify").await;
    assert_eq!(
        verified.expect_success("answers verify").lines().next(),
        Some("5 cases: 0 kept answers, 5 without one, 0 differing from their records")
    );

    let built = answers_command(&app, "backfill").await;
    assert_eq!(
        built.expect_success("answers backfill").trim(),
        "built the kept answers of 5 cases"
    );
    assert_eq!(kept(&app, &ids).await, 5);
    for name in &names {
        assert_served_as_stored(&app, name, "answer built").await;
    }
    let flag: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT up_to - done_to FROM case_docs_backfill)",
    ))
    .get_result(&mut conn)
    .await
    .unwrap();
    assert!(flag <= 0, "the backfill left its marker pending");
    let again = answers_command(&app, "backfill").await;
    assert_eq!(
        again.expect_success("answers backfill").trim(),
        "built the kept answers of 0 cases"
    );
    let verified = answers_command(&app, "verify").await;
    assert_eq!(
        verified.expect_success("answers verify").trim(),
        "5 cases: 5 kept answers, 0 without one, 0 differing from their records"
    );
}

#[tokio::test]
async fn verify_names_the_cases_whose_kept_answer_differs_from_their_records() {
    let app = spawn_app().await;
    let mut names = Vec::new();
    for i in 0..3 {
        let case = valid_case("530102", &format!("V-{i}"));
        names.push(app.create_case(case).await.name);
    }
    let ids: Vec<&str> = names.iter().map(|n| trailing_id(n)).collect();
    let verified = answers_command(&app, "verify").await;
    assert_eq!(
        verified.expect_success("answers verify").trim(),
        "3 cases: 3 kept answers, 0 without one, 0 differing from their records"
    );

    // The second case's kept answer becomes the first case's: GetCase would serve it wrong.
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    conn.batch_execute(&format!(
        "UPDATE case_docs SET doc = (SELECT doc FROM case_docs WHERE case_id = {}) \
         WHERE case_id = {}",
        ids[0], ids[1]
    ))
    .await
    .unwrap();
    let verified = answers_command(&app, "verify").await;
    assert_eq!(verified.code, Some(1), "{verified:?}");
    assert_eq!(
        verified.stdout.lines().collect::<Vec<_>>(),
        [
            "3 cases: 3 kept answers, 0 without one, 1 differing from their records",
            &format!("differing: {}", names[1]),
        ]
    );
}
