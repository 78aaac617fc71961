//! Tests of the import: reading CSV and JSON lines into batches, mapping rejections, the
//! state file and the starting point of a resumed import.

#![allow(clippy::unwrap_used)]

use std::io::BufRead;
use std::path::PathBuf;

use procura_proto::v1::{
    Case, CreateCaseRequest, ImportCasesRequest, ImportCasesResponse, ImportRejection,
};
use tonic::{Code, Status};

use super::progress::*;
use super::read::*;
use super::send::*;
use super::*;
use crate::connection::ConnectOptions;

const CSV: &str = "\
region,case_number,case_type,applicant_type,sector,accepted_on,leader_handled
530100,A-1,judgment,natural-person,housing,2020-03-01,true
530100,A-2,judgment,natural-person,housing,2020-02-30,
530100,A-3,nonsense,natural-person,housing,2020-03-01,
530100,A-4,judgment,natural-person,housing,2020-03-02,
";

fn batches(text: &str, format: InputFormat, size: usize) -> Vec<Batch> {
    let input: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(text.to_owned()));
    Batches::new(Records::new(input, format).unwrap(), size)
        .map(Result::unwrap)
        .collect()
}

fn jsonl_case(number: u32) -> String {
    format!(
        "{{\"region\":\"530100\",\"case_number\":\"{number}\",\"case_type\":\"judgment\",\
         \"applicant_type\":\"natural-person\",\"sector\":\"other\",\
         \"accepted_on\":\"2020-01-02\"}}\n"
    )
}

#[test]
fn csv_rows_become_cases_or_rejections_with_line_numbers() {
    let all = batches(CSV, InputFormat::Csv, 10);
    assert_eq!(all.len(), 1);
    let batch = &all[0];
    assert_eq!(batch.number, 1);
    assert_eq!(batch.lines, vec![2, 5]);
    assert!(batch.cases[0].leader_handled);
    assert_eq!(batch.cases[0].region, "regions/530100");
    assert_eq!(batch.local.len(), 2);
    assert_eq!(batch.local[0].line, 3);
    assert_eq!(batch.local[0].field, "case.accepted_on");
    assert_eq!(batch.local[1].line, 4);
    assert_eq!(batch.local[1].field, "case.case_type");
    assert_eq!(batch.last_line, 5);
    assert_eq!(batch.end_byte, CSV.len() as u64);
}

/// A JSON array as `cases list --format json` writes it: pretty-printed, each case over many
/// lines, with the fields the server sets.
#[test]
fn a_pretty_printed_json_array_is_read_case_by_case_with_the_line_each_starts_on() {
    let case = |number: &str, accepted: &str| {
        serde_json::json!({
            "name": format!("cases/{number}"),
            "region": "530100",
            "case_number": number,
            "case_type": "judgment",
            "status": "accepted",
            "applicant_type": "natural-person",
            "sector": "other",
            "accepted_on": accepted,
            "concluded_on": null,
            "measures": [{"name": "cases/1/measures/1", "kind": "protest",
                          "issued_on": "2020-02-01", "addressee": "法院",
                          "create_time": "2020-02-01T00:00:00Z"}],
            "resolution": null,
            "aid_grants": [],
            "etag": "\"v1\"",
        })
    };
    let array = serde_json::json!([
        case("1", "2020-01-02"),
        case("2", "2020-02-30"),
        7,
        case("4", "2020-01-03")
    ]);
    let text = format!(
        "\u{feff}{}\n",
        serde_json::to_string_pretty(&array).unwrap()
    );
    let starts: Vec<u64> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| *l == "  {" || l.trim() == "7,")
        .map(|(i, _)| i as u64 + 1)
        .collect();
    assert_eq!(starts.len(), 4, "{text}");
    for format in [InputFormat::Json, InputFormat::Jsonl] {
        let all = batches(&text, format, 1);
        assert_eq!(all.len(), 2, "{format:?}");
        assert_eq!(all[0].lines, vec![starts[0]]);
        assert_eq!(all[0].cases[0].case_number, "1");
        assert_eq!(all[0].cases[0].measures.len(), 1);
        assert_eq!(all[1].local[0].line, starts[1]);
        assert_eq!(all[1].local[0].field, "case.accepted_on");
        assert_eq!(all[1].local[1].line, starts[2]);
        assert_eq!(all[1].local[1].reason, "not a JSON object");
        assert_eq!(all[1].lines, vec![starts[3]]);
        assert_eq!(all[1].cases[0].case_number, "4");
        let whole = batches(&text, format, 10);
        assert_eq!(whole[0].end_byte, text.len() as u64, "read to the end");
    }
    assert!(batches("[]", InputFormat::Json, 2).is_empty());
    assert_eq!(batches(" [ ] ", InputFormat::Json, 2).len(), 0);
}

