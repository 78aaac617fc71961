//! The harness: every test spawns the real application (the same `Application::build` that
//! `main` uses) on port 0 against its own PostgreSQL database, cloned from a migrated template.
//!
//! - PostgreSQL: `PROCURA_TEST_DATABASE_URL` (server URL without a database name), default
//!   `postgres://postgres@127.0.0.1:5432`.
//! - Template: `procura_template_<hash of server/migrations>`, built once (per migration set,
//!   shared by test processes) by `procura_server::db::prepare_database` under a temporary name
//!   and renamed into place, so nobody ever sees a half-migrated template.
//! - Each test: `CREATE DATABASE procura_test_<pid>_<uuid> TEMPLATE procura_template_<hash>`,
//!   dropped when the `TestApp` is dropped (also when the test panics). Set
//!   `PROCURA_TEST_KEEP_DB=1` to keep them for inspection. Databases left by killed test
//!   processes are dropped by the next run.
//! - Logs: only with `TEST_LOG` set (then `RUST_LOG` filters, default `info`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use procura_proto::v1::case_service_client::CaseServiceClient;
use procura_proto::v1::region_service_client::RegionServiceClient;
use procura_proto::v1::report_service_client::ReportServiceClient;
use procura_proto::v1::{
    AddresseeType, Adoption, ApplicantType, Case, CaseType, CreateCaseRequest, Date, DateRange,
    Figure, GetCaseRequest, GetRollupRequest, JudicialAid, ListCasesRequest, ListCasesResponse,
    Measure, MeasureKind, Period, Resolution, ResolutionMethod, Rollup, Sector, UpdateCaseRequest,
    YearMonth, YearQuarter, period,
};
use sha2::{Digest, Sha256};
use tokio::sync::{OnceCell, oneshot};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use tonic_types::{ErrorDetail, ErrorInfo, StatusExt};

// ---------------------------------------------------------------------------------------------
// The application under test
// ---------------------------------------------------------------------------------------------

/// A running server with its own fresh database, and clients to talk to it.
pub struct TestApp {
    /// Where the server listens.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`, for the CLI's `--server`.
    pub url: String,
    /// URL of this test's own database.
    pub db_url: String,
    /// A channel to the server, for clients beyond the three below (health, reflection).
    pub channel: Channel,
    /// `procura.v1.RegionService`.
    pub regions: RegionServiceClient<Channel>,
    /// `procura.v1.CaseService`.
    pub cases: CaseServiceClient<Channel>,
    /// `procura.v1.ReportService`.
    pub reports: ReportServiceClient<Channel>,
    db_name: String,
    shutdown: Option<oneshot::Sender<()>>,
}

/// Starts the application on `127.0.0.1:0` with a fresh database cloned from the template.
pub async fn spawn_app() -> TestApp {
    init_tracing();
    let template = template_database().await;
    let db_name = format!(
        "procura_test_{}_{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    let mut admin = admin_connection().await;
    run_admin(
        &mut admin,
        &format!("CREATE DATABASE \"{db_name}\" TEMPLATE \"{template}\""),
    )
    .await
    .unwrap_or_else(|e| panic!("cannot create test database {db_name} from {template}: {e}"));
    drop(admin);
    let db_url = database_url(&db_name);

    let settings = procura_server::config::Settings {
        listen: "127.0.0.1:0".parse().expect("a socket address"),
        database_url: db_url.clone(),
        pool_max_size: 4,
        reader_connections: procura_server::db::READER_CONNECTIONS,
    };
    // From here on the guard drops the database, even if the application fails to build.
    let mut guard = DatabaseGuard(Some(db_name.clone()));
    let app = procura_server::startup::Application::build(settings)
        .await
        .expect("Application::build failed on a fresh test database");
    let addr = app.local_addr();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = rx.await;
        };
        if let Err(error) = app.run_until(shutdown).await {
            eprintln!("the application under test stopped with an error: {error:#}");
        }
    });

    let url = format!("http://{addr}");
    let channel = Endpoint::from_shared(url.clone())
        .expect("a valid endpoint URL")
        .connect()
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the application at {url}: {e}"));
    guard.0 = None;
    TestApp {
        addr,
        url,
        db_url,
        regions: RegionServiceClient::new(channel.clone()),
        cases: CaseServiceClient::new(channel.clone()),
        reports: ReportServiceClient::new(channel.clone()),
        channel,
        db_name,
        shutdown: Some(tx),
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        drop_database_blocking(&self.db_name);
    }
}

