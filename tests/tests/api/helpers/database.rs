//! PostgreSQL for the tests: the admin connection, the migrated template database (built once
//! per migration set, under a temporary name and renamed into place) and the clean-up of
//! databases left by killed test processes and of templates no test uses any more.
//!
//! The template of the current migrations stays when the tests end: the next run clones it
//! instead of migrating a database again. Each test process marks the template it uses
//! (a comment with the time it started using it) and holds a shared advisory lock on it for
//! its whole life, on a connection of its own, which PostgreSQL releases when the process
//! ends. The template of another migration set (an older checkout, another work tree) is
//! dropped by a later run when no process holds its lock and none has started using it for
//! [`TEMPLATE_IDLE`].

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text};
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

/// The prefix of template names; the rest is the 16 hex digits of [`migrations_hash`].
const TEMPLATE_PREFIX: &str = "procura_template_";

/// How long a template of another migration set is kept after a test process last started
/// using it: two work trees whose tests alternate keep their templates.
pub(super) const TEMPLATE_IDLE: Duration = Duration::from_secs(3600);

/// How long a template that carries no mark is kept after it was built: test processes of
/// older checkouts use templates without marking or locking them, and run for less than this.
const UNMARKED_TEMPLATE_AGE: Duration = Duration::from_secs(24 * 3600);

/// The start of the comment that marks a template, followed by the Unix time (seconds) at
/// which a test process last started using it.
const TEMPLATE_MARK: &str = "procura test template, last used at unix time ";

/// The advisory-lock key of a template, from the hash in its name (`None` for other names).
pub(super) fn template_lock_key(name: &str) -> Option<i64> {
    let hash = name.strip_prefix(TEMPLATE_PREFIX)?;
    if hash.len() != 16 {
        return None;
    }
    u64::from_str_radix(hash, 16)
        .ok()
        .map(|key| i64::from_be_bytes(key.to_be_bytes()))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Marks `template` as used now by this process (see the module comment).
pub(super) async fn mark_template_used(
    conn: &mut AsyncPgConnection,
    template: &str,
    unix_time: i64,
) -> Result<(), diesel::result::Error> {
    run_admin(
        conn,
        &format!("COMMENT ON DATABASE \"{template}\" IS '{TEMPLATE_MARK}{unix_time}'"),
    )
    .await
}

/// Holds a shared advisory lock on `template` until the process ends, on a connection that
/// lives in a thread of its own (a connection belongs to the runtime that opened it, and each
/// test has its own). Waits while another process holds the lock exclusively, i.e. is
/// dropping a template of that name.
fn hold_template_lock(template: &str) {
    let Some(key) = template_lock_key(template) else {
        return;
    };
    let (ready, locked) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            let _ = ready.send(Err("cannot start a runtime".to_owned()));
            return;
        };
        runtime.block_on(async move {
            let held = async {
                let mut conn = AsyncPgConnection::establish(&database_url("postgres"))
                    .await
                    .map_err(|e| e.to_string())?;
                diesel::sql_query("SELECT pg_advisory_lock_shared($1)")
                    .bind::<BigInt, _>(key)
                    .execute(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>(conn)
            }
            .await;
            match held {
                Ok(_conn) => {
                    let _ = ready.send(Ok(()));
                    std::future::pending::<()>().await;
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            }
        });
    });
    match locked.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("cannot lock the template database {template}: {e}"),
        Err(_) => panic!("the thread locking the template database {template} stopped"),
    }
}

#[derive(QueryableByName)]
struct TemplateRow {
    #[diesel(sql_type = Text)]
    datname: String,
    #[diesel(sql_type = Nullable<Text>)]
    comment: Option<String>,
}

/// Drops the templates other than `current` that no test process is using: no process holds
/// their lock, and none started using them in the last [`TEMPLATE_IDLE`] (a template without
/// a mark: built more than [`UNMARKED_TEMPLATE_AGE`] ago, where the server tells).
/// Each is dropped while holding its lock exclusively, so that no process starts using it
/// meanwhile. Returns the names dropped.
pub(super) async fn drop_unused_templates(
    admin: &mut AsyncPgConnection,
    current: &str,
) -> Vec<String> {
    let Ok(rows) = diesel::sql_query(
        "SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database \
         WHERE datname LIKE 'procura\\_template\\_%'",
    )
    .load::<TemplateRow>(admin)
    .await
    else {
        return Vec::new();
    };
    let mut dropped = Vec::new();
    for row in rows {
        let Some(key) = template_lock_key(&row.datname) else {
            continue;
        };
        if row.datname == current {
            continue;
        }
        let (last_used, idle) = match row
            .comment
            .as_deref()
            .and_then(|c| c.strip_prefix(TEMPLATE_MARK))
        {
            Some(time) => (time.trim().parse::<i64>().ok(), TEMPLATE_IDLE),
            None => (built_at(admin, &row.datname).await, UNMARKED_TEMPLATE_AGE),
        };
        let idle = i64::try_from(idle.as_secs()).unwrap_or(i64::MAX);
        if last_used.is_none_or(|t| unix_now().saturating_sub(t) < idle) {
            continue;
        }
        let locked = diesel::sql_query("SELECT pg_try_advisory_lock($1)::text AS value")
            .bind::<BigInt, _>(key)
            .get_result::<Value>(admin)
            .await
            .is_ok_and(|row| row.value == "true");
        if !locked {
            continue;
        }
        // Without FORCE: a database somebody is connected to stays.
        if run_admin(
            admin,
            &format!("DROP DATABASE IF EXISTS \"{}\"", row.datname),
        )
        .await
        .is_ok()
        {
            dropped.push(row.datname);
        }
        let _ = diesel::sql_query("SELECT pg_advisory_unlock($1)")
            .bind::<BigInt, _>(key)
            .execute(admin)
            .await;
    }
    dropped
}