#[test]
fn a_broken_json_array_fails_the_import_before_anything_is_sent() {
    for text in [
        "[{\"a\": 1},\n{\"b\": 2}",
        "[{\"a\": 1}] x",
        "[{\"a\": 1},,]",
    ] {
        let input: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(text.to_owned()));
        let error = Records::new(input, InputFormat::Json).err().unwrap();
        assert!(
            error
                .to_string()
                .starts_with("the import file is not a valid JSON array: ")
                && error.to_string().contains("line "),
            "{text}: {error}"
        );
    }
    // JSON lines: each line on its own.
    let all = batches(&jsonl_case(1), InputFormat::Json, 2);
    assert_eq!(all[0].cases.len(), 1);
}

#[test]
fn an_unknown_csv_column_fails_the_import() {
    let input: Box<dyn BufRead + Send> =
        Box::new(std::io::Cursor::new("region,colour\n530100,red\n"));
    let error = Records::new(input, InputFormat::Csv).err().unwrap();
    assert!(error.to_string().contains("colour"));
}

#[test]
fn batches_hold_the_batch_size_of_cases_and_the_rejections_read_with_them() {
    let text = format!(
        "{}\n[1,2]\n{}{}{{oops\n{}",
        jsonl_case(1).trim_end(),
        jsonl_case(2),
        jsonl_case(3),
        jsonl_case(4)
    );
    let all = batches(&text, InputFormat::Jsonl, 2);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].number, 1);
    assert_eq!(all[0].lines, vec![1, 3]);
    assert_eq!(all[0].local.len(), 1);
    assert_eq!(all[0].local[0].line, 2);
    assert_eq!(all[0].local[0].reason, "not a JSON object");
    assert_eq!(all[1].number, 2);
    assert_eq!(all[1].lines, vec![4, 6]);
    assert_eq!(all[1].local[0].line, 5);
    assert!(all[1].local[0].reason.starts_with("invalid JSON"));
    assert_eq!(all[1].end_byte, text.len() as u64);
}

#[test]
fn trailing_rejections_make_a_batch_with_no_cases() {
    let text = format!("{}not json\n\n", jsonl_case(1));
    let all = batches(&text, InputFormat::Jsonl, 1);
    assert_eq!(all.len(), 2);
    assert!(all[1].cases.is_empty());
    assert_eq!(all[1].local[0].line, 2);
    assert!(batches("\n\n", InputFormat::Jsonl, 5).is_empty());
}

#[test]
fn rejections_map_from_batch_positions_to_file_lines() {
    let lines = [10, 11, 15, 16];
    let rejection = |position, field: &str| ImportRejection {
        position,
        field: field.to_owned(),
        reason: "bad".to_owned(),
    };
    let (mapped, cases) = map_rejections(
        &lines,
        &[
            rejection(2, "cases[2].accepted_on"),
            rejection(2, "cases[2].measures[0].issued_on"),
            rejection(0, "cases[0]"),
            rejection(9, "cases[9].sector"),
        ],
    );
    assert_eq!(cases, 3);
    assert_eq!(mapped[0].to_string(), "line 15: case.accepted_on: bad");
    assert_eq!(
        mapped[1].to_string(),
        "line 15: case.measures[0].issued_on: bad"
    );
    assert_eq!(mapped[2].to_string(), "line 10: case: bad");
    assert_eq!(
        mapped[3].to_string(),
        "line 0: case.sector: bad (position 9 of its batch)"
    );
    assert_eq!(local_field("case.summary"), "case.summary");
    assert_eq!(local_field("cases[x].a"), "cases[x].a");
}

