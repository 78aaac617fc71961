//! Operating the server (README, "Operating"): the Prometheus metrics at `--metrics-listen`,
//! counted per method and status code, and the logs — JSON lines carrying each call's request
//! id, principal, status code and duration, and text without colour codes when stderr is not
//! a terminal.
//!
//! The server runs as its binary: a process has one metrics recorder, and these tests count
//! their own calls only.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use procura_proto::v1::region_service_client::RegionServiceClient;
use procura_proto::v1::{
    CreateCaseRequest, GetRegionRequest, GetRollupRequest, ImportCasesRequest, ImportCasesResponse,
    ListPrincipalsRequest, PublishRollupRequest, RegionLevel, Role,
};
use serde_json::Value;
use tonic::Code;
use tonic::transport::{Channel, Endpoint};

use crate::helpers::*;
use crate::server_config::{assert_refused, free_port, wait_until_serving};

/// A free address on loopback.
fn free_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// The body of `GET /metrics` at `addr`, over plain HTTP/1.1.
async fn scrape(addr: SocketAddr) -> String {
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr)
            .unwrap_or_else(|e| panic!("cannot reach the metrics at {addr}: {e}"));
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: procura\r\nConnection: close\r\n\r\n")
            .expect("sending the scrape");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .expect("reading the scrape");
        let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: text/plain"),
            "{head}"
        );
        body.to_owned()
    })
    .await
    .expect("the scrape thread")
}

/// A metric and its labels.
type Series = (String, BTreeMap<String, String>);

/// The samples of a scrape in the Prometheus text format (label values here hold no comma
/// or quote).
fn parse_samples(text: &str) -> BTreeMap<Series, f64> {
    let mut samples = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line.rsplit_once(' ').expect("`series value`");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("a number: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let inside = rest.strip_suffix('}').expect("labels end with }");
                let labels = inside
                    .split(',')
                    .map(|pair| {
                        let (key, value) = pair.split_once('=').expect("label=\"value\"");
                        (key.to_owned(), value.trim_matches('"').to_owned())
                    })
                    .collect();
                (name, labels)
            }
            None => (series, BTreeMap::new()),
        };
        samples.insert((name.to_owned(), labels), value);
    }
    samples
}

