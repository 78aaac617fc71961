//! The totals kept up to date (`figure_totals`, and `listing_totals` for the distinct listing
//! batches): how writes change them and how rollups read them. Every write adds the difference
//! between a case's contributions after and before it, in the same transaction, so the totals
//! always equal a plain aggregate over the records.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use chrono::{Months, NaiveDate};
use diesel::QueryableByName;
use diesel::result::QueryResult;
use diesel::sql_types::{Array, BigInt, Date, Integer, Nullable, SmallInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::rollup::{BucketTally, RollupQuery};
#[cfg(test)]
use crate::domain::metric::METRICS;
use crate::domain::metric::STORED;
use crate::domain::metric::index::AID_AMOUNT_FEN;
use crate::domain::period::Grain;
use crate::domain::record::Case;
use crate::domain::region::NATIONAL;

mod pending;
pub use pending::by_age as pending_by_age;

/// Largest number of rows written by one upsert statement.
const UPSERT_CHUNK: usize = 20_000;

/// The key of a totals row: which bucket of which region's rows it holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    /// The bucket's [`Grain`], as stored.
    grain: i16,
    /// The first day of the bucket.
    bucket: NaiveDate,
    /// The region code of the procuratorate (own rows) or province (subtree rows).
    region: String,
    /// [`SCOPE_OWN`] or [`SCOPE_PROVINCE`].
    scope: i16,
}

/// A row of `listing_totals`: a totals key and a listing batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ListingKey {
    key: Key,
    batch: i32,
}

/// The changes to one totals row, one per stored figure. Boxed: an import batch changes many
/// rows, and hashing and sorting them moves a pointer instead of the whole array.
type Values = Box<[i64; STORED.len()]>;

/// Scope of a totals row: the records of the procuratorate at its region.
pub const SCOPE_OWN: i16 = 0;
/// Scope of a totals row: the whole subtree of the province at its region (year and month
/// buckets only).
pub const SCOPE_PROVINCE: i16 = 2;

/// The province whose subtree holds `code` (GB/T 2260: the first two digits), none for the
/// nation.
fn province_of(code: &str) -> Option<String> {
    match code.get(..2) {
        Some("00") | None => None,
        Some(prefix) => Some(format!("{prefix}0000")),
    }
}

/// The first day counted by the bucket part of a [`packed_key`].
const KEY_EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).expect("a valid date");

/// The key of a `figure_totals` row (migration 000008, as its `procura_totals_key`):
/// `grain << 46 | days from 1900-01-01 to the bucket << 24 | scope << 20 | region code`. Its
/// order is that of (grain, bucket, scope, region). An error for what does not fit: a date
/// before 1900, a region code that is not six digits (as none of the region tree is).
fn packed_key(
    Key {
        grain,
        bucket,
        region,
        scope,
    }: &Key,
) -> Result<i64, String> {
    let days = bucket.signed_duration_since(KEY_EPOCH).num_days();
    // Six digits, so that no two codes share a number.
    let code: i64 = Some(region)
        .filter(|r| r.len() == 6 && r.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|r| r.parse().ok())
        .ok_or_else(|| format!("region code {region:?} is not six digits"))?;
    if !(0..1 << 22).contains(&days) || !(0..1 << 20).contains(&code) || !(0..16).contains(scope) {
        return Err(format!(
            "totals row ({grain}, {bucket}, {scope}, {region}) has no key"
        ));
    }
    Ok(i64::from(*grain) << 46 | days << 24 | i64::from(*scope) << 20 | code)
}

/// The grains of a procuratorate's own rows. There are no own year rows: a year of one
/// procuratorate is read as its twelve month rows, which costs a rollup a few more rows and
/// saves every write the year row it would move (the year rows of a batch are the rows its
/// writers share most after the province rows).
pub const OWN_GRAINS: [Grain; 2] = [Grain::Month, Grain::Day];

/// The grains of a province's subtree rows.
pub const PROVINCE_GRAINS: [Grain; 2] = [Grain::Year, Grain::Month];