#[test]
fn the_tally_counts_acknowledgements_and_lists_rejections_by_line() {
    let batch = Batch {
        number: 1,
        cases: vec![Case::default(); 3],
        lines: vec![2, 4, 5],
        local: vec![whole_line(3, "invalid JSON: x")],
        last_line: 5,
        end_byte: 100,
    };
    let ack = ImportCasesResponse {
        batch_number: 1,
        created: 1,
        already_present: 1,
        rejections: vec![ImportRejection {
            position: 0,
            field: "cases[0].accepted_on".to_owned(),
            reason: "must not be in the future".to_owned(),
        }],
    };
    let mut tally = Tally::default();
    tally.add(&batch, &ack);
    assert_eq!(
        tally.summary(),
        "created 1, already present 1, rejected 2\n\
         line 2: case.accepted_on: must not be in the future\n\
         line 3: invalid JSON: x\n"
    );
}

#[test]
fn the_state_file_round_trips_and_is_replaced_atomically() {
    let dir = std::env::temp_dir().join(format!("procura-state-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cases.jsonl");
    let path = state_path(&file);
    assert_eq!(path, dir.join("cases.jsonl.import-state"));
    assert_eq!(load_state(&path).unwrap(), None);
    let mut state = ImportState {
        file: file.display().to_string(),
        batch_size: 1000,
        last_batch: 7,
        last_line: 7012,
        tally: Tally {
            created: 6990,
            already_present: 5,
            rejected: 5,
            rejections: vec![whole_line(12, "not a JSON object")],
            unlisted: 0,
        },
    };
    save_state(&path, &state).unwrap();
    assert_eq!(load_state(&path).unwrap(), Some(state.clone()));
    state.last_batch = 8;
    save_state(&path, &state).unwrap();
    assert_eq!(load_state(&path).unwrap().unwrap().last_batch, 8);
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    std::fs::write(&path, "garbage").unwrap();
    assert!(load_state(&path).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reconnection_pauses_grow_to_ten_seconds() {
    let pauses: Vec<u64> = (1..=6).map(|a| backoff(a).as_secs()).collect();
    assert_eq!(pauses, vec![1, 2, 4, 8, 10, 10]);
    assert_eq!(backoff(100).as_secs(), 10);
}

#[test]
fn transport_failures_are_retried_and_refusals_are_not() {
    assert!(is_retryable(&Status::unavailable("restarting")));
    assert!(is_retryable(&Status::cancelled("gone")));
    assert!(!is_retryable(&Status::invalid_argument("too many")));
    assert!(!is_retryable(&Status::internal("bug")));
    assert!(matches!(
        classify(Status::unimplemented("no")),
        SessionError::Unimplemented
    ));
}

/// A server's answer to a call it sheds, asking for a retry after `delay`.
fn shed(delay: std::time::Duration) -> Status {
    use tonic_types::{ErrorDetails, StatusExt};
    let mut details =
        ErrorDetails::with_error_info("OVERLOADED", "procura.v1", std::collections::HashMap::new());
    details.set_retry_info(Some(delay));
    Status::with_error_details(Code::ResourceExhausted, "the server is busy", details)
}

#[test]
fn a_busy_server_is_retried_after_the_delay_it_asks_for_but_a_message_too_large_is_not() {
    use std::time::Duration;
    use tonic_types::{ErrorDetails, StatusExt};
    let busy = shed(Duration::from_millis(1500));
    assert!(is_retryable(&busy));
    assert!(matches!(
        classify(busy),
        SessionError::Busy(_, Some(delay)) if delay == Duration::from_millis(1500)
    ));
    // Without a RetryInfo the usual pauses apply; a long delay asked for is capped.
    let plain = Status::resource_exhausted("16 open import streams");
    assert!(matches!(classify(plain), SessionError::Busy(_, None)));
    assert_eq!(
        retry_delay(&shed(Duration::from_secs(600))),
        Some(Duration::from_secs(10))
    );
    let too_large = Status::with_error_details(
        Code::ResourceExhausted,
        "a request message of 70000000 bytes is larger than the limit of 64 MB",
        ErrorDetails::with_error_info(
            "MESSAGE_TOO_LARGE",
            "procura.v1",
            std::collections::HashMap::new(),
        ),
    );
    assert!(!is_retryable(&too_large));
    assert!(matches!(classify(too_large), SessionError::Fatal(_)));
}

#[test]
fn create_case_failures_become_rejections() {
    use tonic_types::{ErrorDetails, FieldViolation, StatusExt};
    let status = Status::with_error_details(
        Code::InvalidArgument,
        "bad case",
        ErrorDetails::with_bad_request(vec![FieldViolation::new(
            "case.accepted_on",
            "must not be in the future",
        )]),
    );
    let found = rejections_of(3, &status);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].position, 3);
    assert_eq!(found[0].field, "case.accepted_on");
    let found = rejections_of(1, &Status::internal("boom"));
    assert_eq!(found[0].reason, "internal error: boom");
}

#[test]
fn formats_are_guessed_from_the_extension() {
    assert_eq!(guess_format(Path::new("a.CSV")), Some(InputFormat::Csv));
    assert_eq!(guess_format(Path::new("a.jsonl")), Some(InputFormat::Jsonl));
    assert_eq!(guess_format(Path::new("a.json")), Some(InputFormat::Json));
    assert_eq!(
        guess_format(Path::new("a.ndjson")),
        Some(InputFormat::Jsonl)
    );
    assert_eq!(guess_format(Path::new("a.txt")), None);
}

/// A CaseService that keeps case numbers in memory: ImportCases (which can break its first
/// stream after some batches, committing one more batch without acknowledging it) and
/// CreateCase. Case numbers starting with `bad` are rejected.
#[derive(Debug, Default)]
struct Fake {
    stored: std::sync::Mutex<Vec<String>>,
    batches_received: std::sync::Mutex<Vec<i64>>,
    streams: std::sync::atomic::AtomicUsize,
    creates: std::sync::atomic::AtomicUsize,
    break_after: Option<usize>,
    unimplemented: bool,
    /// The first stream is shed RESOURCE_EXHAUSTED, asking for a retry after this delay.
    shed_first: Option<std::time::Duration>,
}

impl Fake {
    /// Stores the cases; returns the acknowledgement of a batch.
    fn store(&self, number: i64, cases: &[Case]) -> ImportCasesResponse {
        let mut stored = self.stored.lock().unwrap();
        let mut ack = ImportCasesResponse {
            batch_number: number,
            ..ImportCasesResponse::default()
        };
        for (position, case) in cases.iter().enumerate() {
            if case.case_number.starts_with("bad") {
                ack.rejections.push(ImportRejection {
                    position: position as i32,
                    field: format!("cases[{position}].case_number"),
                    reason: "is bad".to_owned(),
                });
            } else if stored.contains(&case.case_number) {
                ack.already_present += 1;
            } else {
                stored.push(case.case_number.clone());
                ack.created += 1;
            }
        }
        ack
    }
}

#[derive(Debug, Clone)]
struct FakeService(std::sync::Arc<Fake>);

type Answer<T> = Result<tonic::Response<T>, Status>;

#[tonic::codegen::async_trait]
impl procura_proto::v1::case_service_server::CaseService for FakeService {
    async fn create_case(
        &self,
        request: tonic::Request<CreateCaseRequest>,
    ) -> Answer<procura_proto::v1::CreateCaseResponse> {
        self.0
            .creates
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let case = request.into_inner().case.unwrap_or_default();
        let ack = self.0.store(0, std::slice::from_ref(&case));
        if !ack.rejections.is_empty() {
            return Err(Status::invalid_argument("bad case"));
        }
        if ack.already_present > 0 {
            return Err(Status::already_exists("stored before"));
        }
        Ok(tonic::Response::new(
            procura_proto::v1::CreateCaseResponse { case: Some(case) },
        ))
    }
    async fn get_case(
        &self,
        _: tonic::Request<procura_proto::v1::GetCaseRequest>,
    ) -> Answer<procura_proto::v1::GetCaseResponse> {
        Err(Status::unimplemented("fake"))
    }
    async fn list_cases(
        &self,
        _: tonic::Request<procura_proto::v1::ListCasesRequest>,
    ) -> Answer<procura_proto::v1::ListCasesResponse> {
        Err(Status::unimplemented("fake"))
    }
    async fn update_case(
        &self,
        _: tonic::Request<procura_proto::v1::UpdateCaseRequest>,
    ) -> Answer<procura_proto::v1::UpdateCaseResponse> {
        Err(Status::unimplemented("fake"))
    }
    async fn create_measure(
        &self,
        _: tonic::Request<procura_proto::v1::CreateMeasureRequest>,
    ) -> Answer<procura_proto::v1::CreateMeasureResponse> {
        Err(Status::unimplemented("fake"))
    }
    async fn update_measure(
        &self,
        _: tonic::Request<procura_proto::v1::UpdateMeasureRequest>,
    ) -> Answer<procura_proto::v1::UpdateMeasureResponse> {
        Err(Status::unimplemented("fake"))
    }
    async fn create_resolution(
        &self,
        _: tonic::Request<procura_proto::v1::CreateResolutionRequest>,
    ) -> Answer<procura_proto::v1::CreateResolutionResponse> {
        Err(Status::unimplemented("fake"))
    }
    async fn create_judicial_aid(
        &self,
        _: tonic::Request<procura_proto::v1::CreateJudicialAidRequest>,
    ) -> Answer<procura_proto::v1::CreateJudicialAidResponse> {
        Err(Status::unimplemented("fake"))
    }
    async fn list_case_revisions(
        &self,
        _: tonic::Request<procura_proto::v1::ListCaseRevisionsRequest>,
    ) -> Answer<procura_proto::v1::ListCaseRevisionsResponse> {
        Err(Status::unimplemented("fake"))
    }

    type ImportCasesStream =
        std::pin::Pin<Box<dyn futures::Stream<Item = Result<ImportCasesResponse, Status>> + Send>>;

    async fn import_cases(
        &self,
        request: tonic::Request<tonic::Streaming<ImportCasesRequest>>,
    ) -> Answer<Self::ImportCasesStream> {
        if self.0.unimplemented {
            return Err(Status::unimplemented("no ImportCases here"));
        }
        let call = self
            .0
            .streams
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let (0, Some(delay)) = (call, self.0.shed_first) {
            return Err(shed(delay));
        }
        let mut inbound = request.into_inner();
        let (acks, receiver) = mpsc::channel(4);
        let fake = self.0.clone();
        tokio::spawn(async move {
            let mut acknowledged = 0;
            while let Ok(Some(batch)) = inbound.message().await {
                fake.batches_received
                    .lock()
                    .unwrap()
                    .push(batch.batch_number);
                let ack = fake.store(batch.batch_number, &batch.cases);
                if call == 0 && fake.break_after == Some(acknowledged) {
                    // Committed, but the answer is lost with the connection.
                    let _ = acks.send(Err(Status::unavailable("restarting"))).await;
                    return;
                }
                acknowledged += 1;
                if acks.send(Ok(ack)).await.is_err() {
                    return;
                }
            }
        });
        Ok(tonic::Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(receiver),
        )))
    }
}