/// The series `name{labels}`.
fn series(name: &str, labels: &[(&str, &str)]) -> Series {
    (
        name.to_owned(),
        labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

/// The value of `name{labels}` in `samples`; 0 when the series is not there.
fn value(samples: &BTreeMap<Series, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .get(&series(name, labels))
        .copied()
        .unwrap_or_default()
}

/// The metric names of a scrape, from its `# TYPE` lines.
fn families(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn readme() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The README's "Operating" section.
fn operating_section(readme: &str) -> &str {
    let start = readme
        .find("\n## Operating\n")
        .expect("the README has an Operating section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    &rest[..end]
}

/// The metrics the README's table names (`| \`name\` | …`).
fn documented_metrics(section: &str) -> BTreeSet<String> {
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`'))
        .map(|(name, _)| name)
        .filter(|name| name.starts_with("grpc_") || name.starts_with("procura_"))
        .map(str::to_owned)
        .collect()
}

/// A client without credentials over `channel`.
fn anonymous(channel: &Channel) -> RegionServiceClient<Channel> {
    RegionServiceClient::new(channel.clone())
}

fn get_region(code: &str) -> GetRegionRequest {
    GetRegionRequest { name: region(code) }
}

/// Sends one ImportCases call of one batch as `who` and reads its one acknowledgement and the
/// status after it: the acknowledgement, or the status the stream ended with.
async fn import(
    who: &Clients,
    cases: Vec<procura_proto::v1::Case>,
) -> Result<ImportCasesResponse, tonic::Status> {
    let batch = ImportCasesRequest {
        batch_number: 1,
        cases,
    };
    let mut acks = who
        .cases
        .clone()
        .import_cases(tokio_stream::iter([batch]))
        .await?
        .into_inner();
    let ack = acks.message().await?.expect("one acknowledgement");
    assert!(acks.message().await?.is_none());
    Ok(ack)
}

fn publish() -> PublishRollupRequest {
    PublishRollupRequest {
        rollup: Some(GetRollupRequest {
            region: region("530000"),
            period: year(2020),
            ..Default::default()
        }),
        title: "Yunnan 2020".into(),
        request_id: "5b0d5d4e-8c3a-4a43-9d52-0f1f1c1f2e3d".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_metrics_count_every_call_by_method_and_status_code() {
    let database = fresh_database().await;
    let addr = free_address();
    let metrics = free_address();
    let (listen, metrics_listen) = (addr.to_string(), metrics.to_string());
    let mut server = ServerProcess::start(
        &[
            "--listen",
            &listen,
            "--database-url",
            &database.url,
            "--pool-size",
            "3",
        ],
        &[("PROCURA_METRICS_LISTEN", &metrics_listen)],
    );
    let channel = wait_until_serving(&mut server, addr).await;
    let admin = Clients::new(&channel, &server.token());
    let person = |id, grants| person_token(&admin.access, id, id, grants);
    let nobody = Clients::new(&channel, &person("nobody", &[]).await);
    let submitter = person("submitter", &[(Role::Submitter, "530000")]).await;
    let submitter = Clients::new(&channel, &submitter);

    let mut regions = admin.regions.clone();
    for code in ["530000", "110000"] {
        regions
            .get_region(get_region(code))
            .await
            .expect("GetRegion");
    }
    let missing = regions.get_region(get_region("539999")).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let anonymous = anonymous(&channel)
        .get_region(get_region("530000"))
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let refused = nobody
        .access
        .clone()
        .list_principals(ListPrincipalsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    admin
        .cases
        .clone()
        .create_case(CreateCaseRequest {
            case: Some(valid_case("530102", "METRICS-1")),
            request_id: String::new(),
        })
        .await
        .expect("CreateCase");
    // A new case and one without a case number; then both again.
    let cases = || vec![valid_case("530102", "METRICS-2"), valid_case("530102", "")];
    let first = import(&admin, cases()).await.expect("an import");
    assert_eq!((first.created, first.already_present), (1, 0), "{first:?}");
    assert!(!first.rejections.is_empty(), "{first:?}");
    let again = import(&admin, cases()).await.expect("an import again");
    assert_eq!((again.created, again.already_present), (0, 1), "{again:?}");
    // Refused after the stream began: the status is in the trailers.
    let outside = import(&submitter, vec![valid_case("110101", "METRICS-3")])
        .await
        .unwrap_err();
    assert_eq!(outside.code(), Code::PermissionDenied, "{outside:?}");
    // A retry with the same request id gets its release back: one release.
    let mut reports = admin.reports.clone();
    let release = reports.publish_rollup(publish()).await.expect("publish");
    let retried = reports.publish_rollup(publish()).await.expect("retry");
    let (release, retried) = (release.into_inner(), retried.into_inner());
    assert_eq!(
        release.release.as_ref().map(|r| &r.name),
        retried.release.as_ref().map(|r| &r.name)
    );

    // A rollup as of a moment, with indicators: what as-of rollups and pending counts are
    // counted from.
    let as_of = release.release.and_then(|r| r.rollup?.as_of);
    reports
        .get_rollup(GetRollupRequest {
            region: region("000000"),
            period: year(2020),
            as_of,
            include_indicators: true,
            ..Default::default()
        })
        .await
        .expect("GetRollup as of the release");

    let text = scrape(metrics).await;
    let samples = parse_samples(&text);
    let region_service = |code: &str| {
        value(
            &samples,
            "grpc_server_handled_total",
            &[
                ("grpc_type", "unary"),
                ("grpc_service", "procura.v1.RegionService"),
                ("grpc_method", "GetRegion"),
                ("grpc_code", code),
            ],
        )
    };
    assert_eq!(
        [
            "OK",
            "NOT_FOUND",
            "UNAUTHENTICATED",
            "PERMISSION_DENIED",
            "INTERNAL"
        ]
        .map(region_service),
        [2.0, 1.0, 1.0, 0.0, 0.0],
        "GetRegion by code:\n{text}"
    );
    let get_region_labels = [
        ("grpc_type", "unary"),
        ("grpc_service", "procura.v1.RegionService"),
        ("grpc_method", "GetRegion"),
    ];
    assert_eq!(
        value(&samples, "grpc_server_started_total", &get_region_labels),
        4.0
    );
    assert_eq!(
        value(
            &samples,
            "grpc_server_handling_seconds_count",
            &get_region_labels
        ),
        4.0
    );
    let mut infinite = get_region_labels.to_vec();
    infinite.push(("le", "+Inf"));
    assert_eq!(
        value(&samples, "grpc_server_handling_seconds_bucket", &infinite),
        4.0
    );
    assert!(
        value(
            &samples,
            "grpc_server_handling_seconds_sum",
            &get_region_labels
        ) > 0.0
    );
    let handled = |kind: &str, service: &str, method: &str, code: &str| {
        value(
            &samples,
            "grpc_server_handled_total",
            &[
                ("grpc_type", kind),
                ("grpc_service", service),
                ("grpc_method", method),
                ("grpc_code", code),
            ],
        )
    };
    assert_eq!(
        handled(
            "unary",
            "procura.v1.AccessService",
            "ListPrincipals",
            "PERMISSION_DENIED"
        ),
        1.0
    );
    assert_eq!(
        handled("unary", "procura.v1.CaseService", "CreateCase", "OK"),
        1.0
    );
    assert_eq!(
        handled("bidi_stream", "procura.v1.CaseService", "ImportCases", "OK"),
        2.0
    );
    assert_eq!(
        handled(
            "bidi_stream",
            "procura.v1.CaseService",
            "ImportCases",
            "PERMISSION_DENIED"
        ),
        1.0
    );
    assert_eq!(
        handled("unary", "procura.v1.ReportService", "PublishRollup", "OK"),
        2.0
    );
    assert!(handled("unary", "grpc.health.v1.Health", "Check", "OK") >= 1.0);

    let imported = |outcome| {
        value(
            &samples,
            "procura_import_cases_total",
            &[("outcome", outcome)],
        )
    };
    assert_eq!(
        ["created", "already_present", "rejected"].map(imported),
        [1.0, 1.0, 2.0]
    );
    assert_eq!(
        value(&samples, "procura_releases_published_total", &[]),
        1.0
    );
    assert!(
        value(
            &samples,
            "procura_kept_totals_rows_written_total",
            &[("table", "figure_totals")]
        ) > 0.0,
        "{text}"
    );
    let pool = |name: &str, pool: &str| value(&samples, name, &[("pool", pool)]);
    assert_eq!(pool("procura_db_pool_max_connections", "main"), 3.0);
    assert_eq!(pool("procura_db_pool_max_connections", "reader"), 2.0);
    for name in ["main", "reader"] {
        let waiting = series("procura_db_pool_waiting", &[("pool", name)]);
        assert!(samples.contains_key(&waiting), "{waiting:?} in\n{text}");
    }
    // The gauges are sampled every second: the connections opened by the calls show within
    // two.
    let mut open = 0.0;
    for _ in 0..40 {
        let samples = parse_samples(&scrape(metrics).await);
        let connections = |state| {
            value(
                &samples,
                "procura_db_pool_connections",
                &[("pool", "main"), ("state", state)],
            )
        };
        open = connections("in_use") + connections("idle");
        if open > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!((1.0..=3.0).contains(&open), "{open} connections of 3");
    let since_ok = value(&samples, "procura_database_seconds_since_ok", &[]);
    assert!((0.0..10.0).contains(&since_ok), "{since_ok}");

    // Every metric of the scrape is documented in the README, and every documented one is
    // scraped.
    let scraped: BTreeSet<String> = families(&text)
        .into_iter()
        .filter(|name| name.starts_with("grpc_") || name.starts_with("procura_"))
        .collect();
    let readme = readme();
    assert_eq!(scraped, documented_metrics(operating_section(&readme)));
}

/// A `procura-server` child process whose standard error is a pipe, read line by line.
struct PipedServer {
    _child: KillOnDrop,
    lines: Arc<Mutex<Vec<String>>>,
    _credentials: TempFile,
    token: String,
    channel: Channel,
}

impl PipedServer {
    /// Starts `procura-server` on `addr` and database `url` with `--log-format json`, stderr
    /// to a pipe, and waits until it logs that it listens.
    async fn start(addr: SocketAddr, url: &str) -> Self {
        let credentials = TempFile::with_contents(".credentials", "");
        let mut command = std::process::Command::new(server_binary());
        command
            .args(["--listen", &addr.to_string(), "--database-url", url])
            .args(["--log-format", "json"])
            .env("RUST_LOG", "info")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for name in SERVER_ENV {
            command.env_remove(name);
        }
        command.env("PROCURA_CREDENTIALS_FILE", &credentials.0);
        let mut child = KillOnDrop(command.spawn().expect("cannot start procura-server"));
        let stderr = child.0.stderr.take().expect("the stderr pipe");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let filled = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                filled.lock().unwrap().push(line);
            }
        });
        let listening = |line: &Value| line["message"] == "procura-server listening";
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if lines.lock().unwrap().iter().any(|l| listening(&json(l))) {
                break;
            }
            if let Some(status) = child.0.try_wait().expect("the server's status") {
                panic!("procura-server exited with {status}:\n{:?}", lines.lock());
            }
            assert!(
                std::time::Instant::now() < deadline,
                "procura-server does not listen after 60 s:\n{:?}",
                lines.lock()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .expect("an endpoint")
            .connect()
            .await
            .expect("a connection to the server");
        let token = read_token(&credentials.0);
        PipedServer {
            _child: child,
            lines,
            _credentials: credentials,
            token,
            channel,
        }
    }

    /// The lines of the call with request id `id`, once its `call finished` line is there.
    async fn call_lines(&self, id: &str) -> Vec<Value> {
        for _ in 0..200 {
            let lines: Vec<Value> = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .map(|l| json(l))
                .filter(|l| l["request_id"] == id)
                .collect();
            if lines.iter().any(|l| l["message"] == "call finished") {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "no `call finished` line of request {id}:\n{}",
            self.lines.lock().unwrap().join("\n")
        );
    }
}

/// `line` as JSON: one object.
fn json(line: &str) -> Value {
    let value: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
    assert!(value.is_object(), "not an object: {line}");
    value
}

/// The `x-request-id` of response metadata.
fn request_id_of(metadata: &tonic::metadata::MetadataMap) -> String {
    metadata
        .get("x-request-id")
        .expect("the response carries x-request-id")
        .to_str()
        .expect("ASCII")
        .to_owned()
}

fn with_request_id<T>(message: T, id: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-request-id", id.parse().expect("ASCII metadata"));
    request
}

/// The one `call finished` line of `lines`.
fn summary(lines: &[Value]) -> &Value {
    let finished: Vec<&Value> = lines
        .iter()
        .filter(|l| l["message"] == "call finished")
        .collect();
    assert_eq!(finished.len(), 1, "{lines:#?}");
    finished[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_give_each_call_its_request_id_principal_status_and_duration() {
    let database = fresh_database().await;
    let server = PipedServer::start(free_address(), &database.url).await;
    let admin = Clients::new(&server.channel, &server.token);

    let answer = admin
        .regions
        .clone()
        .get_region(with_request_id(get_region("530000"), "test-123"))
        .await
        .expect("GetRegion");
    assert_eq!(request_id_of(answer.metadata()), "test-123");
    let created = admin
        .cases
        .clone()
        .create_case(with_request_id(
            CreateCaseRequest {
                case: Some(valid_case("530102", "LOGS-1")),
                request_id: String::new(),
            },
            "test-456",
        ))
        .await
        .expect("CreateCase");
    assert_eq!(request_id_of(created.metadata()), "test-456");
    // Not printable as a request id: the server makes one, and returns it with the error.
    let missing = admin
        .regions
        .clone()
        .get_region(with_request_id(get_region("539999"), "has space"))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let made = request_id_of(missing.metadata());
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    let refused = anonymous(&server.channel)
        .get_region(with_request_id(get_region("530000"), "test-789"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert_eq!(request_id_of(refused.metadata()), "test-789");
    // An import batch refused by the task that writes it, after the stream began.
    let submitter = [(Role::Submitter, "530000")];
    let submitter = person_token(&admin.access, "submitter", "submitter", &submitter).await;
    let batch = ImportCasesRequest {
        batch_number: 1,
        cases: vec![valid_case("110101", "LOGS-2")],
    };
    let mut acks = Clients::new(&server.channel, &submitter)
        .cases
        .import_cases(with_request_id(tokio_stream::iter([batch]), "test-import"))
        .await
        .expect("ImportCases")
        .into_inner();
    let outside = acks.message().await.unwrap_err();
    assert_eq!(outside.code(), Code::PermissionDenied, "{outside:?}");

    let lines = server.call_lines("test-123").await;
    let line = summary(&lines);
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["target"], "procura_server::api::calls", "{line}");
    assert_eq!(line["method"], "/procura.v1.RegionService/GetRegion");
    assert_eq!(line["principal"], "admin");
    assert_eq!(line["code"], "OK");
    let duration = line["duration_ms"]
        .as_f64()
        .expect("duration_ms is a number");
    assert!((0.0..10_000.0).contains(&duration), "{line}");
    let time = line["timestamp"].as_str().expect("a timestamp");
    let time = chrono::DateTime::parse_from_rfc3339(time).expect("an RFC 3339 timestamp");
    let age = chrono::Utc::now().signed_duration_since(time);
    assert!(age < chrono::Duration::minutes(5), "{line}");

    // The README's sample line has the fields of a real one.
    let readme = readme();
    let sample = operating_section(&readme)
        .lines()
        .find(|l| l.starts_with('{') && l.contains("call finished"))
        .expect("a JSON log line in the README");
    let keys = |line: &Value| -> BTreeSet<String> {
        line.as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(keys(&json(sample)), keys(line));

    // Every line of a call carries its fields: the handler's own line too.
    let lines = server.call_lines("test-456").await;
    assert!(
        lines.iter().any(|l| l["message"] == "case created"),
        "{lines:#?}"
    );
    for line in &lines {
        assert_eq!(line["method"], "/procura.v1.CaseService/CreateCase");
        assert_eq!(line["principal"], "admin", "{line}");
    }
    assert_eq!(summary(&lines)["code"], "OK");

    let lines = server.call_lines(&made).await;
    assert_eq!(summary(&lines)["code"], "NOT_FOUND");
    assert_eq!(summary(&lines)["principal"], "admin");

    let lines = server.call_lines("test-import").await;
    assert!(
        lines.iter().any(|l| l["message"] == "import batch failed"),
        "{lines:#?}"
    );
    for line in &lines {
        assert_eq!(line["method"], "/procura.v1.CaseService/ImportCases");
        assert_eq!(line["principal"], "submitter", "{line}");
    }
    assert_eq!(summary(&lines)["code"], "PERMISSION_DENIED");

    // Refused before anyone is known: no principal.
    let lines = server.call_lines("test-789").await;
    let line = summary(&lines);
    assert_eq!(line["code"], "UNAUTHENTICATED");
    assert!(line.get("principal").is_none(), "{line}");

    // Every line is one JSON object with the three fields.
    for text in server.lines.lock().unwrap().iter() {
        let line = json(text);
        for field in ["timestamp", "level", "target"] {
            assert!(line[field].is_string(), "{field} of {text}");
        }
        assert!(!text.contains('\u{1b}'), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_written_to_a_file_have_no_colour_codes() {
    let database = fresh_database().await;
    let addr = free_address();
    let listen = addr.to_string();
    // NO_COLOR empty counts as unset: only the file keeps the colours out.
    let mut server = ServerProcess::start(
        &["--listen", &listen, "--database-url", &database.url],
        &[("NO_COLOR", "")],
    );
    let channel = wait_until_serving(&mut server, addr).await;
    let mut regions = Clients::new(&channel, &server.token()).regions;
    regions
        .get_region(with_request_id(get_region("530000"), "text-1"))
        .await
        .expect("GetRegion");
    let mut stderr = server.stderr();
    for _ in 0..200 {
        if stderr.contains("call finished") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        stderr = server.stderr();
    }
    let line = stderr
        .lines()
        .find(|l| l.contains("call finished"))
        .unwrap_or_else(|| panic!("no `call finished` line:\n{stderr}"));
    for part in [
        " INFO ",
        "method=\"/procura.v1.RegionService/GetRegion\"",
        "request_id=\"text-1\"",
        "principal=\"admin\"",
        "code=\"OK\"",
        "duration_ms=",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in a file:\n{stderr}"
    );
}

#[tokio::test]
async fn the_server_refuses_a_metrics_address_or_log_format_it_cannot_use() {
    assert_refused(
        &["--metrics-listen", "nowhere"],
        &[],
        "--metrics-listen",
        "nowhere",
    )
    .await;
    assert_refused(
        &[],
        &[("PROCURA_LOG_FORMAT", "yaml")],
        "--log-format",
        "yaml",
    )
    .await;

    // An address another process listens on: a failure exit that names it.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let taken = taken.local_addr().expect("its address").to_string();
    let database = fresh_database().await;
    let listen = free_address().to_string();
    let mut server = ServerProcess::start(
        &[
            "--listen",
            &listen,
            "--database-url",
            &database.url,
            "--metrics-listen",
            &taken,
        ],
        &[],
    );
    let status = server.wait_for_exit(Duration::from_secs(30)).await;
    let stderr = server.stderr();
    let status = status.unwrap_or_else(|| panic!("still running after 30 s:\n{stderr}"));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot serve metrics on {taken} (--metrics-listen)"
        )),
        "{stderr}"
    );
}

/// Rollups as of a past moment give the figures read then, counted from what serves them
/// (README, "Operating": `procura_as_of_rollups_total`, `procura_pending_counts_total`): a
/// national rollup over whole months from the kept totals less the changes logged since, a
/// province's from the kept totals less the cases changed since, and a time before any moment
/// from the records; the nation's pending-by-age indicators from the kept pending counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn as_of_rollups_are_counted_from_the_totals_log_where_it_serves() {
    let database = fresh_database().await;
    let addr = free_address();
    let metrics = free_address();
    let (listen, metrics_listen) = (addr.to_string(), metrics.to_string());
    let mut server = ServerProcess::start(
        &["--listen", &listen, "--database-url", &database.url],
        &[("PROCURA_METRICS_LISTEN", &metrics_listen)],
    );
    let channel = wait_until_serving(&mut server, addr).await;
    let admin = Clients::new(&channel, &server.token());
    let reports = admin.reports.clone();
    let cases = |numbers: &[&str]| {
        numbers
            .iter()
            .enumerate()
            .map(|(i, number)| {
                let code = ["530102", "110101", "000000"][i % 3];
                valid_case(code, number)
            })
            .collect::<Vec<_>>()
    };
    import(&admin, cases(&["LOG-1", "LOG-2", "LOG-3"]))
        .await
        .expect("an import");
    let rollup = |code: &str, breakdown: RegionLevel, as_of| GetRollupRequest {
        region: region(code),
        period: year(2020),
        breakdown: breakdown as i32,
        as_of,
        include_indicators: true,
        ..Default::default()
    };
    let get = |request: GetRollupRequest| {
        let mut reports = reports.clone();
        async move {
            reports
                .get_rollup(request)
                .await
                .expect("GetRollup")
                .into_inner()
                .rollup
                .expect("a rollup")
        }
    };
    let national = get(rollup("000000", RegionLevel::Province, None)).await;
    let yunnan = get(rollup("530000", RegionLevel::Prefecture, None)).await;

    // Later cases in every province of the rollup and at the national procuratorate.
    import(&admin, cases(&["LOG-4", "LOG-5", "LOG-6", "LOG-7"]))
        .await
        .expect("a later import");
    let now = get(rollup("000000", RegionLevel::Province, None)).await;
    assert_ne!(
        now.figures, national.figures,
        "the later cases moved nothing"
    );

    let then = get(rollup("000000", RegionLevel::Province, national.as_of)).await;
    assert_eq!(
        (then.figures, then.rows),
        (national.figures.clone(), national.rows)
    );
    let yunnan_then = get(rollup("530000", RegionLevel::Prefecture, yunnan.as_of)).await;
    assert_eq!(
        (yunnan_then.figures, yunnan_then.rows),
        (yunnan.figures, yunnan.rows)
    );
    let long_ago = prost_types::Timestamp {
        seconds: 946_684_800, // 2000-01-01
        nanos: 0,
    };
    let before_all = get(rollup("000000", RegionLevel::Province, Some(long_ago))).await;
    assert!(before_all.rows.is_empty(), "{:?}", before_all.rows);

    let samples = parse_samples(&scrape(metrics).await);
    let from = |from: &str| value(&samples, "procura_as_of_rollups_total", &[("from", from)]);
    assert_eq!(
        ["totals_log", "changed_cases", "records"].map(from),
        [1.0, 1.0, 1.0]
    );
    // The nation's pending counts at the year's last day: the three national rollups but the
    // one as of a time before any moment.
    let pending = |from: &str| value(&samples, "procura_pending_counts_total", &[("from", from)]);
    assert_eq!(["kept_counts", "records"].map(pending), [3.0, 3.0]);
    assert_eq!(
        (then.indicators, yunnan_then.indicators),
        (national.indicators, yunnan.indicators)
    );
    let written = |table: &str| {
        value(
            &samples,
            "procura_kept_totals_rows_written_total",
            &[("table", table)],
        )
    };
    // Two imports, each moving the year and month rows of two provinces and the national
    // procuratorate's month and day rows.
    assert_eq!(written("figure_totals_log"), 12.0);
}