/// The totals rows a contribution on `date` by the procuratorate at `region` moves: its own
/// month and day rows ([`OWN_GRAINS`]), and its province's year and month rows
/// ([`PROVINCE_GRAINS`]).
fn keys_of<'a>(
    region: &'a str,
    province: Option<&'a str>,
    date: NaiveDate,
) -> impl Iterator<Item = Key> + 'a {
    let key = move |grain: Grain, region: &str, scope: i16| Key {
        grain: grain as i16,
        bucket: grain.bucket(date),
        region: region.to_owned(),
        scope,
    };
    let own = OWN_GRAINS
        .into_iter()
        .map(move |grain| key(grain, region, SCOPE_OWN));
    let subtree = province.into_iter().flat_map(move |province| {
        PROVINCE_GRAINS
            .into_iter()
            .map(move |grain| key(grain, province, SCOPE_PROVINCE))
    });
    own.chain(subtree)
}

/// Changes to the kept totals (`figure_totals`, by (grain, bucket, region, scope)) and to the
/// listed cases per listing batch (`listing_totals`, by the same key and the batch).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Deltas {
    figures: HashMap<Key, Values>,
    listings: HashMap<ListingKey, i64>,
    pending: pending::Changes,
}

impl Deltas {
    /// No change.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (`sign` = 1) or takes away (`sign` = -1) everything `state` contributes.
    pub fn add_state(&mut self, state: &Case, sign: i64) {
        let province = province_of(state.region_code.as_str());
        let province = province.as_deref();
        for c in state.contributions() {
            let Some(position) = STORED.iter().position(|i| *i == c.metric) else {
                continue;
            };
            for key in keys_of(state.region_code.as_str(), province, c.date) {
                self.figures
                    .entry(key)
                    .or_insert_with(|| Box::new([0; STORED.len()]))[position] += sign * c.amount;
            }
        }
        if let Some(batch) = state.listing_batch() {
            for key in keys_of(state.region_code.as_str(), province, state.accepted_on) {
                *self.listings.entry(ListingKey { key, batch }).or_insert(0) += sign;
            }
        }
        pending::add_state(&mut self.pending, state, sign);
    }

    /// The change from `before` (none for a new case) to `after` (none for a removed one).
    pub fn change(&mut self, before: Option<&Case>, after: Option<&Case>) {
        if let Some(before) = before {
            self.add_state(before, -1);
        }
        if let Some(after) = after {
            self.add_state(after, 1);
        }
    }
}

/// The order in which writers lock totals rows, least shared first: every procuratorate's own
/// day rows (two batches of an import rarely share one), then its month rows, then the
/// province rows, which every batch shares (and after them the nation's pending counts, in
/// their key order: [`Ordered::apply_shared`]). A writer that meets a row another holds waits for that one's commit, so the later a shared
/// row is locked, the less two writers wait for each other. One order for all writers: no
/// deadlocks.
fn lock_order(key: &Key) -> (bool, std::cmp::Reverse<i16>, NaiveDate, &str) {
    (
        key.scope == SCOPE_PROVINCE,
        std::cmp::Reverse(key.grain),
        key.bucket,
        key.region.as_str(),
    )
}

/// The non-zero entries of `map`, sorted by their keys with `order`.
fn nonzero<K, V>(
    map: HashMap<K, V>,
    order: impl Fn(&K, &K) -> std::cmp::Ordering,
    is_zero: impl Fn(&V) -> bool,
) -> Vec<(K, V)> {
    let mut rows: Vec<_> = map.into_iter().filter(|(_, v)| !is_zero(v)).collect();
    rows.sort_by(|a, b| order(&a.0, &b.0));
    rows
}

/// Adds `deltas` to the kept totals: the procuratorates' own rows of both tables, then the
/// province rows of both, each table's rows in [`lock_order`].
pub async fn apply(conn: &mut AsyncPgConnection, deltas: Deltas) -> QueryResult<()> {
    let ordered = deltas.ordered();
    ordered.apply_own(conn).await?;
    ordered.apply_shared(conn).await
}

/// [`Deltas`] sorted for writing: the procuratorates' own rows first, then the province rows,
/// which every batch of an import shares. A writer applies the own rows, may write other
/// things, and applies the shared rows last, just before it commits, so that it holds their
/// locks for as short a time as it can.
pub struct Ordered {
    figures: Vec<(Key, Values)>,
    listings: Vec<(ListingKey, i64)>,
    /// The nation's pending counts: shared by every writer, written last.
    pending: Vec<(pending::Key, i64)>,
    shared_figures: usize,
    shared_listings: usize,
}