/// Drops a test database when dropped, unless disarmed (`.0 = None`).
struct DatabaseGuard(Option<String>);

impl Drop for DatabaseGuard {
    fn drop(&mut self) {
        if let Some(name) = self.0.take() {
            drop_database_blocking(&name);
        }
    }
}

/// Drops a database from a plain thread with its own runtime: `Drop` cannot await, and the
/// test's runtime may be single-threaded. `WITH (FORCE)` ends the server's pooled connections.
/// Never panics (it may run while a failed test unwinds).
pub fn drop_database_blocking(name: &str) {
    if std::env::var_os("PROCURA_TEST_KEEP_DB").is_some() {
        eprintln!("keeping test database {name}");
        return;
    }
    let name = name.to_owned();
    let result = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let mut admin = AsyncPgConnection::establish(&database_url("postgres"))
                .await
                .map_err(|e| e.to_string())?;
            run_admin(
                &mut admin,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            )
            .await
            .map_err(|e| format!("dropping {name}: {e}"))
        })
    })
    .join();
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("warning: could not drop a test database: {e}"),
        Err(_) => eprintln!("warning: the thread dropping a test database panicked"),
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: admin connection, template
// ---------------------------------------------------------------------------------------------

/// The PostgreSQL server URL, without a database name.
fn server_url() -> String {
    let raw = std::env::var("PROCURA_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    // Tolerate a URL that names a database: keep scheme, credentials, host and port.
    let (scheme, rest) = raw.split_once("://").unwrap_or(("postgres", raw.as_str()));
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    format!("{scheme}://{authority}")
}

/// URL of database `name` on the test server.
pub fn database_url(name: &str) -> String {
    format!("{}/{name}", server_url())
}

async fn admin_connection() -> AsyncPgConnection {
    let url = database_url("postgres");
    AsyncPgConnection::establish(&url).await.unwrap_or_else(|e| {
        panic!(
            "cannot connect to PostgreSQL at {url}: {e}\n\
             (set PROCURA_TEST_DATABASE_URL to a server URL such as postgres://postgres@127.0.0.1:5432)"
        )
    })
}

/// Runs one utility statement (CREATE/DROP/ALTER DATABASE), which cannot take bind parameters;
/// every name passed here is built by this file from `[a-z0-9_]`.
async fn run_admin(conn: &mut AsyncPgConnection, sql: &str) -> Result<(), diesel::result::Error> {
    diesel::sql_query(sql).execute(conn).await.map(|_| ())
}

#[derive(QueryableByName)]
struct DatabaseName {
    #[diesel(sql_type = Text)]
    datname: String,
}

async fn databases_like(conn: &mut AsyncPgConnection, pattern: &str) -> Vec<String> {
    diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE $1")
        .bind::<Text, _>(pattern)
        .load::<DatabaseName>(conn)
        .await
        .expect("listing databases")
        .into_iter()
        .map(|row| row.datname)
        .collect()
}

async fn database_exists(conn: &mut AsyncPgConnection, name: &str) -> bool {
    databases_like(conn, name).await.iter().any(|n| n == name)
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// Name of the migrated template database, built on first use in this process.
async fn template_database() -> &'static str {
    TEMPLATE.get_or_init(build_template).await
}

fn migrations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/migrations")
}

