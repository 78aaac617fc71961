//! SIGTERM with calls open: the server drains for at most `--shutdown-grace`, then answers
//! what is still open UNAVAILABLE and exits; a second signal exits at once.

use std::time::{Duration, Instant};

use tonic::Code;

use crate::cluster::Cluster;
use crate::one_at_a_time;
use crate::server::{Clients, ServerProcess, channel};
use crate::support::*;

/// An import stream left open, idle, after its first batch was acknowledged.
async fn idle_import(server: &ServerProcess) -> OpenImport {
    let clients = Clients::new(&channel(server.addr), &server.token());
    let mut stream = OpenImport::open(&clients, batch(1, cases("S", 3))).await;
    assert_eq!(stream.next().await.unwrap().unwrap().created, 3);
    stream
}

/// SIGTERM while an import stream is open and idle: after the grace (2 s here) the stream is
/// answered UNAVAILABLE (`SHUTTING_DOWN`, which the CLI resumes from elsewhere) and the
/// server exits with success; the acknowledged batch stays stored.
#[tokio::test]
async fn sigterm_drains_within_the_grace_then_ends_open_streams_unavailable() {
    let _turn = one_at_a_time().await;
    let cluster = Cluster::start_new();
    let url = cluster.url("procura");
    let mut server = ServerProcess::start(&url, &["--shutdown-grace", "2s"]).await;
    let mut stream = idle_import(&server).await;
    let signalled = Instant::now();
    server.signal("TERM");
    let status = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the open stream is answered")
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    crate::assertions::assert_error_info(&status, "SHUTTING_DOWN");
    let waited = signalled.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(5),
        "answered {waited:?} after SIGTERM"
    );
    let exit = server.exited_within(Duration::from_secs(5)).await;
    assert!(
        exit.is_some_and(|s| s.success()),
        "{exit:?}\n{}",
        server.stderr()
    );
    assert_eq!(stored_cases(&url).await, (3, 3));
}

/// A second signal during the drain stops the server at once.
#[tokio::test]
async fn a_second_signal_stops_the_server_at_once() {
    let _turn = one_at_a_time().await;
    let cluster = Cluster::start_new();
    let url = cluster.url("procura");
    let mut server = ServerProcess::start(&url, &["--shutdown-grace", "60s"]).await;
    let _stream = idle_import(&server).await;
    server.signal("TERM");
    assert!(
        server.exited_within(Duration::from_secs(1)).await.is_none(),
        "the server waits for the open stream"
    );
    server.signal("INT");
    let exit = server.exited_within(Duration::from_secs(3)).await;
    assert!(exit.is_some(), "still running:\n{}", server.stderr());
}
