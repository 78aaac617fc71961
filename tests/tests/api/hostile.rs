//! Hostile input: values that try to forge log lines, values far too long to echo, invisible
//! and reordering characters in identifying text, and bytes that are not a protobuf message.
//!
//! - The log: every value taken from a request is written escaped and quoted, so that no
//!   request writes a line of its own (`the_log_shows_values_from_requests_escaped_…`).
//! - Echoes: an error quotes at most 64 characters of a bad value, then its length; however
//!   many fields are bad, the status fits the client's limit on response headers.
//! - Case numbers, addressees, recipients and titles are one line of visible text, stored in
//!   NFC: control characters, bidirectional controls and zero-width characters are refused.
//!   Summaries, notes and reasons keep their line breaks.
//! - A request that does not decode is INVALID_ARGUMENT (ErrorInfo `UNDECODABLE_REQUEST`); one
//!   over the 64 MB limit is RESOURCE_EXHAUSTED (`MESSAGE_TOO_LARGE`).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use procura_proto::v1::{
    CaseStatus, CreateCaseRequest, ExplainFigureRequest, GetCaseRequest, GetRegionRequest,
    GetReleaseRequest, GetRollupRequest, ImportCasesRequest, ImportCasesResponse, ListCasesRequest,
    ListReleasesRequest, Measure, MeasureKind, PublishRollupRequest, Qualifier, UpdateCaseRequest,
};
use prost::Message;
use prost::bytes::{Buf, BufMut};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::helpers::*;

/// A forged log line: what a value holding it would write into the log if it were not
/// escaped.
const FORGED_STAMP: &str = "2026-12-04T00:00:00Z";
const FORGED: &str = "\n2026-12-04T00:00:00Z ERROR forged";

/// One megabyte (in characters, all ASCII).
const MEGABYTE: usize = 1 << 20;

/// The `procura-server` binary serving a database of its own (which it creates and migrates),
/// its stderr written to a file. Dropping it kills the server and drops the database.
struct LoggedServer {
    child: Child,
    db_name: String,
    log: TempFile,
    credentials: TempFile,
    url: String,
}

