//! The `procura-server` binary's configuration (README, "Configuration"): `--listen`,
//! `--database-url` and `--pool-size`, or their environment variables `PROCURA_LISTEN`,
//! `DATABASE_URL` and `PROCURA_POOL_SIZE`. The server listens where it is told, stores in the
//! database it is given, opens no more connections than its pool allows, and refuses a value
//! it cannot use by naming the flag, with a failure exit.

use std::net::SocketAddr;
use std::time::Duration;

use procura_proto::v1::{CreateCaseRequest, GetRollupRequest, ListCasesRequest};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::*;

/// A port nothing listens on now (the kernel's pick for port 0, released again).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Waits until Health/Check at `addr` answers SERVING; panics with the server's stderr if it
/// exits or 60 s pass first.
pub(crate) async fn wait_until_serving(server: &mut ServerProcess, addr: SocketAddr) -> Channel {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = server.wait_for_exit(Duration::ZERO).await {
            panic!(
                "procura-server exited with {status} before serving on {addr}:\n{}",
                server.stderr()
            );
        }
        let endpoint = Endpoint::from_shared(format!("http://{addr}")).expect("an endpoint");
        if let Ok(channel) = endpoint.connect().await {
            let status = HealthClient::new(channel.clone())
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .map(|r| r.into_inner().status);
            if matches!(status, Ok(s) if s == ServingStatus::Serving as i32) {
                return channel;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "procura-server does not serve on {addr} after 60 s:\n{}",
            server.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Connections open to database `name`, counted from another database.
async fn connections_to(name: &str) -> usize {
    let sql =
        format!("SELECT count(*)::text AS value FROM pg_stat_activity WHERE datname = '{name}'");
    query_values(&database_url("postgres"), &sql).await[0]
        .parse()
        .expect("a count")
}

/// Drives the server at `channel` with `calls` concurrent writes and reads, and returns the
/// most connections seen open to its database meanwhile.
async fn busiest_connections(
    channel: &Channel,
    token: &str,
    database: &str,
    tag: &str,
    calls: usize,
) -> usize {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..calls {
        let channel = channel.clone();
        let token = token.to_owned();
        let number = format!("{tag}-{i}");
        tasks.spawn(async move {
            let mut cases = Clients::new(&channel, &token).cases;
            cases
                .create_case(CreateCaseRequest {
                    case: Some(valid_case("530102", &number)),
                    request_id: String::new(),
                })
                .await
                .unwrap_or_else(|s| panic!("CreateCase {number}: {s:?}"));
            let mut reports = Clients::new(&channel, &token).reports;
            reports
                .get_rollup(GetRollupRequest {
                    region: region("530000"),
                    period: year(2020),
                    as_of: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
                    ..Default::default()
                })
                .await
                .unwrap_or_else(|s| panic!("GetRollup: {s:?}"));
        });
    }
    let mut most = connections_to(database).await;
    while !tasks.is_empty() {
        most = most.max(connections_to(database).await);
        if let Some(done) = tasks.try_join_next() {
            done.expect("a call task");
        } else {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    most.max(connections_to(database).await)
}

/// Checks a server started on `addr` and `database`: it serves there, a case created through
/// it is in that database (read with SQL, not through the server), and under load it keeps
/// within `pool_size` connections plus its one GetCase reader connection and the health
/// check's.
async fn check_server(
    mut server: ServerProcess,
    addr: SocketAddr,
    database: &TestDatabase,
    pool_size: usize,
) {
    let channel = wait_until_serving(&mut server, addr).await;
    let number = format!("CONFIG-{}", database.name);
    let clients = Clients::new(&channel, &server.token());
    clients
        .cases
        .clone()
        .create_case(CreateCaseRequest {
            case: Some(valid_case("530102", &number)),
            request_id: String::new(),
        })
        .await
        .unwrap_or_else(|s| panic!("CreateCase on {addr}: {s:?}\n{}", server.stderr()));
    let stored = query_values(
        &database.url,
        "SELECT region_code || ' ' || case_number AS value FROM cases",
    )
    .await;
    assert_eq!(
        stored,
        [format!("530102 {number}")],
        "the cases in {}",
        database.name
    );
    let listed = clients
        .cases
        .clone()
        .list_cases(ListCasesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .cases;
    assert_eq!(listed.len(), 1);

    // As many heavy reads as calls (the flags say so), all waiting on the pool.
    let most = busiest_connections(&channel, &server.token(), &database.name, "LOAD", 48).await;
    assert!(
        most <= pool_size + 2,
        "{most} connections open to {} with a pool of {pool_size}, 1 reader connection and \
         the health check's",
        database.name
    );
    eprintln!("pool {pool_size}: at most {most} connections");
    drop(channel);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_listens_stores_and_pools_as_its_flags_say() {
    let database = fresh_database().await;
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let listen = addr.to_string();
    let server = ServerProcess::start(
        &[
            "--listen",
            &listen,
            "--database-url",
            &database.url,
            "--pool-size",
            "2",
            "--reader-connections",
            "1",
            "--max-heavy-calls",
            "48",
        ],
        &[],
    );
    check_server(server, addr, &database, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_listens_stores_and_pools_as_its_environment_says() {
    let database = fresh_database().await;
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let listen = addr.to_string();
    let server = ServerProcess::start(
        &[],
        &[
            ("PROCURA_LISTEN", &listen),
            ("DATABASE_URL", &database.url),
            ("PROCURA_POOL_SIZE", "2"),
            ("PROCURA_READER_CONNECTIONS", "1"),
            ("PROCURA_MAX_HEAVY_CALLS", "48"),
        ],
    );
    check_server(server, addr, &database, 2).await;
}

/// Starts the server with `args` and `env` (besides a free `--listen` port and a database URL
/// naming a database that does not exist, unless given), and expects it to refuse: a failure
/// exit within 30 s, its stderr naming `flag` and `value`, and no database created. Returns
/// the stderr.
pub(crate) async fn assert_refused(
    args: &[&str],
    env: &[(&str, &str)],
    flag: &str,
    value: &str,
) -> String {
    let missing = format!(
        "procura_test_{}_refused_{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    let url = database_url(&missing);
    let listen = format!("127.0.0.1:{}", free_port());
    let mut all: Vec<&str> = args.to_vec();
    let gives = |name: &str, variable: &str| {
        args.contains(&name) || env.iter().any(|(n, _)| *n == variable)
    };
    if !gives("--listen", "PROCURA_LISTEN") {
        all.extend(["--listen", &listen]);
    }
    if !gives("--database-url", "DATABASE_URL") {
        all.extend(["--database-url", &url]);
    }
    let mut server = ServerProcess::start(&all, env);
    let status = server.wait_for_exit(Duration::from_secs(30)).await;
    let stderr = server.stderr();
    let status = status.unwrap_or_else(|| {
        panic!("procura-server {all:?} with {env:?} is still running after 30 s:\n{stderr}")
    });
    assert!(
        !status.success(),
        "{all:?} with {env:?} exits with {status}:\n{stderr}"
    );
    assert!(
        status.code().is_some(),
        "{all:?} with {env:?} was killed: {status}"
    );
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains(&format!("'{flag} ")) && first.contains(&format!("'{value}'")),
        "{all:?} with {env:?}: the first line names {flag} and {value:?}:\n{stderr}"
    );
    let created = query_values(
        &database_url("postgres"),
        &format!("SELECT datname AS value FROM pg_database WHERE datname = '{missing}'"),
    )
    .await;
    assert_eq!(
        created,
        Vec::<String>::new(),
        "{all:?} created its database"
    );
    stderr
}

#[tokio::test]
async fn the_server_refuses_a_pool_size_or_address_it_cannot_use() {
    assert_refused(&["--pool-size", "two"], &[], "--pool-size", "two").await;
    assert_refused(&["--pool-size=-1"], &[], "--pool-size", "-1").await;
    assert_refused(&[], &[("PROCURA_POOL_SIZE", "two")], "--pool-size", "two").await;
    assert_refused(&["--listen", "nowhere"], &[], "--listen", "nowhere").await;
    // A host name gets the flag written out as it should be.
    let stderr = assert_refused(&["--listen", "localhost"], &[], "--listen", "localhost").await;
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains("not an IP address and a port")
            && first.contains("e.g. --listen 127.0.0.1:50051"),
        "--listen localhost: the message says what is wrong, with an example:\n{stderr}"
    );
    assert_refused(
        &[],
        &[("PROCURA_LISTEN", "nowhere:1")],
        "--listen",
        "nowhere:1",
    )
    .await;
}
