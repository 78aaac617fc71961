//! The database stopped or frozen under the server: calls end UNAVAILABLE or by their
//! deadline (never INTERNAL, never hanging), Health follows the database, the connections left
//! behind are sound once it is back, and an import resumes by itself.

use std::time::{Duration, Instant};

use procura_proto::v1::CreateCaseRequest;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::cluster::eventually;
use crate::server::{App, TempDir, binary, health};
use crate::support::*;

const LOCK_RECORDS: &str = "LOCK TABLE cases IN ACCESS EXCLUSIVE MODE";

/// Whether Health reports `status` within `within`.
async fn health_becomes(app: &App, status: ServingStatus, within: Duration) -> bool {
    eventually(within, async || {
        health(&app.channel).await.ok() == Some(status)
    })
    .await
}

/// The national count of cases accepted in 2020, from the kept totals.
async fn accepted(app: &App) -> i64 {
    let rollup = national_rollup(&app.clients).await;
    let accepted = rollup.figures.iter().find(|f| f.metric == "cases.accepted");
    accepted.map_or(0, |f| f.value)
}

/// PostgreSQL frozen (SIGSTOP of the postmaster and every backend): calls without a deadline
/// of their caller's end DEADLINE_EXCEEDED by the server's `--call-timeout`; Health goes
/// NOT_SERVING. Once PostgreSQL runs again, every connection
/// the interrupted calls left behind works (more calls than the pool has connections, all
/// right), and the writes that timed out stored nothing.
#[tokio::test]
async fn a_frozen_database_ends_calls_by_their_deadline() {
    let Setup {
        app, cluster, url, ..
    } = &setup(|s| s.limits.call_timeout = Duration::from_secs(2)).await;
    create_case(&app.clients, "F-0").await.unwrap();
    cluster.freeze();

    let started = Instant::now();
    let mut calls = Vec::new();
    for i in 0..4 {
        let (number, app_clients) = (format!("F-frozen-{i}"), app.clients.clone());
        calls.push(tokio::spawn(async move {
            let mut cases = app_clients.cases;
            cases
                .create_case(CreateCaseRequest {
                    case: Some(crate::fixtures::valid_case("530102", &number)),
                    request_id: String::new(),
                })
                .await
                .map(drop)
        }));
        let mut reports = app.clients.reports.clone();
        calls.push(tokio::spawn(async move {
            reports.get_rollup(rollup()).await.map(drop)
        }));
    }
    for call in calls {
        let status = tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .expect("the server answers by its call timeout")
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(status.code(), Code::DeadlineExceeded | Code::Unavailable),
            "{status:?}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(health_becomes(app, ServingStatus::NotServing, Duration::from_secs(8)).await);

    cluster.thaw();
    assert!(health_becomes(app, ServingStatus::Serving, Duration::from_secs(10)).await);
    for i in 1..=12 {
        create_case(&app.clients, &format!("F-{i}")).await.unwrap();
        assert_eq!(accepted(app).await, 1 + i);
    }
    assert_eq!(stored_cases(url).await, (13, 13));
}

/// PostgreSQL stopped (as a crash: `pg_ctl stop -m immediate`) while an import batch is being
/// written: the stream ends UNAVAILABLE, not INTERNAL; the acknowledged batch stays stored;
/// once PostgreSQL is back the batch is imported again, once.
#[tokio::test]
async fn a_database_lost_mid_import_ends_the_stream_unavailable() {
    let Setup {
        app, cluster, url, ..
    } = &setup(|_| {}).await;
    let mut stream = OpenImport::open(&app.clients, batch(1, cases("L1", 5))).await;
    assert_eq!(stream.next().await.unwrap().unwrap().created, 5);
    let blocker = Blocker::hold(url, LOCK_RECORDS).await;
    stream.send(batch(2, cases("L2", 5))).await;
    until_waiting_on_locks(url, 1).await;
    cluster.stop_immediately();
    drop(blocker);
    let status = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the stream ends")
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    cluster.start();
    assert!(health_becomes(app, ServingStatus::Serving, Duration::from_secs(10)).await);
    let mut again = OpenImport::open(&app.clients, batch(2, cases("L2", 5))).await;
    assert_eq!(again.next().await.unwrap().unwrap().created, 5);
    assert_eq!(stored_cases(url).await, (10, 10));
}

/// `procura cases import` while PostgreSQL is stopped under the server and started again a
/// few seconds later: the CLI waits, resumes by itself and finishes; every case is stored
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_resumes_an_import_by_itself_when_the_database_comes_back() {
    let Setup {
        app, cluster, url, ..
    } = &setup(|_| {}).await;
    let home = TempDir::new();
    let file = home.0.join("cases.jsonl");
    let lines: String = (0..300)
        .map(|i| {
            format!(
                "{{\"region\":\"530102\",\"case_number\":\"CLI-{i:03}\",\"case_type\":\"judgment\",\
                 \"applicant_type\":\"natural-person\",\"sector\":\"public-security\",\
                 \"accepted_on\":\"2020-03-01\"}}\n"
            )
        })
        .collect();
    std::fs::write(&file, lines).unwrap();
    // The first batch waits on the lock, then the database goes away under it.
    let blocker = Blocker::hold(url, LOCK_RECORDS).await;
    let mut command = std::process::Command::new(binary("procura"));
    command
        .arg("--server")
        .arg(format!("http://{}", app.addr))
        .args(["cases", "import"])
        .arg(&file)
        .args(["--batch-size", "10"])
        .env("HOME", &home.0)
        .env("NO_COLOR", "1")
        .env("PROCURA_TOKEN", &app.token)
        .env("PROCURA_CREDENTIALS_FILE", home.0.join("credentials"))
        .env_remove("PROCURA_SERVER")
        .stdin(std::process::Stdio::null());
    let import = tokio::task::spawn_blocking(move || command.output());
    until_waiting_on_locks(url, 1).await;
    cluster.stop_immediately();
    drop(blocker);
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.start();
    let output = tokio::time::timeout(Duration::from_secs(120), import)
        .await
        .expect("the import finishes")
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("reconnecting"), "{stderr}");
    assert_eq!(stored_cases(url).await, (300, 300));
}