/// A stable hash of every file under `server/migrations` (relative paths and contents), so that
/// a changed migration gets a new template and a stale one is never used.
fn migrations_hash() -> String {
    fn collect(dir: &Path, root: &Path, files: &mut Vec<(String, Vec<u8>)>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                collect(&path, root, files);
            } else {
                let relative = path
                    .strip_prefix(root)
                    .expect("under the root")
                    .to_string_lossy()
                    .replace('\\', "/");
                let contents = std::fs::read(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                files.push((relative, contents));
            }
        }
    }
    let root = migrations_dir();
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    assert!(!files.is_empty(), "no migrations in {}", root.display());
    files.sort();
    let mut hasher = Sha256::new();
    for (path, contents) in &files {
        hasher.update((path.len() as u64).to_le_bytes());
        hasher.update(path.as_bytes());
        hasher.update((contents.len() as u64).to_le_bytes());
        hasher.update(contents);
    }
    let digest = hasher.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

async fn build_template() -> String {
    let template = format!("procura_template_{}", migrations_hash());
    let mut admin = admin_connection().await;
    drop_leftovers(&mut admin).await;
    if database_exists(&mut admin, &template).await {
        return template;
    }

    // Build under a private name, then rename: a concurrent process never clones a template
    // that is still being migrated, and a crash leaves only a `building` leftover.
    let building = format!(
        "procura_template_building_{}_{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    if let Err(e) = procura_server::db::prepare_database(&database_url(&building)).await {
        let _ = run_admin(
            &mut admin,
            &format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
        )
        .await;
        panic!("prepare_database failed on a fresh database: {e}");
    }
    // Connections prepare_database opened may take a moment to end on the server side, and
    // ALTER DATABASE ... RENAME refuses while any exist.
    let rename = format!("ALTER DATABASE \"{building}\" RENAME TO \"{template}\"");
    let mut attempts = 0;
    loop {
        terminate_connections(&mut admin, &building).await;
        match run_admin(&mut admin, &rename).await {
            Ok(()) => return template,
            Err(_) if database_exists(&mut admin, &template).await => {
                // Another test process won the race; use its template.
                let _ = run_admin(
                    &mut admin,
                    &format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
                )
                .await;
                return template;
            }
            Err(e) if attempts < 50 && e.to_string().contains("being accessed by other users") => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot rename {building} to {template}: {e}"),
        }
    }
}

async fn terminate_connections(conn: &mut AsyncPgConnection, database: &str) {
    let _ = diesel::sql_query(
        "SELECT pg_terminate_backend(pid)::text AS datname FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind::<Text, _>(database)
    .load::<DatabaseName>(conn)
    .await;
}

/// Drops the test and half-built template databases of test processes that are gone (killed
/// before their guards ran). Only on systems with `/proc`; a database somebody is still
/// connected to is left alone (no FORCE).
async fn drop_leftovers(admin: &mut AsyncPgConnection) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let mut names = databases_like(admin, "procura\\_test\\_%").await;
    names.extend(databases_like(admin, "procura\\_template\\_building\\_%").await);
    for name in names {
        let rest = name
            .strip_prefix("procura_test_")
            .or_else(|| name.strip_prefix("procura_template_building_"))
            .unwrap_or_default();
        let Some(pid) = rest.split('_').next().filter(|p| p.parse::<u32>().is_ok()) else {
            continue;
        };
        if !proc.join(pid).exists() {
            let _ = run_admin(admin, &format!("DROP DATABASE IF EXISTS \"{name}\"")).await;
        }
    }
}

fn init_tracing() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Builders of valid records
// ---------------------------------------------------------------------------------------------

/// A calendar date.
pub fn date(year: i32, month: i32, day: i32) -> Date {
    Date { year, month, day }
}

/// `Some(date(..))`, for optional message fields.
pub fn on(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(date(year, month, day))
}

/// A range of days, both ends included.
pub fn date_range(start: Date, end: Date) -> DateRange {
    DateRange {
        start: Some(start),
        end: Some(end),
    }
}

/// `regions/{code}`.
pub fn region(code: &str) -> String {
    format!("regions/{code}")
}