/// When a database was built (Unix seconds), from its files' time; `None` where the role may
/// not read the server's files.
async fn built_at(admin: &mut AsyncPgConnection, name: &str) -> Option<i64> {
    diesel::sql_query(
        "SELECT extract(epoch FROM (pg_stat_file('base/' || oid || '/PG_VERSION')).modification)\
         ::bigint::text AS value FROM pg_database WHERE datname = $1",
    )
    .bind::<Text, _>(name)
    .get_result::<Value>(admin)
    .await
    .ok()
    .and_then(|row| row.value.parse().ok())
}

async fn build_template() -> String {
    let template = format!("{TEMPLATE_PREFIX}{}", migrations_hash());
    // Locked before it is looked for: a process dropping a template of this name has
    // finished before this one decides whether to build it.
    hold_template_lock(&template);
    let mut admin = admin_connection().await;
    drop_leftovers(&mut admin).await;
    drop_unused_templates(&mut admin, &template).await;
    if database_exists(&mut admin, &template).await {
        let _ = mark_template_used(&mut admin, &template, unix_now()).await;
        return template;
    }

    // Build under a private name, then rename: a concurrent process never clones a template
    // that is still being migrated, and a crash leaves only a `building` leftover.
    // PostgreSQL cuts names at 63 bytes: 26 + a process id of up to 10 digits + 1 + 16.
    let building = format!(
        "procura_template_building_{}_{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    );
    if let Err(e) = procura_server::db::prepare_database(&database_url(&building)).await {
        let _ = run_admin(
            &mut admin,
            &format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
        )
        .await;
        panic!("prepare_database failed on a fresh database: {e}");
    }
    let _ = mark_template_used(&mut admin, &building, unix_now()).await;
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
                let _ = mark_template_used(&mut admin, &template, unix_now()).await;
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

/// The clean-up of templates: one of another migration set that no process uses and none
/// started using for longer than [`TEMPLATE_IDLE`] is dropped; one used recently, one whose
/// lock a process holds, and the current one stay.
#[tokio::test]
async fn templates_no_test_process_uses_are_dropped() {
    let current = template_database().await;
    let mut admin = admin_connection().await;
    let name = || {
        let hex = uuid::Uuid::new_v4().simple().to_string();
        format!("{TEMPLATE_PREFIX}{}", &hex[..16])
    };
    let (idle, recent, held) = (name(), name(), name());
    // Dropped at the end, also when an assertion fails.
    struct Dropped(Vec<String>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            for name in &self.0 {
                super::drop_database_blocking(name);
            }
        }
    }
    let _guard = Dropped(vec![idle.clone(), recent.clone(), held.clone()]);
    let long_ago = unix_now() - i64::try_from(TEMPLATE_IDLE.as_secs()).unwrap() - 60;
    for (template, used) in [
        (&idle, long_ago),
        (&recent, unix_now() - 60),
        (&held, long_ago),
    ] {
        run_admin(&mut admin, &format!("CREATE DATABASE \"{template}\""))
            .await
            .unwrap();
        mark_template_used(&mut admin, template, used)
            .await
            .unwrap();
    }
    // Another process that uses `held`, as build_template does.
    let mut other = admin_connection().await;
    diesel::sql_query("SELECT pg_advisory_lock_shared($1)")
        .bind::<BigInt, _>(template_lock_key(&held).unwrap())
        .execute(&mut other)
        .await
        .unwrap();

    let dropped = drop_unused_templates(&mut admin, current).await;

    let exists = |names: Vec<String>, name: &str| names.iter().any(|n| n == name);
    let left = databases_like(&mut admin, "procura\\_template\\_%").await;
    assert!(
        dropped.contains(&idle),
        "{idle} is not dropped: {dropped:?}"
    );
    assert!(!exists(left.clone(), &idle), "{idle} is still there");
    for kept in [&recent, &held, &current.to_owned()] {
        assert!(!dropped.contains(kept), "{kept} is dropped");
        assert!(exists(left.clone(), kept), "{kept} is gone");
    }
}
