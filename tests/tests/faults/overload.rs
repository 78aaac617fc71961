//! Overload: heavy reads, many calls at once and abandoned import streams are queued a
//! bounded while, then shed RESOURCE_EXHAUSTED with a retry delay; cheap calls and Health keep
//! answering, and nothing is stored twice.

use std::time::{Duration, Instant};

use procura_proto::v1::CreateCaseRequest;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::cluster::Cluster;
use crate::server::{Clients, ServerProcess, channel, health};
use crate::support::*;

/// The records' table locked: a heavy read (as of a past moment) that reaches it waits there
/// holding its database connection, as a long as-of rollup of a large subtree does.
const LOCK_RECORDS: &str = "LOCK TABLE cases IN ACCESS EXCLUSIVE MODE";

/// 32 as-of national rollups at once on a pool of 4: at most a quarter of the connections go
/// to them, the rest are shed RESOURCE_EXHAUSTED with a retry delay (never "database
/// unavailable"); rollups from the kept totals keep answering at once and Health stays
/// SERVING while they wait.
#[tokio::test]
async fn heavy_reads_cannot_starve_cheap_calls_or_health() {
    let Setup { app, url, .. } = &setup(|_| {}).await;
    create_case(&app.clients, "H-1").await.unwrap();
    let blocker = Blocker::hold(url, LOCK_RECORDS).await;
    let heavy: Vec<_> = (0..32)
        .map(|_| {
            let mut reports = app.clients.reports.clone();
            tokio::spawn(async move { reports.get_rollup(rollup_as_of_now()).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..10 {
        let started = Instant::now();
        national_rollup(&app.clients).await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "a cheap rollup took {:?} behind the heavy reads",
            started.elapsed()
        );
    }
    assert_eq!(health(&app.channel).await.unwrap(), ServingStatus::Serving);
    // The heavy reads not let in are shed within the queue's wait, while the table is held.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let answered = heavy.iter().filter(|h| h.is_finished()).count();
    assert!(answered >= 27, "only {answered} heavy reads answered");
    blocker.release().await;
    let (mut served, mut shed) = (0, 0);
    for call in heavy {
        match call.await.unwrap() {
            Ok(answer) => {
                assert!(answer.into_inner().rollup.is_some());
                served += 1;
            }
            Err(status) => {
                assert_shed(&status);
                shed += 1;
            }
        }
    }
    assert!(served >= 1, "no heavy read was served");
    assert_eq!(served + shed, 32);
    assert!(shed >= 27, "{shed} shed");
}

/// 500 CreateCase and 500 GetRollup calls at once with at most 8 served and 16 queued:
/// the others are shed at once RESOURCE_EXHAUSTED with a retry delay; the calls let in are
/// served; every case answered as created is stored, once, and no other.
#[tokio::test]
async fn many_calls_at_once_are_queued_a_bounded_while_then_shed() {
    let Setup { app, url, .. } = &setup(|s| {
        s.limits.max_calls = 8;
        s.limits.max_queued = 16;
    })
    .await;
    // The writes wait on the test's lock for a while: the slots stay taken.
    let blocker = Blocker::hold(url, LOCK_RECORDS).await;
    let started = Instant::now();
    let mut calls = Vec::new();
    for (i, case) in cases("M", 500).into_iter().enumerate() {
        let mut cases = app.clients.cases.clone();
        calls.push(tokio::spawn(async move {
            let answer = cases
                .create_case(CreateCaseRequest {
                    case: Some(case),
                    request_id: String::new(),
                })
                .await;
            (answer.map(|_| true), started.elapsed())
        }));
        let mut reports = app.clients.reports.clone();
        calls.push(tokio::spawn(async move {
            let answer = reports.get_rollup(rollup()).await;
            (answer.map(|_| false), started.elapsed())
        }));
        if i == 250 {
            tokio::task::yield_now().await;
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    blocker.release().await;
    let (mut created, mut read, mut shed) = (0, 0, 0);
    for call in calls {
        let (answer, took) = call.await.unwrap();
        match answer {
            Ok(true) => created += 1,
            Ok(false) => read += 1,
            Err(status) => {
                assert_shed(&status);
                // Shed within the queue's wait of one second, not after a timeout.
                assert!(took < Duration::from_secs(3), "shed after {took:?}");
                shed += 1;
            }
        }
    }
    assert!(shed >= 900, "only {shed} of 1000 calls shed");
    assert!(created >= 1 && read >= 1, "{created} created, {read} read");
    assert_eq!(created + read + shed, 1000);
    assert_eq!(stored_cases(url).await, (created, created));
    // Once the load is gone, everything is served.
    national_rollup(&app.clients).await;
}

/// ImportCases streams that send a batch and then nothing: at most `--max-import-streams`
/// are let in (the rest are refused RESOURCE_EXHAUSTED), none holds a database connection
/// while it waits, cheap calls and Health keep answering, and an idle stream is closed
/// DEADLINE_EXCEEDED after the call timeout so that its slot comes free. Each batch let in is
/// stored once.
#[tokio::test]
async fn abandoned_import_streams_are_bounded_and_closed() {
    let Setup { app, url, .. } = &setup(|s| {
        s.limits.max_import_streams = 4;
        s.limits.call_timeout = Duration::from_secs(3);
    })
    .await;
    let mut streams = Vec::new();
    for i in 0..40 {
        let first = batch(1, cases(&format!("A{i}"), 1));
        streams.push(OpenImport::open(&app.own_clients(), first).await);
    }
    let mut open = Vec::new();
    for mut stream in streams {
        match stream.next().await {
            Ok(Some(ack)) => {
                assert_eq!(ack.created, 1);
                open.push(stream);
            }
            Err(status) => assert_shed(&status),
            Ok(None) => panic!("a stream ended without an answer"),
        }
    }
    assert_eq!(open.len(), 4);
    // The open streams hold no connection: the pool of 4 serves everyone else.
    for _ in 0..5 {
        national_rollup(&app.clients).await;
    }
    assert_eq!(health(&app.channel).await.unwrap(), ServingStatus::Serving);
    for mut stream in open {
        let status = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("an idle stream is closed")
            .expect_err("closed with an error");
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
        crate::assertions::assert_error_info(&status, "IDLE_STREAM");
    }
    let mut again = OpenImport::open(&app.clients, batch(1, cases("B", 1))).await;
    assert_eq!(again.next().await.unwrap().unwrap().created, 1);
    assert_eq!(stored_cases(url).await, (5, 5));
}

/// Eight ImportCases streams at once, each sending one batch of about 60 MB (10,000 cases whose
/// summaries are 2,000 Chinese characters, 6 kB each) to a server whose request byte budget
/// holds one of them (`--max-request-mb 64`): each stream is either acknowledged, its cases
/// stored, or shed RESOURCE_EXHAUSTED with a retry delay; at least one is stored; and the
/// server's peak memory grows by less than the eight messages' bytes. Held at once they take
/// far more (1.6 GB measured: each is read whole, decoded, then copied on its way to the
/// database, and storing one batch alone takes about 350 MB), and calls then time out.
#[tokio::test]
async fn request_bytes_in_flight_are_bounded() {
    const STREAMS: usize = 8;
    const CASES: usize = 10_000;
    let _turn = crate::one_at_a_time().await;
    let cluster = Cluster::start_new();
    let url = cluster.url("procura");
    let server = ServerProcess::start(&url, &["--max-request-mb", "64"]).await;
    let token = server.token();
    let summary = "案".repeat(2000);
    let batches: Vec<_> = (0..STREAMS)
        .map(|i| {
            let mut cases = cases(&format!("B{i}"), CASES);
            for case in &mut cases {
                case.summary.clone_from(&summary);
            }
            batch(1, cases)
        })
        .collect();
    // In MB of 10^6 bytes; the largest message the server takes is 64 MiB, 67.1 MB.
    let size = prost::Message::encoded_len(&batches[0]) / 1_000_000;
    assert!((60..67).contains(&size), "a batch of {size} MB");
    let before = server.peak_rss_mb();
    let streams: Vec<_> = batches
        .into_iter()
        .map(|batch| {
            let clients = Clients::new(&channel(server.addr), &token);
            tokio::spawn(async move {
                let mut stream = OpenImport::open(&clients, batch).await;
                stream.next().await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for stream in streams {
        let answer = tokio::time::timeout(Duration::from_secs(120), stream)
            .await
            .expect("every stream is answered")
            .unwrap();
        answers.push(answer);
    }
    let grown = server.peak_rss_mb().saturating_sub(before);
    let (mut stored, mut shed) = (0, 0);
    for answer in answers {
        match answer {
            Ok(Some(ack)) => {
                assert_eq!(ack.created as usize, CASES, "{ack:?}");
                stored += 1;
            }
            Ok(None) => panic!("a stream ended without an answer"),
            Err(status) => {
                assert_shed(&status);
                assert!(
                    status.message().contains("64 MB of request messages"),
                    "{status:?}"
                );
                shed += 1;
            }
        }
    }
    eprintln!("{stored} stored, {shed} shed; the server's peak RSS grew by {grown} MB");
    assert!(stored >= 1, "none stored");
    let cases_stored = i64::try_from(stored * CASES).unwrap();
    assert_eq!(stored_cases(&url).await, (cases_stored, cases_stored));
    let eight_messages = u64::try_from(STREAMS).unwrap() * size as u64;
    assert!(
        grown < eight_messages,
        "the server's peak RSS grew by {grown} MB for {STREAMS} messages of {size} MB"
    );
}

/// Calls shed while their callers are still sending them, tens of thousands on one HTTP/2
/// connection: each is answered RESOURCE_EXHAUSTED, and the connection stays open for the
/// others. (An answer that ends a stream before the whole request is in makes HTTP/2 reset the
/// stream; a late frame of a reset stream makes it reset the stream again, and after 1,024 of
/// those on one connection the server's HTTP/2 closes the connection as abusive, failing every
/// call on it with a transport error.)
#[tokio::test]
async fn calls_shed_mid_request_leave_the_connection_open() {
    let Setup { app, url, .. } = &setup(|s| {
        s.limits.max_calls = 1;
        s.limits.max_queued = 0;
    })
    .await;
    // The one slot stays taken by a heavy read waiting on the records.
    let blocker = Blocker::hold(url, LOCK_RECORDS).await;
    let mut reports = app.clients.reports.clone();
    let holder = tokio::spawn(async move { reports.get_rollup(rollup_as_of_now()).await });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", app.addr))
        .expect("an endpoint")
        .connect()
        .await
        .expect("a connection");
    let end = Instant::now() + Duration::from_secs(6);
    let callers: Vec<_> = (0..400)
        .map(|_| {
            let mut cases =
                procura_proto::v1::case_service_client::CaseServiceClient::new(channel.clone());
            tokio::spawn(async move {
                let (mut shed, mut other) = (0usize, None);
                while Instant::now() < end {
                    let request = procura_proto::v1::GetCaseRequest {
                        name: "cases/1".to_owned(),
                    };
                    match cases.get_case(request).await {
                        Err(status) if status.code() == Code::ResourceExhausted => {
                            assert_shed(&status);
                            shed += 1;
                        }
                        answer => {
                            other = Some(format!("{answer:?}"));
                            break;
                        }
                    }
                }
                (shed, other)
            })
        })
        .collect();
    let mut shed = 0;
    for caller in callers {
        let (count, other) = caller.await.unwrap();
        assert_eq!(other, None, "a call was not shed");
        shed += count;
    }
    assert!(shed >= 2_000, "only {shed} calls shed");
    blocker.release().await;
    holder.await.unwrap().expect("the heavy read is answered");
}