/// A valid case of the procuratorate at `region_code` (e.g. `530102`): a judgment supervision
/// case of a natural person against public security, accepted 2020-03-01, no markers.
pub fn valid_case(region_code: &str, case_number: &str) -> Case {
    Case {
        region: region(region_code),
        case_number: case_number.to_owned(),
        case_type: CaseType::JudgmentSupervision as i32,
        applicant_type: ApplicantType::NaturalPerson as i32,
        sector: Sector::PublicSecurity as i32,
        accepted_on: on(2020, 3, 1),
        summary: "测试案件 (test case)".to_owned(),
        ..Case::default()
    }
}

/// The addressee type a measure of `kind` must have.
pub fn addressee_type_for(kind: MeasureKind) -> AddresseeType {
    match kind {
        MeasureKind::AdministrativeOrganSuggestion => AddresseeType::AdministrativeOrgan,
        MeasureKind::SocialGovernanceSuggestion => AddresseeType::OtherOrgan,
        _ => AddresseeType::Court,
    }
}

/// A valid pending measure of `kind`, issued on `issued_on`, to a fitting addressee.
pub fn measure(kind: MeasureKind, issued_on: Date) -> Measure {
    let addressee_type = addressee_type_for(kind);
    let addressee = match addressee_type {
        AddresseeType::AdministrativeOrgan => "昆明市公安局",
        AddresseeType::OtherOrgan => "昆明市五华区人民政府",
        _ => "昆明市中级人民法院",
    };
    Measure {
        kind: kind as i32,
        issued_on: Some(issued_on),
        addressee_type: addressee_type as i32,
        addressee: addressee.to_owned(),
        ..Measure::default()
    }
}

/// `measure` answered with `adoption` on `answered_on`.
pub fn answered(mut measure: Measure, adoption: Adoption, answered_on: Date) -> Measure {
    measure.adoption = adoption as i32;
    measure.answered_on = Some(answered_on);
    measure
}

/// A valid resolution.
pub fn resolution(method: ResolutionMethod, resolved_on: Date) -> Resolution {
    Resolution {
        method: method as i32,
        resolved_on: Some(resolved_on),
        note: String::new(),
        ..Resolution::default()
    }
}

/// A valid judicial aid grant.
pub fn aid(granted_on: Date, amount_fen: i64) -> JudicialAid {
    JudicialAid {
        granted_on: Some(granted_on),
        amount_fen,
        recipient: "张某".to_owned(),
        ..JudicialAid::default()
    }
}

/// Period helpers.
pub fn year(year: i32) -> Option<Period> {
    Some(Period {
        kind: Some(period::Kind::Year(year)),
    })
}

/// A calendar quarter.
pub fn quarter(year: i32, quarter: i32) -> Option<Period> {
    Some(Period {
        kind: Some(period::Kind::Quarter(YearQuarter { year, quarter })),
    })
}

/// A calendar month.
pub fn month(year: i32, month: i32) -> Option<Period> {
    Some(Period {
        kind: Some(period::Kind::Month(YearMonth { year, month })),
    })
}

/// A range of days.
pub fn range(start: Date, end: Date) -> Option<Period> {
    Some(Period {
        kind: Some(period::Kind::Range(date_range(start, end))),
    })
}

// ---------------------------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------------------------

impl TestApp {
    /// CreateCase, which must succeed.
    pub async fn create_case(&self, case: Case) -> Case {
        let number = case.case_number.clone();
        self.try_create_case(case)
            .await
            .unwrap_or_else(|s| panic!("CreateCase {number} failed: {s:?}"))
    }

    /// CreateCase.
    pub async fn try_create_case(&self, case: Case) -> Result<Case, Status> {
        self.create_case_request(CreateCaseRequest {
            case: Some(case),
            request_id: String::new(),
        })
        .await
    }

    /// CreateCase with a full request.
    pub async fn create_case_request(&self, request: CreateCaseRequest) -> Result<Case, Status> {
        let response = self.cases.clone().create_case(request).await?.into_inner();
        Ok(response.case.expect("CreateCaseResponse.case is set"))
    }