impl LoggedServer {
    fn start() -> Self {
        // Named as the harness names test databases, so a killed run's is dropped by the next.
        let db_name = format!(
            "procura_test_{}_{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        let log = TempFile::with_contents(".log", "");
        let credentials = TempFile::with_contents(".credentials", "");
        let stderr = std::fs::File::create(&log.0).expect("the log file");
        let child = Command::new(server_binary())
            .args(["--listen", "127.0.0.1:0", "--database-url"])
            .arg(database_url(&db_name))
            .env("PROCURA_CREDENTIALS_FILE", &credentials.0)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("cannot start procura-server");
        let mut server = Self {
            child,
            db_name,
            log,
            credentials,
            url: String::new(),
        };
        server.url = format!("http://{}", server.wait_for_address());
        server
    }

    /// The address of the `procura-server listening address=…` line.
    fn wait_for_address(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let log = self.log();
            if let Some(address) = log
                .lines()
                .filter(|line| line.contains("procura-server listening"))
                .find_map(|line| line.split("address=").nth(1))
            {
                return address.trim().to_owned();
            }
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!("procura-server exited with {exit} before listening:\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "procura-server is not listening yet:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        read_to_string(&self.log.0)
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(self.url.clone())
            .expect("a URL")
            .connect()
            .await
            .expect("connect to procura-server")
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        drop_database_blocking(&self.db_name);
    }
}

fn read_to_string(path: &Path) -> String {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut file| file.read_to_end(&mut bytes))
        .expect("read the log");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Every line of `log` is a log record of its own: it starts with the timestamp the server
/// wrote (no start-up output is written without one), and none starts with the forged one.
fn assert_every_line_is_a_record(log: &str) {
    for line in log.lines() {
        let stamp = line.split_whitespace().next().unwrap_or_default();
        assert!(
            !line.starts_with(FORGED_STAMP),
            "a request forged a log line: {line:?}\n--- log\n{log}"
        );
        assert!(
            chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
            "a log line that does not start with a timestamp: {line:?}\n--- log\n{log}"
        );
    }
}

fn rollup_2020() -> Option<GetRollupRequest> {
    Some(GetRollupRequest {
        region: region("530000"),
        period: year(2020),
        ..Default::default()
    })
}

fn publish_request(title: &str) -> PublishRollupRequest {
    PublishRollupRequest {
        rollup: rollup_2020(),
        title: title.to_owned(),
        qualifiers: HashMap::new(),
        request_id: String::new(),
    }
}

#[tokio::test]
async fn the_log_shows_values_from_requests_escaped_so_no_request_writes_a_line_of_its_own() {
    let server = LoggedServer::start();
    let channel = server.channel().await;
    let clients = Clients::new(&channel, &read_token(&server.credentials.0));
    let mut cases = clients.cases;
    let mut reports = clients.reports;

    // Values that would start a line of their own if written as they are. The outcome of each
    // call is another test's business: only the log is checked here.
    let mut forged_case = valid_case("530102", &format!("A-1{FORGED}"));
    forged_case.summary = format!("summary{FORGED}");
    let _ = cases
        .create_case(CreateCaseRequest {
            case: Some(forged_case),
            request_id: String::new(),
        })
        .await;
    let _ = reports
        .publish_rollup(publish_request(&format!("Yunnan 2020{FORGED}")))
        .await;
    let _ = reports
        .get_rollup(GetRollupRequest {
            region: format!("regions/530000{FORGED}"),
            period: year(2020),
            ..Default::default()
        })
        .await;
    let _ = cases
        .get_case(GetCaseRequest {
            name: format!("cases/1{FORGED}"),
        })
        .await;

    // Values that are valid, and logged: quotes in them cannot forge a field either.
    let created = cases
        .create_case(CreateCaseRequest {
            case: Some(valid_case("530102", r#"B-"1" level=ERROR"#)),
            request_id: String::new(),
        })
        .await
        .expect("CreateCase of a case number with quotes")
        .into_inner()
        .case
        .unwrap();
    let mut changed = created.clone();
    changed.summary = format!("a summary of two lines{FORGED}");
    cases
        .update_case(UpdateCaseRequest {
            case: Some(changed),
            update_mask: Some(field_mask(&["summary"])),
            reason: format!("a reason of two lines{FORGED}"),
        })
        .await
        .expect("UpdateCase with line breaks in the summary and the reason");
    reports
        .publish_rollup(publish_request(r#"Yunnan 2020" forged="yes"#))
        .await
        .expect("PublishRollup of a title with quotes");

    let log = server.log();
    assert_every_line_is_a_record(&log);
    for shown in [
        r#"case_number="B-\"1\" level=ERROR""#,
        r#"title="Yunnan 2020\" forged=\"yes""#,
    ] {
        assert!(log.contains(shown), "no {shown} in the log:\n{log}");
    }
    assert!(log.contains("case updated"), "{log}");
    assert!(log.contains("rollup published"), "{log}");
}

/// The description of the one violation of an INVALID_ARGUMENT naming `field`, checked to be
/// short, as the status message is.
fn short_violation(status: &Status, field: &str) -> String {
    assert_invalid_field(status, field);
    assert!(
        status.message().len() < 1024,
        "a message of {} bytes: {}…",
        status.message().len(),
        &status.message()[..200]
    );
    let (_, description) = field_violations(status).remove(0);
    assert!(description.len() < 1024, "{description}");
    description
}

#[tokio::test]
async fn a_megabyte_case_number_or_title_is_refused_with_a_short_message() {
    let app = spawn_app().await;
    let number = "A".repeat(MEGABYTE);
    let status = expect_err(
        app.try_create_case(valid_case("530102", &number)).await,
        "CreateCase of a 1 MB case number",
    );
    let description = short_violation(&status, "case.case_number");
    assert!(description.contains("longer than 100"), "{description}");

    let status = expect_err(
        app.reports
            .clone()
            .publish_rollup(publish_request(&"标".repeat(MEGABYTE)))
            .await,
        "PublishRollup of a 1 MB title",
    );
    let description = short_violation(&status, "title");
    assert!(description.contains("longer than 200"), "{description}");
    assert_nothing_stored(&app).await;
}

#[tokio::test]
async fn a_megabyte_name_is_echoed_as_a_short_prefix_and_its_length() {
    let app = spawn_app().await;
    let long = "A".repeat(MEGABYTE);
    // What the server shows of `cases/AAAA…`: its first 64 characters, then its length.
    let shown = format!("\"cases/{}\"… ({} characters)", &long[..58], MEGABYTE + 6);

    let status = expect_err(
        app.try_get_case(&format!("cases/{long}")).await,
        "GetCase of a 1 MB name",
    );
    let description = short_violation(&status, "name");
    assert!(description.contains(&shown), "{description}");
    assert!(status.message().contains(&shown), "{}", status.message());

    let status = expect_err(
        app.regions
            .clone()
            .get_region(GetRegionRequest {
                name: format!("regions/{long}"),
            })
            .await,
        "GetRegion of a 1 MB name",
    );
    let description = short_violation(&status, "name");
    assert!(
        description.contains(&format!("({} characters)", MEGABYTE + 8)),
        "{description}"
    );

    let mut case = valid_case("530102", "A-1");
    case.region = format!("regions/{long}");
    let status = expect_err(
        app.create_case_request(CreateCaseRequest {
            case: Some(case),
            request_id: long.clone(),
        })
        .await,
        "CreateCase with a 1 MB region and request id",
    );
    assert_invalid_fields(&status, &["case.region", "request_id"]);
    assert!(status.message().len() < 1024, "{}", status.message().len());

    let mut reports = app.reports.clone();
    let status = expect_err(
        reports
            .get_release(GetReleaseRequest {
                name: format!("releases/{long}"),
            })
            .await,
        "GetRelease of a 1 MB name",
    );
    short_violation(&status, "name");
    let status = expect_err(
        reports
            .explain_figure(ExplainFigureRequest {
                region: region("530000"),
                period: year(2020),
                metric: long.clone(),
                ..Default::default()
            })
            .await,
        "ExplainFigure of a 1 MB metric",
    );
    short_violation(&status, "metric");
    let mut request = publish_request("Yunnan 2020");
    request
        .qualifiers
        .insert(long.clone(), Qualifier::MoreThan as i32);
    let status = expect_err(
        reports.publish_rollup(request).await,
        "PublishRollup qualifying a 1 MB metric",
    );
    short_violation(&status, "qualifiers");

    // A name of a megabyte that is valid: the NOT_FOUND names the release in its own form.
    let status = expect_err(
        reports
            .get_release(GetReleaseRequest {
                name: format!("releases/{}1", "0".repeat(MEGABYTE)),
            })
            .await,
        "GetRelease of releases/000…1",
    );
    assert_status(&status, Code::NotFound, "RELEASE_NOT_FOUND");
    assert_eq!(status.message(), "releases/1 does not exist");

    // An etag and an update mask of a megabyte.
    let created = app.create_case(valid_case("530102", "E-1")).await;
    let mut stale = created.clone();
    stale.etag = long.clone();
    let status = expect_err(
        app.update_case(stale, &["summary"]).await,
        "UpdateCase with a 1 MB etag",
    );
    assert_status(&status, Code::Aborted, "ETAG_MISMATCH");
    assert!(status.message().len() < 1024, "{}", status.message().len());
    let status = expect_err(
        app.update_case(created, &[long.as_str()]).await,
        "UpdateCase of a 1 MB field path",
    );
    short_violation(&status, "update_mask");
}

#[tokio::test]
async fn thousands_of_bad_fields_are_answered_within_the_limits_of_a_status() {
    let app = spawn_app().await;
    let mut case = valid_case("530102", "M-1");
    case.measures = (0..5000)
        .map(|_| Measure {
            kind: MeasureKind::Unspecified as i32,
            ..measure(MeasureKind::Protest, date(2020, 4, 1))
        })
        .collect();
    let status = expect_err(
        app.try_create_case(case).await,
        "CreateCase with 5,000 bad measures",
    );
    let violations = field_violations(&status);
    assert!(violations.len() > 10, "{violations:?}");
    assert_eq!(violations[0].0, "case.measures[0].kind");
    assert!(status.message().len() < 1024, "{}", status.message().len());
    let info = assert_error_info(&status, "INVALID_ARGUMENT");
    assert_eq!(
        info.metadata.get("omitted_violations"),
        Some(&(5000 - violations.len()).to_string()),
        "{:?}",
        info.metadata
    );
    assert_nothing_stored(&app).await;
}

async fn assert_nothing_stored(app: &TestApp) {
    let all = app
        .list_all_cases(ListCasesRequest {
            status: CaseStatus::Unspecified as i32,
            ..Default::default()
        })
        .await;
    assert!(all.is_empty(), "a refused request stored cases: {all:?}");
    let releases = app
        .reports
        .clone()
        .list_releases(ListReleasesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .releases;
    assert!(
        releases.is_empty(),
        "a refused request stored releases: {releases:?}"
    );
}

/// Refuses each of `characters` in a case number, naming `case.case_number` and the code point,
/// in CreateCase and in an import batch; nothing is stored.
async fn assert_case_numbers_refuse(characters: &[char]) {
    let app = spawn_app().await;
    let mut batch = Vec::new();
    for (i, c) in characters.iter().enumerate() {
        let number = format!("A-{i}{c}X");
        let status = expect_err(
            app.try_create_case(valid_case("530102", &number)).await,
            &format!("CreateCase of case number {number:?}"),
        );
        let description = short_violation(&status, "case.case_number");
        let code = format!("U+{:04X}", u32::from(*c));
        assert!(description.contains(&code), "{number:?}: {description}");
        batch.push(valid_case("530102", &number));
    }
    let acks = import(
        &app,
        ImportCasesRequest {
            batch_number: 1,
            cases: batch,
        },
    )
    .await;
    assert_eq!(acks.created, 0, "{acks:?}");
    let fields: Vec<&str> = acks.rejections.iter().map(|r| r.field.as_str()).collect();
    let wanted: Vec<String> = (0..characters.len())
        .map(|i| format!("cases[{i}].case_number"))
        .collect();
    assert_eq!(fields, wanted);
    assert_nothing_stored(&app).await;
}

async fn import(app: &TestApp, batch: ImportCasesRequest) -> ImportCasesResponse {
    let mut acks = app
        .cases
        .clone()
        .import_cases(tokio_stream::iter([batch]))
        .await
        .expect("ImportCases")
        .into_inner();
    let ack = acks.message().await.expect("an acknowledgement");
    ack.expect("one acknowledgement")
}

#[tokio::test]
async fn case_numbers_with_control_characters_are_refused() {
    assert_case_numbers_refuse(&['\n', '\r', '\t', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}']).await;
}

#[tokio::test]
async fn case_numbers_with_bidirectional_controls_are_refused() {
    assert_case_numbers_refuse(&[
        '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
        '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}',
    ])
    .await;
}

#[tokio::test]
async fn case_numbers_with_zero_width_characters_are_refused() {
    assert_case_numbers_refuse(&['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}']).await;
}

#[tokio::test]
async fn addressees_recipients_and_titles_are_one_line_of_visible_text() {
    let app = spawn_app().await;
    let mut case = valid_case("530102", "A-1");
    let mut bad_measure = measure(MeasureKind::Protest, date(2020, 4, 1));
    bad_measure.addressee = "某某法院\n2026-12-04 ERROR".to_owned();
    case.measures = vec![bad_measure];
    let mut bad_aid = aid(date(2020, 4, 2), 10_000);
    bad_aid.recipient = "张\u{202E}三".to_owned();
    case.aid_grants = vec![bad_aid];
    let status = expect_err(
        app.try_create_case(case).await,
        "CreateCase with a two-line addressee and a reversed recipient",
    );
    assert_invalid_fields(
        &status,
        &["case.measures[0].addressee", "case.aid_grants[0].recipient"],
    );

    let status = expect_err(
        app.reports
            .clone()
            .publish_rollup(publish_request("Yunnan\u{200B} 2020"))
            .await,
        "PublishRollup of a title with a zero-width space",
    );
    let description = short_violation(&status, "title");
    assert!(description.contains("U+200B"), "{description}");
    let status = expect_err(
        app.reports
            .clone()
            .publish_rollup(publish_request("Yunnan\n2020"))
            .await,
        "PublishRollup of a title of two lines",
    );
    short_violation(&status, "title");
    assert_nothing_stored(&app).await;
}

#[tokio::test]
async fn summaries_and_reasons_keep_line_breaks_but_refuse_bidirectional_controls() {
    let app = spawn_app().await;
    let mut case = valid_case("530102", "S-1");
    case.summary = "第一行\n第二行\tend".to_owned();
    let created = app.create_case(case).await;
    assert_eq!(created.summary, "第一行\n第二行\tend");

    let mut reversed = valid_case("530102", "S-2");
    reversed.summary = "abc\u{202E}def".to_owned();
    let status = expect_err(
        app.try_create_case(reversed).await,
        "CreateCase of a summary with an override",
    );
    short_violation(&status, "case.summary");

    let mut changed = created.clone();
    changed.summary = "changed".to_owned();
    let status = expect_err(
        app.cases
            .clone()
            .update_case(UpdateCaseRequest {
                case: Some(changed),
                update_mask: Some(field_mask(&["summary"])),
                reason: "reason \u{2066}isolated\u{2069}".to_owned(),
            })
            .await,
        "UpdateCase with an isolate in the reason",
    );
    short_violation(&status, "reason");
    assert_eq!(app.get_case(&created.name).await, created);
}

#[tokio::test]
async fn case_numbers_that_differ_only_by_normalisation_are_one_case() {
    let app = spawn_app().await;
    // "案-Café" composed (é is U+00E9), then decomposed (e and U+0301).
    let composed = "案-Caf\u{e9}";
    let decomposed = "案-Cafe\u{301}";
    let first = app.create_case(valid_case("530102", composed)).await;
    assert_eq!(first.case_number, composed);
    let status = expect_err(
        app.try_create_case(valid_case("530102", decomposed)).await,
        "CreateCase of the same case number decomposed",
    );
    let info = assert_status(&status, Code::AlreadyExists, "CASE_ALREADY_EXISTS");
    assert_eq!(info.metadata.get("existing"), Some(&first.name));

    // Stored in NFC whichever form is sent.
    let second = app.create_case(valid_case("530000", decomposed)).await;
    assert_eq!(second.case_number, composed);
    assert_eq!(app.get_case(&second.name).await.case_number, composed);
    let acks = import(
        &app,
        ImportCasesRequest {
            batch_number: 1,
            cases: vec![valid_case("530000", decomposed)],
        },
    )
    .await;
    assert_eq!((acks.created, acks.already_present), (0, 1), "{acks:?}");
}

/// Sends bytes as they are and gives the bytes answered: a codec for requests that no
/// generated client would send.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

/// Calls unary method `path` (e.g. `/procura.v1.CaseService/CreateCase`) with `bytes` as the
/// request message.
async fn call_raw(app: &TestApp, path: &'static str, bytes: Vec<u8>) -> Result<Vec<u8>, Status> {
    let mut grpc = tonic::client::Grpc::new(app.channel.clone());
    grpc.ready().await.expect("the channel is ready");
    grpc.unary(
        app.authorized(tonic::Request::new(bytes)),
        PathAndQuery::from_static(path),
        RawCodec,
    )
    .await
    .map(tonic::Response::into_inner)
}

/// Checks an answer to an undecodable request: INVALID_ARGUMENT, ErrorInfo
/// `UNDECODABLE_REQUEST`, the message saying so. Gives the fields its BadRequest names.
fn assert_undecodable(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_error_info(status, "UNDECODABLE_REQUEST");
    assert!(
        status
            .message()
            .starts_with("the request could not be decoded: "),
        "{status:?}"
    );
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

/// Field `tag` of a message, length-delimited, holding `bytes` as they are.
fn length_delimited(tag: u32, bytes: &[u8]) -> Vec<u8> {
    use prost::encoding::{WireType, encode_key, encode_varint};
    let mut out = Vec::new();
    encode_key(tag, WireType::LengthDelimited, &mut out);
    encode_varint(bytes.len() as u64, &mut out);
    out.extend_from_slice(bytes);
    out
}

/// A CreateCaseRequest (field 1, `case`) of a valid case whose case number (field 3) is
/// `number`, bytes as they are.
fn create_case_bytes(number: &[u8]) -> Vec<u8> {
    let mut case = valid_case("530102", "").encode_to_vec();
    case.extend(length_delimited(3, number));
    length_delimited(1, &case)
}

/// Two bytes that are no UTF-8: a lead byte followed by an ASCII character.
const NOT_UTF8: &[u8] = &[0xc3, 0x28];

#[tokio::test]
async fn a_message_over_64_mb_is_refused_resource_exhausted_naming_the_limit() {
    let app = spawn_app().await;
    let number = vec![b'A'; 65 * MEGABYTE];
    let status = call_raw(
        &app,
        "/procura.v1.CaseService/CreateCase",
        create_case_bytes(&number),
    )
    .await
    .expect_err("a 65 MB message must be refused");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_error_info(&status, "MESSAGE_TOO_LARGE");
    assert!(
        status.message().contains("larger than the limit of 64 MB"),
        "{status:?}"
    );
    assert_nothing_stored(&app).await;
}

#[tokio::test]
async fn garbage_bytes_are_invalid_argument() {
    let app = spawn_app().await;
    // Not a message: a key of wire type 7, an unfinished varint, a length past the end.
    let garbage: [&[u8]; 3] = [b"\x07garbage", &[0x08, 0xff, 0xff], &[0x0a, 0x7f, 0x01]];
    for bytes in garbage {
        for path in [
            "/procura.v1.CaseService/CreateCase",
            "/procura.v1.RegionService/GetRegion",
            "/procura.v1.ReportService/GetRollup",
        ] {
            let status = call_raw(&app, path, bytes.to_vec())
                .await
                .expect_err("garbage must be refused");
            assert_undecodable(&status);
        }
    }
    assert_nothing_stored(&app).await;
}

#[tokio::test]
async fn a_string_that_is_not_utf8_is_invalid_argument_naming_its_field() {
    let app = spawn_app().await;
    let status = call_raw(
        &app,
        "/procura.v1.CaseService/CreateCase",
        create_case_bytes(NOT_UTF8),
    )
    .await
    .expect_err("a case number that is not UTF-8");
    assert_eq!(assert_undecodable(&status), ["case.case_number"]);
    let status = call_raw(
        &app,
        "/procura.v1.CaseService/GetCase",
        length_delimited(1, NOT_UTF8),
    )
    .await
    .expect_err("a name that is not UTF-8");
    assert_eq!(assert_undecodable(&status), ["name"]);
    assert_nothing_stored(&app).await;

    // The same request, decodable, is served: the bytes around the bad string were right.
    let answer = call_raw(
        &app,
        "/procura.v1.CaseService/CreateCase",
        create_case_bytes(b"OK"),
    )
    .await
    .expect("the same request with a UTF-8 case number");
    let created = procura_proto::v1::CreateCaseResponse::decode(answer.as_slice()).unwrap();
    assert_eq!(created.case.unwrap().case_number, "OK");
}

#[tokio::test]
async fn an_undecodable_import_batch_is_invalid_argument_after_the_batches_before_it() {
    let app = spawn_app().await;
    let good = ImportCasesRequest {
        batch_number: 1,
        cases: vec![valid_case("530102", "I-1")],
    }
    .encode_to_vec();
    let mut bad = ImportCasesRequest {
        batch_number: 2,
        cases: Vec::new(),
    }
    .encode_to_vec();
    // Field 2 (cases) holding a case whose case number (field 3) is not UTF-8.
    bad.extend(length_delimited(2, &length_delimited(3, NOT_UTF8)));

    let mut grpc = tonic::client::Grpc::new(app.channel.clone());
    grpc.ready().await.unwrap();
    let mut acks = grpc
        .streaming(
            app.authorized(tonic::Request::new(tokio_stream::iter([good, bad]))),
            PathAndQuery::from_static("/procura.v1.CaseService/ImportCases"),
            RawCodec,
        )
        .await
        .expect("ImportCases answers")
        .into_inner();
    let first = acks
        .message()
        .await
        .expect("the first batch is acknowledged")
        .expect("an acknowledgement");
    let first = ImportCasesResponse::decode(first.as_slice()).unwrap();
    assert_eq!((first.batch_number, first.created), (1, 1));
    let status = acks
        .message()
        .await
        .expect_err("the second batch does not decode");
    assert_eq!(assert_undecodable(&status), ["cases.case_number"]);
    assert_eq!(
        app.list_all_cases(ListCasesRequest::default()).await.len(),
        1
    );
}