impl Deltas {
    /// The non-zero changes, in [`lock_order`].
    pub fn ordered(self) -> Ordered {
        let figures = nonzero(
            self.figures,
            |a, b| lock_order(a).cmp(&lock_order(b)),
            |values| values.iter().all(|v| *v == 0),
        );
        let listings = nonzero(
            self.listings,
            |a, b| (lock_order(&a.key), a.batch).cmp(&(lock_order(&b.key), b.batch)),
            |count| *count == 0,
        );
        let pending = nonzero(self.pending, Ord::cmp, |count| *count == 0);
        let shared_figures = figures.partition_point(|(key, _)| key.scope != SCOPE_PROVINCE);
        let shared_listings =
            listings.partition_point(|(listing, _)| listing.key.scope != SCOPE_PROVINCE);
        Ordered {
            figures,
            listings,
            pending,
            shared_figures,
            shared_listings,
        }
    }
}

impl Ordered {
    /// Adds the changes to the procuratorates' own rows.
    pub async fn apply_own(&self, conn: &mut AsyncPgConnection) -> QueryResult<()> {
        upsert_figures(conn, &self.figures[..self.shared_figures]).await?;
        upsert_listings(conn, &self.listings[..self.shared_listings]).await
    }

    /// Adds the changes to the province rows and the nation's pending counts; the last write
    /// of a transaction.
    pub async fn apply_shared(&self, conn: &mut AsyncPgConnection) -> QueryResult<()> {
        upsert_figures(conn, &self.figures[self.shared_figures..]).await?;
        upsert_listings(conn, &self.listings[self.shared_listings..]).await?;
        pending::apply(conn, &self.pending).await
    }
}

/// Whether the changes of a totals row are logged (`figure_totals_log`, `listing_totals_log`;
/// migration 000012): the province subtree rows and the national procuratorate's own rows,
/// which a national rollup reads for whole months. Each is shared by every writer of its
/// province, so a write logs one row per shared row it moves, and the figures as of a moment
/// are the live rows less the changes logged since ([`logged_since`]).
fn logged(scope: i16, region: &str) -> bool {
    scope == SCOPE_PROVINCE || region == NATIONAL
}

/// Adds changes to `figure_totals` rows (see the statement).
const UPSERT_FIGURES: &str = include_str!("upsert.sql");

/// Adds changes to `listing_totals` rows (see the statement).
const UPSERT_LISTINGS: &str = include_str!("upsert_listings.sql");

/// Logs changes of `figure_totals` rows to `figure_totals_log`, bound as [`UPSERT_FIGURES`]:
/// its insert without the conflict clause, into the log, whose `xid` is the writer's.
static LOG_FIGURES: LazyLock<String> =
    LazyLock::new(|| log_statement(UPSERT_FIGURES, "figure_totals AS t", "figure_totals_log"));

/// Logs changes of `listing_totals` rows to `listing_totals_log`, as [`LOG_FIGURES`].
static LOG_LISTINGS: LazyLock<String> =
    LazyLock::new(|| log_statement(UPSERT_LISTINGS, "listing_totals AS t", "listing_totals_log"));

/// The insert of `upsert` into `log` instead of `table`, without its conflict clause.
fn log_statement(upsert: &str, table: &str, log: &str) -> String {
    let insert = upsert
        .split_once("ON CONFLICT")
        .map_or(upsert, |(insert, _)| insert);
    insert.replace(
        &format!("INSERT INTO {table} "),
        &format!("INSERT INTO {log} "),
    )
}

async fn upsert_figures(conn: &mut AsyncPgConnection, rows: &[(Key, Values)]) -> QueryResult<()> {
    for chunk in rows.chunks(UPSERT_CHUNK) {
        write_figures(conn, UPSERT_FIGURES, chunk.iter()).await?;
        crate::metrics::kept_totals_written("figure_totals", chunk.len());
        let shared = chunk
            .iter()
            .filter(|(key, _)| logged(key.scope, &key.region));
        let count = shared.clone().count();
        if count > 0 {
            write_figures(conn, &LOG_FIGURES, shared).await?;
            crate::metrics::kept_totals_written("figure_totals_log", count);
        }
    }
    Ok(())
}

