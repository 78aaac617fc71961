//! What the fault tests share: holding a table locked, counting what is stored, the shape of a
//! shed call, import streams held open and the calls they make.

use std::time::Duration;

use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use procura_proto::v1::{
    Case, CreateCaseRequest, GetRollupRequest, ImportCasesRequest, ImportCasesResponse,
};
use tokio::sync::mpsc;
use tonic::{Code, Status, Streaming};
use tonic_types::StatusExt;

use crate::cluster::Cluster;
use crate::fixtures::{region, valid_case, year};
pub use crate::locks::{Blocker, until_waiting_on_locks};
use crate::server::{App, Clients};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// A test's own cluster with a server on it, stopped in this order when dropped; the test
/// holds its turn (one fault test at a time) meanwhile.
pub struct Setup {
    pub app: App,
    pub cluster: Cluster,
    /// The URL of the procura database on the cluster.
    pub url: String,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// Waits for this test's turn, starts a cluster of its own and a server on it (a pool of 4,
/// settings changed by `adjust`).
pub async fn setup(adjust: impl FnOnce(&mut procura_server::config::Settings)) -> Setup {
    let turn = crate::one_at_a_time().await;
    let cluster = Cluster::start_new();
    let url = cluster.url("procura");
    let app = crate::server::start(&url, None, adjust).await;
    Setup {
        app,
        cluster,
        url,
        _turn: turn,
    }
}

/// CreateCase of a valid case numbered `case_number` at 530102.
pub async fn create_case(clients: &Clients, case_number: &str) -> Result<(), Status> {
    let case = valid_case("530102", case_number);
    clients
        .cases
        .clone()
        .create_case(CreateCaseRequest {
            case: Some(case),
            request_id: String::new(),
        })
        .await
        .map(drop)
}

/// The one number `sql` (a query of one bigint column named `count`) gives on `url`.
pub async fn count(url: &str, sql: &str) -> i64 {
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    diesel::sql_query(sql)
        .get_result::<Count>(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .count
}

/// The cases stored, and how many distinct (region, case number) pairs they hold.
pub async fn stored_cases(url: &str) -> (i64, i64) {
    (
        count(url, "SELECT count(*) AS count FROM cases").await,
        count(
            url,
            "SELECT count(DISTINCT (region_code, case_number)) AS count FROM cases",
        )
        .await,
    )
}

/// Checks that `status` is load shed: RESOURCE_EXHAUSTED, reason OVERLOADED, with a retry
/// delay.
pub fn assert_shed(status: &Status) {
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    crate::assertions::assert_error_info(status, "OVERLOADED");
    let delay = status
        .get_error_details()
        .retry_info()
        .and_then(|r| r.retry_delay)
        .unwrap_or_else(|| panic!("no RetryInfo in {status:?}"));
    assert!(delay > Duration::ZERO, "{status:?}");
}

/// `count` valid cases numbered `{prefix}-0`, `{prefix}-1`, …
pub fn cases(prefix: &str, count: usize) -> Vec<Case> {
    (0..count)
        .map(|i| valid_case("530102", &format!("{prefix}-{i}")))
        .collect()
}

/// A national rollup of 2020 (counted from the kept totals).
pub fn rollup() -> GetRollupRequest {
    GetRollupRequest {
        region: region("000000"),
        period: year(2020),
        ..Default::default()
    }
}

/// The same rollup as of now: rebuilt from the records, a heavy read.
pub fn rollup_as_of_now() -> GetRollupRequest {
    let now = std::time::SystemTime::now();
    GetRollupRequest {
        as_of: Some(now.into()),
        ..rollup()
    }
}

/// The national rollup of 2020 from the kept totals, which must be answered.
pub async fn national_rollup(clients: &Clients) -> procura_proto::v1::Rollup {
    let answer = clients.reports.clone().get_rollup(rollup()).await;
    let answer = answer.unwrap_or_else(|s| panic!("a rollup from the kept totals failed: {s:?}"));
    answer.into_inner().rollup.expect("a rollup")
}

/// An ImportCases stream kept open by the test: batches go in through `send`.
pub struct OpenImport {
    batches: mpsc::Sender<ImportCasesRequest>,
    /// The acknowledgements; an error when the server refused the stream.
    pub acks: Result<Streaming<ImportCasesResponse>, Status>,
}

impl OpenImport {
    /// Opens a stream whose first batch is `first`.
    pub async fn open(clients: &Clients, first: ImportCasesRequest) -> OpenImport {
        let (batches, queued) = mpsc::channel(4);
        batches.send(first).await.unwrap();
        let mut cases = clients.cases.clone();
        let acks = cases
            .import_cases(tokio_stream::wrappers::ReceiverStream::new(queued))
            .await
            .map(tonic::Response::into_inner);
        OpenImport { batches, acks }
    }

    /// Sends another batch.
    pub async fn send(&self, batch: ImportCasesRequest) {
        self.batches.send(batch).await.unwrap();
    }

    /// The next acknowledgement, or the status the stream ended with.
    pub async fn next(&mut self) -> Result<Option<ImportCasesResponse>, Status> {
        match &mut self.acks {
            Ok(acks) => acks.message().await,
            Err(status) => Err(status.clone()),
        }
    }
}

/// Import batch `number` of `cases`.
pub fn batch(number: i64, cases: Vec<Case>) -> ImportCasesRequest {
    ImportCasesRequest {
        batch_number: number,
        cases,
    }
}