    /// GetCase, which must succeed.
    pub async fn get_case(&self, name: &str) -> Case {
        self.try_get_case(name)
            .await
            .unwrap_or_else(|s| panic!("GetCase {name} failed: {s:?}"))
    }

    /// GetCase.
    pub async fn try_get_case(&self, name: &str) -> Result<Case, Status> {
        let response = self
            .cases
            .clone()
            .get_case(GetCaseRequest {
                name: name.to_owned(),
            })
            .await?
            .into_inner();
        Ok(response.case.expect("GetCaseResponse.case is set"))
    }

    /// ListCases, one page.
    pub async fn list_cases(&self, request: ListCasesRequest) -> Result<ListCasesResponse, Status> {
        Ok(self.cases.clone().list_cases(request).await?.into_inner())
    }

    /// ListCases, every page; panics on a repeated token or more than 100 pages.
    pub async fn list_all_cases(&self, mut request: ListCasesRequest) -> Vec<Case> {
        let mut cases = Vec::new();
        let mut seen_tokens = std::collections::HashSet::new();
        for _ in 0..100 {
            let page = self
                .list_cases(request.clone())
                .await
                .unwrap_or_else(|s| panic!("ListCases failed: {s:?}"));
            cases.extend(page.cases);
            if page.next_page_token.is_empty() {
                return cases;
            }
            assert!(
                seen_tokens.insert(page.next_page_token.clone()),
                "ListCases returned the same page token twice"
            );
            request.page_token = page.next_page_token;
        }
        panic!("ListCases did not end after 100 pages");
    }

    /// Names of every case that ListCases returns for `request`.
    pub async fn list_case_numbers(&self, request: ListCasesRequest) -> Vec<String> {
        let mut numbers: Vec<String> = self
            .list_all_cases(request)
            .await
            .into_iter()
            .map(|c| c.case_number)
            .collect();
        numbers.sort();
        numbers
    }

    /// UpdateCase with a mask of `paths`.
    pub async fn update_case(&self, case: Case, paths: &[&str]) -> Result<Case, Status> {
        let response = self
            .cases
            .clone()
            .update_case(UpdateCaseRequest {
                case: Some(case),
                update_mask: Some(field_mask(paths)),
                ..Default::default()
            })
            .await?
            .into_inner();
        Ok(response.case.expect("UpdateCaseResponse.case is set"))
    }

    /// GetRollup, which must succeed.
    pub async fn rollup(&self, request: GetRollupRequest) -> Rollup {
        let description = format!("{request:?}");
        self.try_rollup(request)
            .await
            .unwrap_or_else(|s| panic!("GetRollup {description} failed: {s:?}"))
    }

    /// GetRollup.
    pub async fn try_rollup(&self, request: GetRollupRequest) -> Result<Rollup, Status> {
        let response = self.reports.clone().get_rollup(request).await?.into_inner();
        Ok(response.rollup.expect("GetRollupResponse.rollup is set"))
    }
}

/// A field mask of `paths`.
pub fn field_mask(paths: &[&str]) -> prost_types::FieldMask {
    prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    }
}