/// Serves a fake on a free port of the loopback; returns its URL.
async fn serve(fake: std::sync::Arc<Fake>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(
                procura_proto::v1::case_service_server::CaseServiceServer::new(FakeService(fake)),
            )
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    url
}

/// A JSON-lines file of `count` cases in a fresh directory: line 5 is not JSON, and the case
/// on line 9 is one the fake rejects.
fn import_file(count: u32) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("procura-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cases.jsonl");
    let mut text = String::new();
    for line in 1..=count {
        match line {
            5 => text.push_str("{not json\n"),
            9 => text.push_str(&jsonl_case(9).replace("\"9\"", "\"bad-9\"")),
            _ => text.push_str(&jsonl_case(line)),
        }
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn args(file: &Path) -> ImportArgs {
    ImportArgs {
        file: file.to_owned(),
        format: None,
        batch_size: 4,
        retries: 3,
        resume: false,
        resume_from: None,
        concurrency: 2,
    }
}

fn stored(fake: &Fake) -> Vec<String> {
    let mut stored = fake.stored.lock().unwrap().clone();
    stored.sort_by_key(|n| n.parse::<u32>().unwrap_or(0));
    stored
}

fn expected(count: u32) -> Vec<String> {
    (1..=count)
        .filter(|n| *n != 5 && *n != 9)
        .map(|n| n.to_string())
        .collect()
}

#[tokio::test]
async fn a_broken_stream_is_resumed_from_the_first_unacknowledged_batch() {
    let fake = std::sync::Arc::new(Fake {
        break_after: Some(2),
        ..Fake::default()
    });
    let ctx = Context::new(serve(fake.clone()).await, ConnectOptions::default(), None);
    let file = import_file(25);
    let code = run(args(&file), &ctx).await.unwrap();
    assert_eq!(code, ExitCode::from(2), "two lines are rejected");
    assert_eq!(stored(&fake), expected(25), "every good case once");
    assert_eq!(fake.streams.load(std::sync::atomic::Ordering::SeqCst), 2);
    let received = fake.batches_received.lock().unwrap().clone();
    // Batch 3 was committed without an answer and sent again on the second stream.
    assert_eq!(received, vec![1, 2, 3, 3, 4, 5, 6]);
    assert!(
        !state_path(&file).exists(),
        "the state file is removed at the end"
    );
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}

#[tokio::test]
async fn an_import_shed_by_a_busy_server_resumes_after_the_delay_it_asked_for() {
    let delay = std::time::Duration::from_millis(300);
    let fake = std::sync::Arc::new(Fake {
        shed_first: Some(delay),
        ..Fake::default()
    });
    let ctx = Context::new(serve(fake.clone()).await, ConnectOptions::default(), None);
    let file = import_file(10);
    let started = std::time::Instant::now();
    let code = run(args(&file), &ctx).await.unwrap();
    let took = started.elapsed();
    assert_eq!(code, ExitCode::from(2), "two lines are rejected");
    assert_eq!(stored(&fake), expected(10), "every good case once");
    assert_eq!(fake.streams.load(std::sync::atomic::Ordering::SeqCst), 2);
    // The server's delay, not the first reconnection pause of 1 s.
    assert!(
        took >= delay && took < std::time::Duration::from_secs(1),
        "{took:?}"
    );
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}

#[tokio::test]
async fn a_resumed_import_skips_the_acknowledged_batches() {
    let fake = std::sync::Arc::new(Fake::default());
    let ctx = Context::new(serve(fake.clone()).await, ConnectOptions::default(), None);
    let file = import_file(25);
    // Batches 1 and 2 hold lines 1 to 9 (line 5 rejected here, line 9's case by the server).
    save_state(
        &state_path(&file),
        &ImportState {
            file: file.display().to_string(),
            batch_size: 4,
            last_batch: 2,
            last_line: 9,
            tally: Tally {
                created: 7,
                already_present: 0,
                rejected: 2,
                rejections: Vec::new(),
                unlisted: 0,
            },
        },
    )
    .unwrap();
    let mut resume = args(&file);
    resume.resume = true;
    let code = run(resume, &ctx).await.unwrap();
    assert_eq!(
        code,
        ExitCode::from(2),
        "the earlier rejections still count"
    );
    assert_eq!(
        *fake.batches_received.lock().unwrap(),
        vec![3, 4, 5, 6],
        "only the batches after the last acknowledged one"
    );
    assert_eq!(
        stored(&fake),
        (10..=25).map(|n| n.to_string()).collect::<Vec<_>>()
    );
    assert!(!state_path(&file).exists());

    // A state file that does not match the file is refused.
    save_state(
        &state_path(&file),
        &ImportState {
            file: file.display().to_string(),
            batch_size: 4,
            last_batch: 2,
            last_line: 8,
            tally: Tally::default(),
        },
    )
    .unwrap();
    let mut resume = args(&file);
    resume.resume = true;
    let error = run(resume, &ctx).await.unwrap_err().to_string();
    assert!(
        error.contains("changed since the interrupted import"),
        "{error}"
    );
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}

#[tokio::test]
async fn without_import_cases_the_cases_go_one_by_one() {
    let fake = std::sync::Arc::new(Fake {
        unimplemented: true,
        ..Fake::default()
    });
    let ctx = Context::new(serve(fake.clone()).await, ConnectOptions::default(), None);
    let file = import_file(10);
    let code = run(args(&file), &ctx).await.unwrap();
    assert_eq!(code, ExitCode::from(2));
    assert_eq!(stored(&fake), expected(10));
    assert_eq!(
        fake.creates.load(std::sync::atomic::Ordering::SeqCst),
        9,
        "one call per case read"
    );
    assert!(!state_path(&file).exists());
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}