/// Runs `sql` ([`UPSERT_FIGURES`] or [`LOG_FIGURES`]) with `rows` bound as their keys and one array per
/// stored figure.
async fn write_figures<'a>(
    conn: &mut AsyncPgConnection,
    sql: &str,
    rows: impl Iterator<Item = &'a (Key, Values)> + Clone,
) -> QueryResult<()> {
    let keys = rows
        .clone()
        .map(|(key, _)| packed_key(key))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| diesel::result::Error::SerializationError(e.into()))?;
    let mut query = diesel::sql_query(sql.to_owned())
        .into_boxed()
        .bind::<Array<BigInt>, _>(keys);
    for (position, metric) in STORED.iter().enumerate() {
        // No change is sent as NULL, which the upsert leaves as it is (a zero is kept NULL).
        let values = rows
            .clone()
            .map(|(_, values)| Some(values[position]).filter(|v| *v != 0));
        query = if *metric == AID_AMOUNT_FEN {
            query.bind::<Array<Nullable<BigInt>>, _>(values.collect::<Vec<_>>())
        } else {
            // Counts: less to send and parse than as bigint.
            let counts = values
                .map(|v| v.map(i32::try_from).transpose())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
            query.bind::<Array<Nullable<Integer>>, _>(counts)
        };
    }
    query.execute(conn).await?;
    Ok(())
}

async fn upsert_listings(
    conn: &mut AsyncPgConnection,
    rows: &[(ListingKey, i64)],
) -> QueryResult<()> {
    for chunk in rows.chunks(UPSERT_CHUNK) {
        write_listings(conn, UPSERT_LISTINGS, chunk.iter()).await?;
        crate::metrics::kept_totals_written("listing_totals", chunk.len());
        let shared = chunk
            .iter()
            .filter(|(k, _)| logged(k.key.scope, &k.key.region));
        let count = shared.clone().count();
        if count > 0 {
            write_listings(conn, &LOG_LISTINGS, shared).await?;
            crate::metrics::kept_totals_written("listing_totals_log", count);
        }
    }
    Ok(())
}

