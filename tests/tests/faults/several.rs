//! Several servers on one database: nothing is kept in a server that another needs. Two
//! servers take imports, single writes and corrections at once; afterwards every figure of
//! either equals the tests' own recount of the records, nothing is stored twice, and a page
//! token of one works on the other.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use procura_proto::v1::{
    CreateCaseRequest, CreateMeasureRequest, GetRollupRequest, ListCasesRequest, MeasureKind,
    RegionLevel, UpdateCaseRequest,
};
use procura_tests::recount;

use crate::fixtures::{date, measure, region, valid_case, year};
use crate::server::{self, Clients};
use crate::support::*;

/// Figures by (row, metric): (value, previous value), the zero rows left out.
type Figures = BTreeMap<(String, String), (i64, i64)>;

fn served(rollup: &procura_proto::v1::Rollup) -> Figures {
    let total = rollup
        .figures
        .iter()
        .map(|f| (("total".to_owned(), f.metric.clone()), f));
    let rows = rollup.rows.iter().flat_map(|row| {
        row.figures
            .iter()
            .map(|f| ((row.region.clone(), f.metric.clone()), f))
    });
    total
        .chain(rows)
        .map(|(key, f)| (key, (f.value, f.previous_value.unwrap_or(0))))
        .filter(|(key, values)| key.0 == "total" || *values != (0, 0))
        .collect()
}

async fn recounted(url: &str, code: &str, bucket_level: i16) -> Figures {
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let found = recount::recount(
        &mut conn,
        recount::Query {
            region: code,
            period: (day(2020, 1, 1), day(2020, 12, 31)),
            previous: (day(2019, 1, 1), day(2019, 12, 31)),
            bucket_level,
        },
    )
    .await
    .unwrap();
    let total = found
        .totals
        .into_iter()
        .map(|(metric, values)| (("total".to_owned(), metric), values));
    let rows = found.rows.into_iter().flat_map(|(code, figures)| {
        figures
            .into_iter()
            .map(move |(metric, values)| ((format!("regions/{code}"), metric), values))
    });
    total
        .chain(rows)
        .filter(|(key, values)| key.0 == "total" || *values != (0, 0))
        .collect()
}

/// The cases of 530102 numbered `{prefix}-0` … at counties of Kunming, Beijing and
/// Guangzhou in turn.
fn spread(prefix: &str, count: usize) -> Vec<procura_proto::v1::Case> {
    let counties = ["530102", "530103", "110101", "440103"];
    (0..count)
        .map(|i| valid_case(counties[i % 4], &format!("{prefix}-{i}")))
        .collect()
}

/// One server's share of the load: its own import and the import both send, single writes
/// (half of them with request ids the other server sends too), corrections of the accepted
/// date and measures sent through both.
async fn load(clients: Clients, me: usize) {
    let mut own = OpenImport::open(&clients, batch(1, spread(&format!("I{me}"), 300))).await;
    let mut shared = OpenImport::open(&clients, batch(1, spread("SHARED", 300))).await;
    own.send(batch(2, spread(&format!("J{me}"), 300))).await;
    for stream in [&mut own, &mut shared] {
        stream.next().await.unwrap().unwrap();
    }
    own.next().await.unwrap().unwrap();
    drop((own, shared));
    let mut cases = clients.cases.clone();
    for i in 0..40 {
        let (number, request_id, measure_id) = if i % 2 == 0 {
            let shared = |n: usize| uuid::Uuid::from_u128(n as u128);
            (format!("ONE-{i}"), shared(i + 1), shared(1000 + i))
        } else {
            let own = uuid::Uuid::new_v4;
            (format!("W{me}-{i}"), own(), own())
        };
        let case = cases
            .create_case(CreateCaseRequest {
                case: Some(valid_case("530102", &number)),
                request_id: request_id.to_string(),
            })
            .await
            .unwrap()
            .into_inner()
            .case
            .unwrap();
        // Moved to another month and given a measure: the same measure request through both
        // servers for the shared cases.
        // No etag: the other server may have moved a shared case already.
        let mut moved = case.clone();
        moved.etag = String::new();
        moved.accepted_on = Some(date(2020, 5, 1 + (i % 20) as i32));
        cases
            .update_case(UpdateCaseRequest {
                case: Some(moved),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["accepted_on".to_owned()],
                }),
                reason: "corrected".to_owned(),
            })
            .await
            .unwrap();
        cases
            .create_measure(CreateMeasureRequest {
                parent: case.name.clone(),
                measure: Some(measure(MeasureKind::Protest, date(2020, 6, 1))),
                request_id: measure_id.to_string(),
            })
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_keep_exact_figures() {
    let Setup {
        app: first, url, ..
    } = &setup(|_| {}).await;
    let second = server::start(url, Some(&first.token), |s| s.pool_max_size = 4).await;
    let both = [first.clients.clone(), second.clients.clone()];
    let loads: Vec<_> = both
        .iter()
        .enumerate()
        .map(|(me, clients)| tokio::spawn(load(clients.clone(), me)))
        .collect();
    for load in loads {
        load.await.unwrap();
    }
    // 2 × 600 own and 300 shared imported; 2 × 20 own and 20 shared single writes.
    let (stored, distinct) = stored_cases(url).await;
    assert_eq!(
        (stored, distinct),
        (1200 + 300 + 40 + 20, 1200 + 300 + 40 + 20)
    );
    let measures = count(url, "SELECT count(*) AS count FROM measures").await;
    assert_eq!(measures, 60);

    for (code, breakdown, level) in [
        ("000000", RegionLevel::Province, 2),
        ("530000", RegionLevel::County, 4),
    ] {
        let expected = recounted(url, code, level).await;
        for clients in &both {
            let rollup = clients
                .reports
                .clone()
                .get_rollup(GetRollupRequest {
                    region: region(code),
                    period: year(2020),
                    breakdown: breakdown as i32,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .rollup
                .unwrap();
            assert_eq!(served(&rollup), expected, "{code} by {breakdown:?}");
        }
    }

    // A listing begun on one server goes on on the other.
    let listing = |page_token: String| ListCasesRequest {
        region: region("530102"),
        page_size: 25,
        page_token,
        ..Default::default()
    };
    let mut names = Vec::new();
    let mut token = String::new();
    for page in 0.. {
        let clients = &both[page % 2];
        let answer = clients
            .cases
            .clone()
            .list_cases(listing(token))
            .await
            .unwrap()
            .into_inner();
        names.extend(answer.cases.into_iter().map(|c| c.name));
        token = answer.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    let at_530102 = count(
        url,
        "SELECT count(*) AS count FROM cases WHERE region_code = '530102'",
    )
    .await;
    assert_eq!(names.len() as i64, at_530102);
    names.sort();
    names.dedup();
    assert_eq!(names.len() as i64, at_530102, "a case listed twice");
}