/// The numeric id in a resource name such as `cases/12` or `cases/12/measures/3`.
pub fn trailing_id(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Error assertions (AIP-193)
// ---------------------------------------------------------------------------------------------

/// The ErrorInfo of `status`, checked to carry `reason` in domain `procura.v1`.
pub fn assert_error_info(status: &Status, reason: &str) -> ErrorInfo {
    let details = status.get_error_details();
    let info = details
        .error_info()
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"))
        .clone();
    assert_eq!(info.domain, "procura.v1", "ErrorInfo.domain of {status:?}");
    assert_eq!(info.reason, reason, "ErrorInfo.reason of {status:?}");
    info
}

/// Checks code and ErrorInfo reason of an error.
pub fn assert_status(result_status: &Status, code: Code, reason: &str) -> ErrorInfo {
    assert_eq!(
        result_status.code(),
        code,
        "expected {code:?}, got {result_status:?}"
    );
    assert_error_info(result_status, reason)
}

/// The (field, description) pairs of the single BadRequest of an INVALID_ARGUMENT status, or
/// what is wrong with the status: not INVALID_ARGUMENT, not exactly one BadRequest, no
/// ErrorInfo `INVALID_ARGUMENT` in domain `procura.v1`, or a violation without description.
pub fn check_field_violations(status: &Status) -> Result<Vec<(String, String)>, String> {
    if status.code() != Code::InvalidArgument {
        return Err(format!("expected INVALID_ARGUMENT, got {status:?}"));
    }
    let details = status.get_error_details_vec();
    let bad_requests: Vec<_> = details
        .iter()
        .filter_map(|d| match d {
            ErrorDetail::BadRequest(b) => Some(b),
            _ => None,
        })
        .collect();
    if bad_requests.len() != 1 {
        return Err(format!(
            "expected exactly one BadRequest detail, got {}: {status:?}",
            bad_requests.len()
        ));
    }
    let info = details.iter().find_map(|d| match d {
        ErrorDetail::ErrorInfo(i) => Some(i),
        _ => None,
    });
    match info {
        Some(info) if info.domain == "procura.v1" && info.reason == "INVALID_ARGUMENT" => {}
        _ => {
            return Err(format!(
                "expected ErrorInfo{{procura.v1, INVALID_ARGUMENT}}, got {info:?}"
            ));
        }
    }
    let violations: Vec<(String, String)> = bad_requests[0]
        .field_violations
        .iter()
        .map(|v| (v.field.clone(), v.description.clone()))
        .collect();
    if let Some((field, _)) = violations.iter().find(|(_, d)| d.trim().is_empty()) {
        return Err(format!("field violation {field} has no description"));
    }
    Ok(violations)
}

/// Like `check_field_violations`, panicking on a malformed error.
pub fn field_violations(status: &Status) -> Vec<(String, String)> {
    check_field_violations(status).unwrap_or_else(|e| panic!("{e}"))
}

/// Checks that `status` is INVALID_ARGUMENT whose BadRequest names exactly `fields` (in any
/// order; a field may be named more than once).
pub fn check_invalid_fields(status: &Status, fields: &[&str]) -> Result<(), String> {
    let violations = check_field_violations(status)?;
    let mut got: Vec<&str> = violations.iter().map(|(f, _)| f.as_str()).collect();
    got.sort_unstable();
    got.dedup();
    let mut want: Vec<&str> = fields.to_vec();
    want.sort_unstable();
    want.dedup();
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "expected violations on {want:?}, got {violations:?} (message {:?})",
            status.message()
        ))
    }
}

/// Panicking form of `check_invalid_fields`.
pub fn assert_invalid_fields(status: &Status, fields: &[&str]) {
    check_invalid_fields(status, fields).unwrap_or_else(|e| panic!("{e}"));
}

/// Checks that `status` is INVALID_ARGUMENT naming exactly one field, `field`.
pub fn assert_invalid_field(status: &Status, field: &str) {
    assert_invalid_fields(status, &[field]);
}

/// Unwraps the error of a call that must fail.
pub fn expect_err<T: std::fmt::Debug>(result: Result<T, Status>, what: &str) -> Status {
    match result {
        Ok(value) => panic!("{what} succeeded but must fail; returned {value:?}"),
        Err(status) => status,
    }
}

// ---------------------------------------------------------------------------------------------
// Rollup figures
// ---------------------------------------------------------------------------------------------