/// Runs `sql` ([`UPSERT_LISTINGS`] or [`LOG_LISTINGS`]) with `rows` bound column by column.
async fn write_listings<'a>(
    conn: &mut AsyncPgConnection,
    sql: &str,
    rows: impl Iterator<Item = &'a (ListingKey, i64)> + Clone,
) -> QueryResult<()> {
    let column = |f: fn(&ListingKey) -> i16| rows.clone().map(|(k, _)| f(k)).collect::<Vec<_>>();
    diesel::sql_query(sql.to_owned())
        .bind::<Array<SmallInt>, _>(column(|k| k.key.grain))
        .bind::<Array<Date>, _>(rows.clone().map(|(k, _)| k.key.bucket).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(
            rows.clone()
                .map(|(k, _)| k.key.region.as_str())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<SmallInt>, _>(column(|k| k.key.scope))
        .bind::<Array<Integer>, _>(rows.clone().map(|(k, _)| k.batch).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(rows.map(|(_, cases)| *cases).collect::<Vec<_>>())
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(QueryableByName)]
struct SummedRow {
    #[diesel(sql_type = Text)]
    bucket_region: String,
    #[diesel(sql_type = SmallInt)]
    side: i16,
    #[diesel(sql_type = Array<BigInt>)]
    figures: Vec<i64>,
}

#[derive(QueryableByName)]
struct BatchRow {
    #[diesel(sql_type = Text)]
    bucket_region: String,
    #[diesel(sql_type = SmallInt)]
    side: i16,
    #[diesel(sql_type = Integer)]
    batch: i32,
    #[diesel(sql_type = BigInt)]
    cases: i64,
}

/// A totals row key a rollup reads, without its bucket: (region, bucket region, scope).
pub type Member<'a> = (&'a str, &'a str, i16);

/// A time bucket a rollup reads: (grain, bucket start, side: 0 the period, 1 the comparison).
type Tile = (i16, NaiveDate, i16);

/// The totals rows a rollup reads, by the members whose rows it reads for each kind of bucket.
#[derive(Debug, Default)]
pub struct ReadPlan<'a> {
    /// Province subtree rows ([`SCOPE_PROVINCE`]) read for year and month buckets.
    pub subtrees: Vec<Member<'a>>,
    /// Procuratorates' own rows read for year and month buckets (a year as its months:
    /// [`OWN_GRAINS`]); none: the same as `fine`, read in one query with the day buckets.
    pub coarse: Option<Vec<Member<'a>>>,
    /// Procuratorates' own rows read for day buckets.
    pub fine: Vec<Member<'a>>,
}

/// Finds the rows of `{table}` for tiles × members by (grain, bucket), keeping the members'
/// rows: one index range per tile, the better way when the members are most of the regions.
const SCAN: &str =
    "FROM unnest($3::smallint[], $4::date[], $5::smallint[]) AS p (grain, bucket, side)
JOIN {table} t ON t.grain = p.grain AND t.bucket = p.bucket
JOIN unnest($1::text[], $2::text[], $6::smallint[]) AS m (code, bucket_region, scope)
  ON m.code = t.region_code AND m.scope = t.scope";

/// Finds the rows of `{table}` for tiles × members by their whole key: one index probe per
/// tile and member, so that reading 31 province rows does not scan the rows of every
/// procuratorate in the bucket (`OFFSET 0` keeps PostgreSQL from turning it back into a scan).
const PROBE: &str =
    "FROM unnest($3::smallint[], $4::date[], $5::smallint[]) AS p (grain, bucket, side)
CROSS JOIN unnest($1::text[], $2::text[], $6::smallint[]) AS m (code, bucket_region, scope)
CROSS JOIN LATERAL (
    SELECT * FROM {table} t
    WHERE t.grain = p.grain AND t.bucket = p.bucket AND t.scope = m.scope AND t.region_code = m.code
    OFFSET 0
) t";

/// [`SCAN`] for `figure_totals`, whose rows are found by their key (migration 000008): one key
/// range per tile, its rows matched to the members by the low 24 bits of the key.
const SCAN_KEYED: &str =
    "FROM unnest($3::smallint[], $4::date[], $5::smallint[]) AS p (grain, bucket, side)
JOIN {table} t ON t.key BETWEEN procura_totals_key(p.grain, p.bucket, 0::smallint, '0')
                        AND procura_totals_key(p.grain, p.bucket, 15::smallint, '1048575')
JOIN unnest($1::text[], $2::text[], $6::smallint[]) AS m (code, bucket_region, scope)
  ON t.key & 16777215 = procura_totals_key(0::smallint, date '1900-01-01', m.scope, m.code)";

/// [`PROBE`] for `figure_totals`: one probe of its key per tile and member.
const PROBE_KEYED: &str =
    "FROM unnest($3::smallint[], $4::date[], $5::smallint[]) AS p (grain, bucket, side)
CROSS JOIN unnest($1::text[], $2::text[], $6::smallint[]) AS m (code, bucket_region, scope)
CROSS JOIN LATERAL (
    SELECT * FROM {table} t
    WHERE t.key = procura_totals_key(p.grain, p.bucket, m.scope, m.code)
    OFFSET 0
) t";

/// Probes up to this many members; scans for more (a bucket holds a row for each of about
/// 3,300 procuratorates and 31 provinces).
const PROBE_MEMBERS: usize = 400;

/// A totals table as rollups read it: the statement (`read.sql` or `read_listings.sql`) and
/// the two ways of finding its rows, [`PROBE`]-like and [`SCAN`]-like.
struct TotalsRead {
    read: &'static str,
    table: &'static str,
    probe: &'static str,
    scan: &'static str,
    /// A log: only the changes a snapshot had not seen ([`UNSEEN`]), found by probe.
    unseen: bool,
}

/// `figure_totals`, found by its bigint key (migration 000008).
const FIGURES: TotalsRead = TotalsRead {
    read: include_str!("read.sql"),
    table: "figure_totals",
    probe: PROBE_KEYED,
    scan: SCAN_KEYED,
    unseen: false,
};

/// `listing_totals`, found by its (grain, bucket, scope, region_code, batch) key.
const LISTINGS: TotalsRead = TotalsRead {
    read: include_str!("read_listings.sql"),
    table: "listing_totals",
    probe: PROBE,
    scan: SCAN,
    unseen: false,
};

/// What [`PROBE`]-like row finding adds for a log (`figure_totals_log`, `listing_totals_log`):
/// only the changes of transactions the snapshot `$7` had not seen (the index on the key and
/// xid finds those after its xmin).
const UNSEEN: &str = "
      AND t.xid >= pg_snapshot_xmin($7::text::pg_snapshot)
      AND NOT pg_visible_in_snapshot(t.xid, $7::text::pg_snapshot)
    OFFSET 0";

/// The changes logged to `figure_totals` rows, read as the rows themselves are; only logged
/// rows ([`logged`]) are read this way, at most one per province and the nation per tile, so
/// always by probe.
const FIGURES_LOG: TotalsRead = TotalsRead {
    table: "figure_totals_log",
    scan: PROBE_KEYED,
    unseen: true,
    ..FIGURES
};

/// The changes logged to `listing_totals` rows, as [`FIGURES_LOG`].
const LISTINGS_LOG: TotalsRead = TotalsRead {
    table: "listing_totals_log",
    scan: PROBE,
    unseen: true,
    ..LISTINGS
};

/// The statement of `source`, finding rows the cheaper way for `members` members.
fn read_sql(source: &TotalsRead, members: usize) -> String {
    let rows = if members <= PROBE_MEMBERS {
        source.probe
    } else {
        source.scan
    };
    let rows = rows.replace("{table}", source.table);
    let rows = if source.unseen {
        rows.replace("\n    OFFSET 0", UNSEEN)
    } else {
        rows
    };
    source.read.replace("{rows}", &rows)
}

/// Runs the statement of `source` for the rows of `members` in `tiles`; `since`, the
/// snapshot whose unseen changes a log source reads.
async fn read_rows<Row>(
    conn: &AsyncPgConnection,
    source: &TotalsRead,
    members: &[Member<'_>],
    tiles: &[Tile],
    since: Option<&str>,
) -> QueryResult<Vec<Row>>
where
    Row: QueryableByName<diesel::pg::Pg> + Send + 'static,
{
    if tiles.is_empty() || members.is_empty() {
        return Ok(Vec::new());
    }
    let query = diesel::sql_query(read_sql(source, members.len()))
        .into_boxed()
        .bind::<Array<Text>, _>(members.iter().map(|m| m.0).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(members.iter().map(|m| m.1).collect::<Vec<_>>())
        .bind::<Array<SmallInt>, _>(tiles.iter().map(|t| t.0).collect::<Vec<_>>())
        .bind::<Array<Date>, _>(tiles.iter().map(|t| t.1).collect::<Vec<_>>())
        .bind::<Array<SmallInt>, _>(tiles.iter().map(|t| t.2).collect::<Vec<_>>())
        .bind::<Array<SmallInt>, _>(members.iter().map(|m| m.2).collect::<Vec<_>>());
    let query = match since {
        Some(snapshot) => query.bind::<Text, _>(snapshot.to_owned()),
        None => query,
    };
    query.load(&mut { conn }).await
}

/// Every figure of the subtree per bucket region, read from the kept totals: the rows read
/// depend on the regions and the period, not on the number of records.
pub async fn by_bucket(
    conn: &mut AsyncPgConnection,
    q: RollupQuery<'_>,
    plan: &ReadPlan<'_>,
) -> QueryResult<BTreeMap<String, BucketTally>> {
    sum_reads(conn, &reads(q, plan), [&FIGURES, &LISTINGS], None).await
}

/// What the changes to the rows `plan` reads that the snapshot `snapshot` had not seen added
/// to each bucket region (from the log, in the caller's snapshot), so that the figures as of
/// it are [`by_bucket`]'s less these. `None` when the plan reads rows whose changes are not
/// logged ([`logged`]), or the log does not reach back to the snapshot (it began with
/// migration 000012).
pub async fn logged_since(
    conn: &mut AsyncPgConnection,
    q: RollupQuery<'_>,
    plan: &ReadPlan<'_>,
    snapshot: &str,
) -> QueryResult<Option<BTreeMap<String, BucketTally>>> {
    let reads = reads(q, plan);
    let all_logged = reads.iter().all(|(members, tiles)| {
        tiles.is_empty() || members.iter().all(|(code, _, scope)| logged(*scope, code))
    });
    if !all_logged || !log_reaches(conn, snapshot).await? {
        return Ok(None);
    }
    sum_reads(conn, &reads, [&FIGURES_LOG, &LISTINGS_LOG], Some(snapshot))
        .await
        .map(Some)
}

/// Whether the log holds every change `snapshot` had not seen: it saw the transaction that
/// began the log.
async fn log_reaches(conn: &mut AsyncPgConnection, snapshot: &str) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Reaches {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        reaches: bool,
    }
    let found: Vec<Reaches> = diesel::sql_query(
        "SELECT pg_visible_in_snapshot(xid, $1::text::pg_snapshot) AS reaches FROM totals_log_start",
    )
    .bind::<Text, _>(snapshot)
    .load(conn)
    .await?;
    Ok(found.iter().any(|r| r.reaches))
}

/// The reads of a rollup: each kind of member with the tiles (grain, bucket start, side) of
/// both periods it is read for.
fn reads<'p, 'r>(q: RollupQuery<'_>, plan: &'p ReadPlan<'r>) -> Vec<(&'p [Member<'r>], Vec<Tile>)> {
    // Tiles (grain, bucket start, side) of both periods, as each kind of member reads them.
    let mut coarse = Vec::new();
    let mut own_coarse = Vec::new();
    let mut fine = Vec::new();
    for (side, span) in [(0i16, q.period), (1i16, q.previous)] {
        for (grain, start) in span.tiles() {
            match grain {
                Grain::Day => fine.push((grain as i16, start, side)),
                Grain::Month => {
                    coarse.push((grain as i16, start, side));
                    own_coarse.push((grain as i16, start, side));
                }
                Grain::Year => {
                    coarse.push((grain as i16, start, side));
                    own_coarse.extend((0..12).filter_map(|m| {
                        let month = start.checked_add_months(Months::new(m))?;
                        Some((Grain::Month as i16, month, side))
                    }));
                }
            }
        }
    }
    // Members read for the same tiles go in one query: the procuratorates' own rows of a
    // subtree are usually read both for months and for days.
    let mut reads: Vec<(&'p [Member<'r>], Vec<Tile>)> = vec![(&plan.subtrees, coarse)];
    match &plan.coarse {
        None => {
            own_coarse.extend(fine);
            reads.push((&plan.fine, own_coarse));
        }
        Some(members) => {
            reads.push((members, own_coarse));
            reads.push((&plan.fine, fine));
        }
    }
    reads
}

/// Sums the rows of `sources` (figures, listings) for `reads` per bucket region.
async fn sum_reads(
    conn: &mut AsyncPgConnection,
    reads: &[(&[Member<'_>], Vec<Tile>)],
    [figures, listings]: [&TotalsRead; 2],
    since: Option<&str>,
) -> QueryResult<BTreeMap<String, BucketTally>> {
    // All pipelined: sent together, answered in one round trip.
    let shared: &AsyncPgConnection = conn;
    let (rows, batches) = futures::try_join!(
        futures::future::try_join_all(reads.iter().map(|(members, tiles)| read_rows::<SummedRow>(
            shared, figures, members, tiles, since
        )),),
        futures::future::try_join_all(reads.iter().map(|(members, tiles)| read_rows::<BatchRow>(
            shared, listings, members, tiles, since
        )),),
    )?;
    let (rows, batches) = (rows.into_iter().flatten(), batches.into_iter().flatten());
    let mut buckets: BTreeMap<String, BucketTally> = BTreeMap::new();
    for row in rows {
        let tally = buckets.entry(row.bucket_region).or_default();
        let side = if row.side == 0 {
            &mut tally.current
        } else {
            &mut tally.previous
        };
        side.add_stored(&row.figures);
    }
    for row in batches {
        let tally = buckets.entry(row.bucket_region).or_default();
        if row.side == 0 {
            tally.current.add_batch(row.batch, row.cases);
        } else {
            tally.previous.add_batch(row.batch, row.cases);
        }
    }
    Ok(buckets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(grain: i16, bucket: NaiveDate, region: &str) -> Key {
        Key {
            grain,
            bucket,
            region: region.to_owned(),
            scope: SCOPE_OWN,
        }
    }

    #[test]
    fn provinces_come_from_the_code() {
        assert_eq!(province_of("530102").as_deref(), Some("530000"));
        assert_eq!(province_of("530000").as_deref(), Some("530000"));
        assert_eq!(province_of("000000"), None);
    }

    #[test]
    fn keys_keep_the_order_of_their_parts() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a date");
        let key = |grain: i16, bucket, scope: i16, region: &str| {
            packed_key(&Key {
                grain,
                bucket,
                region: region.to_owned(),
                scope,
            })
            .expect("a key")
        };
        assert_eq!(key(1, day(1900, 1, 1), 0, "000000"), 1 << 46);
        assert_eq!(
            key(3, day(2020, 6, 30), 2, "370000"),
            3 << 46 | 44_010 << 24 | 2 << 20 | 370_000
        );
        let mut keys = vec![
            key(3, day(2020, 1, 2), 0, "110101"),
            key(2, day(2020, 2, 1), 2, "110000"),
            key(3, day(2020, 1, 1), 2, "110000"),
            key(3, day(2020, 1, 1), 0, "990000"),
            key(2, day(9999, 12, 1), 0, "000000"),
        ];
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                key(2, day(2020, 2, 1), 2, "110000"),
                key(2, day(9999, 12, 1), 0, "000000"),
                key(3, day(2020, 1, 1), 0, "990000"),
                key(3, day(2020, 1, 1), 2, "110000"),
                key(3, day(2020, 1, 2), 0, "110101"),
            ]
        );
        assert!(packed_key(&key_of(3, day(1899, 12, 31), "110101")).is_err());
        assert!(packed_key(&key_of(3, day(2020, 1, 1), "11010x")).is_err());
        assert!(packed_key(&key_of(3, day(2020, 1, 1), "1101011")).is_err());
        assert!(packed_key(&key_of(3, day(2020, 1, 1), "+11010")).is_err());
    }

    /// The column names of `figure_totals` in `sql` after `marker`, up to the closing `)` or
    /// `]`, with `prefix` and `suffix` taken off each.
    fn columns(sql: &str, marker: &str, prefix: &str, suffix: &str) -> Vec<String> {
        let (_, rest) = sql.split_once(marker).expect("the marker");
        let list = &rest[..rest.find([')', ']']).map_or(rest.len(), |i| i + 1)];
        list.trim_end_matches([')', ']'])
            .split(',')
            .map(|c| {
                c.trim()
                    .trim_start_matches(prefix)
                    .trim_end_matches(suffix)
                    .to_owned()
            })
            .collect()
    }

    /// The column of each stored figure: its id with dots as underscores.
    fn stored_columns() -> Vec<String> {
        STORED
            .iter()
            .map(|i| METRICS[*i].id.replace('.', "_"))
            .collect()
    }

    #[test]
    fn totals_statements_name_every_stored_figure_in_order() {
        let read = include_str!("read.sql");
        let sums: Vec<String> = read
            .split("sum(t.")
            .skip(1)
            .filter_map(|part| part.split_once(')'))
            .map(|(column, _)| column.to_owned())
            .collect();
        assert_eq!(sums, stored_columns(), "read.sql");

        let upsert = include_str!("upsert.sql");
        let inserted = columns(upsert, "INSERT INTO figure_totals AS t (key, ", "", "");
        assert_eq!(inserted, stored_columns(), "upsert.sql columns");
        let unnests = upsert.matches("unnest($").count();
        assert_eq!(
            unnests,
            1 + STORED.len(),
            "upsert.sql: the key and one array per figure"
        );
        let log = LOG_FIGURES.as_str();
        assert!(
            log.contains("INSERT INTO figure_totals_log (key, "),
            "{log}"
        );
        assert!(!log.contains("ON CONFLICT") && !log.contains("figure_totals AS t"));
        let unseen = read_sql(&FIGURES_LOG, 1000);
        assert!(unseen.contains("FROM figure_totals_log t") && unseen.contains("$7"));
        assert!(!read_sql(&FIGURES, 1).contains("$7"));
        // The aid amount is the one bigint figure.
        let position = STORED
            .iter()
            .position(|i| *i == AID_AMOUNT_FEN)
            .expect("stored");
        assert!(upsert.contains(&format!("unnest(${}::bigint[])", position + 2)));
    }

    #[test]
    fn listing_statements_name_the_listing_columns() {
        let upsert = include_str!("upsert_listings.sql");
        assert_eq!(
            columns(upsert, "INSERT INTO listing_totals AS t (", "", ""),
            ["grain", "bucket", "region_code", "scope", "batch", "cases"]
        );
        assert_eq!(upsert.matches("unnest($").count(), 6);
        let log = LOG_LISTINGS.as_str();
        assert_eq!(
            columns(log, "INSERT INTO listing_totals_log (", "", ""),
            ["grain", "bucket", "region_code", "scope", "batch", "cases"]
        );
        assert!(!log.contains("ON CONFLICT"));
        let unseen = read_sql(&LISTINGS_LOG, 1000);
        assert!(unseen.contains("FROM listing_totals_log t") && unseen.contains("$7"));
        let read = include_str!("read_listings.sql");
        assert!(read.contains("SELECT m.bucket_region, p.side, t.batch"));
        assert!(read.contains("HAVING sum(t.cases) > 0"));
    }
}
