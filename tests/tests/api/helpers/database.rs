//! PostgreSQL for the tests: the admin connection, the migrated template database (built once
//! per migration set, under a temporary name and renamed into place) and the clean-up of
//! databases left by killed test processes.

use std::path::{Path, PathBuf};

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

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

pub(super) async fn admin_connection() -> AsyncPgConnection {
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
pub(super) async fn run_admin(
    conn: &mut AsyncPgConnection,
    sql: &str,
) -> Result<(), diesel::result::Error> {
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

#[derive(QueryableByName)]
struct Value {
    #[diesel(sql_type = Text)]
    value: String,
}

/// The rows of `sql`, a query of one text column named `value`, run on the database at `url`
/// (e.g. `TestApp::db_url`): what the server stored, read from its tables, not through it.
pub async fn query_values(url: &str, sql: &str) -> Vec<String> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
    diesel::sql_query(sql)
        .load::<Value>(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|row| row.value)
        .collect()
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// Name of the migrated template database, built on first use in this process.
pub(super) async fn template_database() -> &'static str {
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