/// Every metric a rollup reports, as listed in `report.proto`.
pub const METRICS: [&str; 32] = [
    "measures.total",
    "measures.protest_and_retrial",
    "measures.protest",
    "measures.retrial_suggestion",
    "measures.trial_violation_suggestion",
    "measures.enforcement_violation_suggestion",
    "measures.social_governance_suggestion",
    "measures.administrative_organ_suggestion",
    "measures.protest.adopted",
    "measures.retrial_suggestion.adopted",
    "measures.trial_violation_suggestion.adopted",
    "measures.enforcement_violation_suggestion.adopted",
    "measures.social_governance_suggestion.adopted",
    "measures.administrative_organ_suggestion.adopted",
    "cases.accepted",
    "cases.concluded",
    "resolutions.total",
    "resolutions.private_enterprise",
    "resolutions.supervision_correction",
    "resolutions.reconciliation",
    "resolutions.judicial_assistance",
    "resolutions.public_hearing_settlement",
    "resolutions.other",
    "aid.grants",
    "aid.amount_fen",
    "markers.leader_handled",
    "markers.public_hearing",
    "markers.private_enterprise",
    "markers.spp_listed",
    "markers.spp_listed_private_enterprise",
    "markers.spp_listed_batches",
    "markers.typical",
];

/// The figure `metric` of `figures`; panics if it is missing or repeated.
pub fn figure<'a>(figures: &'a [Figure], metric: &str) -> &'a Figure {
    let mut matching = figures.iter().filter(|f| f.metric == metric);
    let found = matching
        .next()
        .unwrap_or_else(|| panic!("metric {metric} is missing from the figures"));
    assert!(matching.next().is_none(), "metric {metric} appears twice");
    found
}

/// The value of figure `metric`.
pub fn value(figures: &[Figure], metric: &str) -> i64 {
    figure(figures, metric).value
}

/// Checks the figures of one rollup (or row) against hand-written expectations: `expected`
/// lists `(metric, value, previous_value)` for every metric that is non-zero in either period;
/// every other metric must be 0 in both. With `compared == false` previous values and changes
/// must be absent. Also checks that every metric is present once, with its unit, and that a
/// change is present exactly when the previous value is non-zero.
pub fn assert_figures(
    context: &str,
    figures: &[Figure],
    expected: &[(&str, i64, i64)],
    compared: bool,
) {
    for (metric, _, _) in expected {
        assert!(
            METRICS.contains(metric),
            "test bug: {metric} is not a metric"
        );
    }
    let mut reported: Vec<&str> = figures.iter().map(|f| f.metric.as_str()).collect();
    reported.sort_unstable();
    let mut all: Vec<&str> = METRICS.to_vec();
    all.sort_unstable();
    assert_eq!(reported, all, "{context}: the set of metrics reported");

    let mut mismatches = Vec::new();
    for metric in METRICS {
        let f = figure(figures, metric);
        let (want_value, want_previous) = expected
            .iter()
            .find(|(m, _, _)| *m == metric)
            .map(|(_, v, p)| (*v, *p))
            .unwrap_or((0, 0));
        let want_unit = if metric == "aid.amount_fen" {
            procura_proto::v1::Unit::Fen
        } else {
            procura_proto::v1::Unit::Count
        };
        assert_eq!(f.unit, want_unit as i32, "{context}: unit of {metric}");
        assert!(
            !f.label.trim().is_empty(),
            "{context}: {metric} has no label"
        );
        assert_eq!(
            f.qualifier,
            procura_proto::v1::Qualifier::Unspecified as i32,
            "{context}: {metric} has a qualifier outside a release"
        );
        if f.value != want_value {
            mismatches.push(format!(
                "{metric}: value {} (expected {want_value})",
                f.value
            ));
        }
        if compared {
            if f.previous_value != Some(want_previous) {
                mismatches.push(format!(
                    "{metric}: previous_value {:?} (expected Some({want_previous}))",
                    f.previous_value
                ));
            }
            let want_change = (want_previous != 0)
                .then(|| (want_value - want_previous) as f64 / want_previous as f64 * 100.0);
            let change_ok = match (f.change_percent, want_change) {
                (None, None) => true,
                (Some(got), Some(want)) => (got - want).abs() < 1e-9,
                _ => false,
            };
            if !change_ok {
                mismatches.push(format!(
                    "{metric}: change_percent {:?} (expected {want_change:?})",
                    f.change_percent
                ));
            }
        } else if f.previous_value.is_some() || f.change_percent.is_some() {
            mismatches.push(format!(
                "{metric}: previous_value {:?} / change_percent {:?} must be absent without comparison",
                f.previous_value, f.change_percent
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{context}: figures differ from the hand-made expectation:\n  {}",
        mismatches.join("\n  ")
    );
}

/// Checks that figure `metric` has exactly the change `expected` (hand-computed).
pub fn assert_change(figures: &[Figure], metric: &str, expected: Option<f64>) {
    let got = figure(figures, metric).change_percent;
    match (got, expected) {
        (None, None) => {}
        (Some(g), Some(e)) if (g - e).abs() < 1e-9 => {}
        _ => panic!("change_percent of {metric}: got {got:?}, expected {expected:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Region data (data/regions.csv, the source of the regions migration)
// ---------------------------------------------------------------------------------------------

/// One row of `data/regions.csv`.
#[derive(Debug, Clone)]
pub struct RegionRow {
    /// Six-digit code.
    pub code: String,
    /// Parent code, empty for the root.
    pub parent_code: String,
    /// `national`, `province`, `prefecture` or `county`.
    pub level: String,
    /// Chinese name.
    pub name: String,
}

/// Every row of `data/regions.csv`.
pub fn region_rows() -> Vec<RegionRow> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/regions.csv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split(',').collect();
            RegionRow {
                code: cols[0].to_owned(),
                parent_code: cols[1].to_owned(),
                level: cols[2].to_owned(),
                name: cols[3].to_owned(),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The CLI binary
// ---------------------------------------------------------------------------------------------

/// Path of the `procura` binary of this build (`target/<profile>/procura`), next to the
/// directory holding this test executable (`target/<profile>/deps/`).
pub fn cli_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the test executable");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lives in target/<profile>/deps");
    let binary = profile_dir.join(format!("procura{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "build the CLI first: cargo build --workspace --bins (no {})",
        binary.display()
    );
    binary
}

/// What a CLI run printed and how it ended.
#[derive(Debug)]
pub struct CliOutput {
    /// Exit code; `None` if killed by a signal.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl CliOutput {
    fn from_output(output: Output) -> Self {
        Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// True when the process exited with 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Panics with both streams unless the run succeeded; returns stdout.
    pub fn expect_success(&self, what: &str) -> &str {
        assert!(
            self.success(),
            "`{what}` failed with {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        &self.stdout
    }

    /// Panics unless the run failed (non-zero exit); returns stderr.
    pub fn expect_failure(&self, what: &str) -> &str {
        assert!(
            !self.success(),
            "`{what}` succeeded but must fail\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        assert!(self.code.is_some(), "`{what}` was killed: {self:?}");
        &self.stderr
    }
}

impl TestApp {
    /// Runs `procura --server <this app> <args..>` and collects its output. The process runs on
    /// the blocking pool so that the server keeps running on the test's runtime meanwhile.
    pub async fn cli(&self, args: &[&str]) -> CliOutput {
        let binary = cli_binary();
        let mut command = std::process::Command::new(binary);
        command
            .arg("--server")
            .arg(&self.url)
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("PROCURA_SERVER")
            .stdin(std::process::Stdio::null());
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("the CLI runner thread")
            .expect("cannot start the procura binary");
        CliOutput::from_output(output)
    }
}

/// A unique path in the temporary directory, removed when dropped.
pub struct TempFile(pub PathBuf);

impl TempFile {
    /// A new path ending in `suffix`, with `contents` written to it.
    pub fn with_contents(suffix: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "procura-test-{}{suffix}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        Self(path)
    }

    /// The path as a string.
    pub fn path_str(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        // `procura cases import FILE` keeps its progress in `FILE.import-state`.
        let mut state = self.0.clone().into_os_string();
        state.push(".import-state");
        let _ = std::fs::remove_file(state);
    }
}
