//! Authentication and authorisation: the principals, tokens and grants held in memory (so that
//! a call costs no database round trip to authenticate), kept current by comparing a version
//! number every second and reloading at once after this server's own changes; the guard that
//! each call carries; and the management of principals, tokens and grants.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::Pool;
use crate::db::access::{self as store, GrantRow, NewGrant, NewToken, PrincipalRow, TokenRow};
use crate::domain::access::{Caller, Credential, Grant, Permission, Role, within};
use crate::domain::region::{RegionCode, RegionTree};
use crate::error::ApiError;

/// How often each server asks whether principals, tokens or grants changed elsewhere: the
/// longest a revocation made through another server sharing the database takes to reach this
/// one. (Through this server it takes effect before the revoking call returns.)
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// Longest life of a token, in days.
pub const MAX_TOKEN_DAYS: i64 = 400;

/// The principal created on first start, holding every role at the root.
pub const BOOTSTRAP_PRINCIPAL: &str = "admin";

/// The root region, where a grant covers everything.
pub const ROOT: &str = "000000";

/// A token in force, as held in memory.
#[derive(Debug, Clone)]
struct TokenEntry {
    principal: String,
    expire_time: DateTime<Utc>,
}

/// Principals, tokens and grants in force, at one version of the access data.
#[derive(Debug, Default)]
struct Book {
    version: i64,
    principals: HashMap<String, PrincipalRow>,
    tokens: HashMap<[u8; 32], TokenEntry>,
    grants: HashMap<String, Vec<Grant>>,
    /// Each principal as the caller of a token, built once: a call clones an `Arc`.
    callers: HashMap<String, Arc<Caller>>,
}

impl Book {
    fn from_rows(rows: store::AccessRows) -> Self {
        let mut grants: HashMap<String, Vec<Grant>> = HashMap::new();
        for row in rows.grants {
            if let Some(grant) = grant_of(&row) {
                grants
                    .entry(row.principal_id.clone())
                    .or_default()
                    .push(grant);
            }
        }
        let callers = rows
            .principals
            .iter()
            .map(|p| {
                let caller = Caller {
                    principal: p.id.clone(),
                    display_name: p.display_name.clone(),
                    grants: grants.get(&p.id).cloned().unwrap_or_default(),
                    credential: Credential::Token,
                };
                (p.id.clone(), Arc::new(caller))
            })
            .collect();
        Book {
            version: rows.version,
            callers,
            principals: rows
                .principals
                .into_iter()
                .map(|p| (p.id.clone(), p))
                .collect(),
            tokens: rows
                .tokens
                .into_iter()
                .filter_map(|t| {
                    let hash: [u8; 32] = t.secret_hash.as_slice().try_into().ok()?;
                    Some((
                        hash,
                        TokenEntry {
                            principal: t.principal_id,
                            expire_time: t.expire_time,
                        },
                    ))
                })
                .collect(),
            grants,
        }
    }

    /// The caller `principal` at `now`: the one built at load, unless a grant lapsed since or
    /// the credential is a certificate.
    fn caller(
        &self,
        principal: &str,
        credential: Credential,
        now: DateTime<Utc>,
    ) -> Option<Arc<Caller>> {
        let built = self.callers.get(principal)?;
        if credential == Credential::Token && built.grants.iter().all(|g| g.in_force(now)) {
            return Some(built.clone());
        }
        let row = self.principals.get(principal)?;
        Some(Arc::new(Caller {
            principal: row.id.clone(),
            display_name: row.display_name.clone(),
            grants: self
                .grants
                .get(principal)
                .map(|g| g.iter().filter(|g| g.in_force(now)).cloned().collect())
                .unwrap_or_default(),
            credential,
        }))
    }
}

fn grant_of(row: &GrantRow) -> Option<Grant> {
    Some(Grant {
        id: row.id,
        principal: row.principal_id.clone(),
        role: Role::from_number(row.role as i32)?,
        region: RegionCode::parse(&row.region_code).ok()?,
        expire_time: row.expire_time,
    })
}

/// The SHA-256 of a token's secret: all the server keeps of it.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// A new secret: `procura_` and 256 random bits, base64url.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("procura_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Why a credential was refused; the message says what to do, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

/// The access data in memory and the pool to reload it from.
pub struct Access {
    book: RwLock<Arc<Book>>,
    pool: Pool,
    regions: Arc<RegionTree>,
}

impl Access {
    /// Loads the access data.
    pub async fn load(pool: Pool, regions: Arc<RegionTree>) -> Result<Arc<Self>, ApiError> {
        let access = Arc::new(Access {
            book: RwLock::new(Arc::new(Book::default())),
            pool,
            regions,
        });
        access.reload().await?;
        Ok(access)
    }

    fn book(&self) -> Arc<Book> {
        match self.book.read() {
            Ok(book) => book.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reads the access data again.
    pub async fn reload(&self) -> Result<(), ApiError> {
        let mut conn = self.pool.get().await?;
        let rows = store::load(&mut conn, Utc::now()).await?;
        let book = Arc::new(Book::from_rows(rows));
        let mut slot = match self.book.write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Two reloads may finish out of order: the older data never replaces the newer.
        if book.version >= slot.version {
            *slot = book;
        }
        Ok(())
    }

    /// Reloads when the data changed elsewhere; called every [`REFRESH_INTERVAL`].
    pub async fn refresh(&self) -> Result<(), ApiError> {
        let mut conn = self.pool.get().await?;
        let version = store::version(&mut conn).await?;
        drop(conn);
        if version != self.book().version {
            self.reload().await?;
        }
        Ok(())
    }

    /// Keeps the access data current until the task is dropped.
    pub async fn keep_current(self: Arc<Self>) {
        let mut ticks = tokio::time::interval(REFRESH_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(error) = self.refresh().await {
                tracing::warn!(%error, "cannot check the access data for changes");
            }
        }
    }

    /// The caller a bearer token names.
    pub fn by_token(&self, secret: &str) -> Result<Arc<Caller>, Refused> {
        let now = Utc::now();
        let book = self.book();
        let entry = book
            .tokens
            .get(&secret_hash(secret))
            .ok_or_else(|| Refused("the token is not known, or was revoked".to_owned()))?;
        if entry.expire_time <= now {
            return Err(Refused(format!(
                "the token expired at {}",
                entry
                    .expire_time
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )));
        }
        book.caller(&entry.principal, Credential::Token, now)
            .ok_or_else(|| Refused("the token's principal does not exist".to_owned()))
    }

    /// The caller a client certificate names (`procura://svc/{id}`), a service principal.
    pub fn by_certificate(&self, id: &str) -> Result<Arc<Caller>, Refused> {
        let book = self.book();
        match book.principals.get(id) {
            Some(p) if p.kind == 2 => book
                .caller(id, Credential::Certificate, Utc::now())
                .ok_or_else(|| Refused("unknown principal".to_owned())),
            Some(_) => Err(Refused(format!(
                "principal {id} is not a service; a client certificate names services only"
            ))),
            None => Err(Refused(format!(
                "the client certificate names principal {id}, which does not exist"
            ))),
        }
    }

    /// The bootstrap admin as the caller of every call, for a server without access checks
    /// (the benchmark's baseline).
    pub fn unchecked_caller(&self) -> Option<Arc<Caller>> {
        self.book()
            .caller(BOOTSTRAP_PRINCIPAL, Credential::Token, Utc::now())
    }

    /// The region tree scopes are checked against.
    pub fn regions(&self) -> &Arc<RegionTree> {
        &self.regions
    }

    /// On first start (no principal at all): creates the bootstrap admin, holding every role
    /// at the root, and a token for it. Returns the token's secret, or `None` when principals
    /// exist already.
    pub async fn bootstrap(&self) -> Result<Option<String>, ApiError> {
        let mut conn = self.pool.get().await?;
        let secret = conn
            .transaction::<_, ApiError, _>(async |conn| {
                // One server at a time: another starting at once waits, then finds the admin.
                diesel_async::RunQueryDsl::execute(
                    diesel::sql_query("LOCK TABLE principals IN EXCLUSIVE MODE"),
                    conn,
                )
                .await?;
                if store::principal_count(conn).await? > 0 {
                    return Ok(None);
                }
                let admin = PrincipalRow {
                    id: BOOTSTRAP_PRINCIPAL.to_owned(),
                    display_name: "Administrator (created on first start)".to_owned(),
                    kind: 1,
                    created_by: "procura-server".to_owned(),
                    create_time: Utc::now(),
                };
                store::insert_principal(conn, &admin).await?;
                for role in Role::ALL {
                    store::insert_grant(
                        conn,
                        NewGrant {
                            principal_id: BOOTSTRAP_PRINCIPAL,
                            role: role.number(),
                            region_code: ROOT,
                            expire_time: None,
                            created_by: "procura-server",
                        },
                    )
                    .await?;
                }
                let secret =
                    issue_token(conn, BOOTSTRAP_PRINCIPAL, "bootstrap", "procura-server").await?;
                Ok(Some(secret))
            })
            .await?;
        drop(conn);
        self.reload().await?;
        Ok(secret)
    }

    /// A fresh token for the bootstrap admin (`procura-server admin bootstrap-token`), which
    /// is created first if missing.
    pub async fn recovery_token(&self) -> Result<String, ApiError> {
        if let Some(secret) = self.bootstrap().await? {
            return Ok(secret);
        }
        let mut conn = self.pool.get().await?;
        if store::principal(&mut conn, BOOTSTRAP_PRINCIPAL)
            .await?
            .is_none()
        {
            return Err(ApiError::Internal(format!(
                "principal {BOOTSTRAP_PRINCIPAL} does not exist"
            )));
        }
        let secret = conn
            .transaction::<_, ApiError, _>(async |conn| {
                issue_token(conn, BOOTSTRAP_PRINCIPAL, "recovery", "procura-server").await
            })
            .await?;
        Ok(secret)
    }
}

/// Stores a token of `principal` valid for [`MAX_TOKEN_DAYS`]; returns its secret.
async fn issue_token(
    conn: &mut diesel_async::AsyncPgConnection,
    principal: &str,
    description: &str,
    by: &str,
) -> Result<String, ApiError> {
    let secret = new_secret();
    store::insert_token(
        conn,
        NewToken {
            principal_id: principal,
            secret_hash: &secret_hash(&secret),
            description,
            expire_time: Utc::now() + chrono::Duration::days(MAX_TOKEN_DAYS),
            created_by: by,
        },
    )
    .await?;
    store::bump_version(conn).await?;
    Ok(secret)
}

/// What the access log is told of a call beyond its method and outcome: what it touched, and
/// whether it is a read the log keeps.
#[derive(Debug, Clone, Default)]
pub struct Note {
    /// The resource touched, e.g. `cases/42`.
    pub resource: String,
    /// The region of what was touched.
    pub region: Option<String>,
    /// A read of a case's record, an explanation or an as-of rollup.
    pub logged_read: bool,
    /// The permission a denial was for.
    pub denied: Option<&'static str>,
    /// Set once the call's answer went out (a stream goes on after it): a denial after that
    /// is logged by the guard itself.
    pub answered: bool,
}

/// The caller of one call, what it may do, and the note the access log takes of it.
#[derive(Clone)]
pub struct Guard {
    caller: Arc<Caller>,
    regions: Arc<RegionTree>,
    note: Arc<Mutex<Note>>,
    late: Option<(super::audit::AuditLog, Arc<str>)>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("principal", &self.caller.principal)
            .finish()
    }
}

impl Guard {
    /// A guard for `caller`, writing into `note`; a denial after the answer went out (in a
    /// stream) is appended to `audit` as a call of `method`.
    pub fn new(
        caller: Arc<Caller>,
        regions: Arc<RegionTree>,
        note: Arc<Mutex<Note>>,
        audit: Option<(super::audit::AuditLog, Arc<str>)>,
    ) -> Self {
        Guard {
            caller,
            regions,
            note,
            late: audit,
        }
    }

    /// The caller.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// Who makes a change, as revisions and releases record it: the principal's id.
    pub fn actor(&self) -> &str {
        &self.caller.principal
    }

    fn with_note(&self, f: impl FnOnce(&mut Note)) {
        match self.note.lock() {
            Ok(mut note) => f(&mut note),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Records what the call touches.
    pub fn touch(&self, resource: &str, region: Option<&str>) {
        self.with_note(|n| {
            n.resource = resource.to_owned();
            n.region = region.map(str::to_owned);
        });
    }

    /// Marks the call a read that the access log keeps.
    pub fn logged_read(&self) {
        self.with_note(|n| n.logged_read = true);
    }

    /// Allows `permission` on `resource` at `region`, or PERMISSION_DENIED (recorded).
    pub fn allow(
        &self,
        permission: Permission,
        region: &str,
        resource: &str,
    ) -> Result<(), ApiError> {
        self.touch(resource, Some(region));
        if self.caller.may(&self.regions, permission, region) {
            Ok(())
        } else {
            Err(self.denied(permission, region))
        }
    }

    /// Allows `permission` on a stored record at `region`; a refusal names the root, as for a
    /// missing record, so that it tells nothing of where the record is (the access log keeps
    /// the region).
    pub fn allow_record(
        &self,
        permission: Permission,
        region: &str,
        resource: &str,
    ) -> Result<(), ApiError> {
        self.allow(permission, region, resource)
            .map_err(|_| self.denied(permission, ROOT))
    }

    /// PERMISSION_DENIED for `permission` at `region`, recorded in the note.
    pub fn denied(&self, permission: Permission, region: &str) -> ApiError {
        self.denied_named(permission.as_str(), region)
    }

    /// PERMISSION_DENIED for what `name` names (a permission, or a role an admin would grant)
    /// at `region`, recorded in the note.
    pub fn denied_named(&self, name: &'static str, region: &str) -> ApiError {
        let mut answered = false;
        self.with_note(|n| {
            n.denied = Some(name);
            answered = n.answered;
        });
        if answered && let Some((audit, method)) = &self.late {
            let event = crate::db::access::EventRow {
                event_time: Utc::now(),
                principal: self.caller.principal.clone(),
                method: method.to_string(),
                resource: String::new(),
                region_code: Some(region.to_owned()),
                outcome: 3,
                code: "PERMISSION_DENIED".to_owned(),
                permission: name.to_owned(),
            };
            let audit = audit.clone();
            tokio::spawn(async move { audit.record(event, false).await });
        }
        ApiError::PermissionDenied {
            permission: name,
            region: region.to_owned(),
        }
    }

    /// A NOT_FOUND of something the caller could only see with `permission` at the root: the
    /// caller learns it does not exist only when it would be allowed to see it wherever it
    /// is; others get PERMISSION_DENIED (AIP-211), as for something outside their scope.
    pub fn hide(&self, permission: Permission, error: ApiError) -> ApiError {
        match error {
            ApiError::NotFound { .. } if !self.caller.may(&self.regions, permission, ROOT) => {
                self.denied(permission, ROOT)
            }
            other => other,
        }
    }

    /// The regions at whose subtrees the caller holds `role`, none inside another.
    pub fn scopes(&self, role: Role) -> Vec<RegionCode> {
        let all = self.caller.scopes(role);
        let mut tops: Vec<RegionCode> = Vec::new();
        for scope in &all {
            let covered = all.iter().any(|other| {
                other.as_str() != scope.as_str()
                    && within(&self.regions, scope.as_str(), other.as_str())
            });
            if !covered && !tops.iter().any(|t| t.as_str() == scope.as_str()) {
                tops.push((*scope).clone());
            }
        }
        tops.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        tops
    }

    /// Whether the caller holds `role` at `region`.
    pub fn holds(&self, role: Role, region: &str) -> bool {
        self.caller.holds(&self.regions, role, region)
    }

    /// The region tree.
    pub fn regions(&self) -> &RegionTree {
        &self.regions
    }
}

/// Ids of principals: lower-case letters, digits, `.`, `_`, `-`; 1 to 64, not starting with
/// punctuation.
pub fn valid_principal_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{:?} is not a principal id: 1 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
            id.chars().take(70).collect::<String>()
        ))
    }
}

/// Management of principals, tokens and grants, within the admin's scope.
pub mod admin {
    use super::*;

    /// Creates a principal.
    pub async fn create_principal(
        access: &Access,
        who: &Guard,
        principal: PrincipalRow,
    ) -> Result<PrincipalRow, ApiError> {
        require_admin(who)?;
        who.touch(&format!("principals/{}", principal.id), None);
        let mut conn = access.pool.get().await?;
        let id = principal.id.clone();
        let stored = conn
            .transaction::<_, ApiError, _>(async |conn| {
                if !store::insert_principal(conn, &principal).await? {
                    return Err(ApiError::AlreadyExists {
                        reason: "PRINCIPAL_ALREADY_EXISTS",
                        existing: format!("principals/{id}"),
                        message: format!("principals/{id} exists already"),
                    });
                }
                store::bump_version(conn).await?;
                store::principal(conn, &id)
                    .await?
                    .ok_or_else(|| ApiError::Internal("principal vanished".into()))
            })
            .await?;
        drop(conn);
        access.reload().await?;
        Ok(stored)
    }

    fn require_admin(who: &Guard) -> Result<(), ApiError> {
        if who.caller().holds_anywhere(Role::Admin) {
            Ok(())
        } else {
            Err(who.denied(Permission::AccessAdmin, ROOT))
        }
    }

    /// The principal `id`, which the admin may manage: every grant it holds lies within the
    /// admin's scope (a principal with no grant may be managed by any admin).
    async fn managed_principal(
        conn: &mut diesel_async::AsyncPgConnection,
        who: &Guard,
        id: &str,
    ) -> Result<PrincipalRow, ApiError> {
        let found = store::principal(conn, id).await?.ok_or(ApiError::NotFound {
            reason: "PRINCIPAL_NOT_FOUND",
            resource: format!("principals/{id}"),
        });
        let principal = found.map_err(|e| who.hide(Permission::AccessAdmin, e))?;
        for grant in store::grants_of(conn, id, Utc::now()).await? {
            if !who.holds(Role::Admin, &grant.region_code) {
                return Err(who.denied(Permission::AccessAdmin, &grant.region_code));
            }
        }
        Ok(principal)
    }

    /// Issues a token; returns it and its secret.
    pub async fn create_token(
        access: &Access,
        who: &Guard,
        principal: &str,
        description: &str,
        expire_time: DateTime<Utc>,
    ) -> Result<(TokenRow, String), ApiError> {
        require_admin(who)?;
        who.touch(&format!("principals/{principal}"), None);
        let mut conn = access.pool.get().await?;
        let by = who.actor().to_owned();
        let made = conn
            .transaction::<_, ApiError, _>(async |conn| {
                managed_principal(conn, who, principal).await?;
                // A token acts with every role its principal holds: the admin must hold each
                // of them there itself, and a principal without grants (whose scope is not yet
                // known) is issued tokens by an admin at the root only.
                let grants = store::grants_of(conn, principal, Utc::now()).await?;
                if grants.is_empty() && !who.holds(Role::Admin, ROOT) {
                    return Err(who.denied(Permission::AccessAdmin, ROOT));
                }
                for grant in &grants {
                    let held = Role::from_number(i32::from(grant.role))
                        .is_some_and(|role| who.holds(role, &grant.region_code));
                    if !held {
                        let role = Role::from_number(i32::from(grant.role))
                            .map_or("an unknown role", Role::as_str);
                        return Err(who.denied_named(role, &grant.region_code));
                    }
                }
                let secret = new_secret();
                let row = store::insert_token(
                    conn,
                    NewToken {
                        principal_id: principal,
                        secret_hash: &secret_hash(&secret),
                        description,
                        expire_time,
                        created_by: &by,
                    },
                )
                .await?;
                store::bump_version(conn).await?;
                Ok((row, secret))
            })
            .await?;
        drop(conn);
        who.touch(&format!("tokens/{}", made.0.id), None);
        access.reload().await?;
        Ok(made)
    }

    /// Revokes a token; refused from the next call on.
    pub async fn revoke_token(access: &Access, who: &Guard, id: i64) -> Result<TokenRow, ApiError> {
        require_admin(who)?;
        who.touch(&format!("tokens/{id}"), None);
        let mut conn = access.pool.get().await?;
        let revoked = conn
            .transaction::<_, ApiError, _>(async |conn| {
                let token = store::token(conn, id).await?.ok_or(ApiError::NotFound {
                    reason: "TOKEN_NOT_FOUND",
                    resource: format!("tokens/{id}"),
                });
                let token = token.map_err(|e| who.hide(Permission::AccessAdmin, e))?;
                managed_principal(conn, who, &token.principal_id).await?;
                let row = store::revoke_token(conn, id, Utc::now())
                    .await?
                    .ok_or_else(|| ApiError::Internal("token vanished".into()))?;
                store::bump_version(conn).await?;
                Ok(row)
            })
            .await?;
        drop(conn);
        access.reload().await?;
        Ok(revoked)
    }

    /// Grants `role` at `region` to `principal`: the admin must hold admin there and the
    /// role itself there.
    pub async fn create_grant(
        access: &Access,
        who: &Guard,
        principal: &str,
        role: Role,
        region: &RegionCode,
        expire_time: Option<DateTime<Utc>>,
    ) -> Result<GrantRow, ApiError> {
        require_admin(who)?;
        who.touch(&format!("principals/{principal}"), Some(region.as_str()));
        if !who.holds(Role::Admin, region.as_str()) {
            return Err(who.denied(Permission::AccessAdmin, region.as_str()));
        }
        if !who.holds(role, region.as_str()) {
            // An admin grants only what it holds itself.
            return Err(who.denied_named(role.as_str(), region.as_str()));
        }
        let mut conn = access.pool.get().await?;
        let by = who.actor().to_owned();
        let row = conn
            .transaction::<_, ApiError, _>(async |conn| {
                store::principal(conn, principal)
                    .await?
                    .ok_or_else(|| ApiError::NotFound {
                        reason: "PRINCIPAL_NOT_FOUND",
                        resource: format!("principals/{principal}"),
                    })?;
                let row = store::insert_grant(
                    conn,
                    NewGrant {
                        principal_id: principal,
                        role: role.number(),
                        region_code: region.as_str(),
                        expire_time,
                        created_by: &by,
                    },
                )
                .await?;
                store::bump_version(conn).await?;
                Ok(row)
            })
            .await?;
        drop(conn);
        who.touch(&format!("grants/{}", row.id), Some(region.as_str()));
        access.reload().await?;
        Ok(row)
    }

    /// Revokes a grant within the admin's scope.
    pub async fn revoke_grant(access: &Access, who: &Guard, id: i64) -> Result<GrantRow, ApiError> {
        require_admin(who)?;
        who.touch(&format!("grants/{id}"), None);
        let mut conn = access.pool.get().await?;
        let revoked = conn
            .transaction::<_, ApiError, _>(async |conn| {
                let grant = store::grant(conn, id).await?.ok_or(ApiError::NotFound {
                    reason: "GRANT_NOT_FOUND",
                    resource: format!("grants/{id}"),
                });
                let grant = grant.map_err(|e| who.hide(Permission::AccessAdmin, e))?;
                who.touch(&format!("grants/{id}"), Some(&grant.region_code));
                if !who.holds(Role::Admin, &grant.region_code) {
                    return Err(who.denied(Permission::AccessAdmin, &grant.region_code));
                }
                let row = store::revoke_grant(conn, id, Utc::now())
                    .await?
                    .ok_or_else(|| ApiError::Internal("grant vanished".into()))?;
                store::bump_version(conn).await?;
                Ok(row)
            })
            .await?;
        drop(conn);
        access.reload().await?;
        Ok(revoked)
    }

    /// A page of principals (any admin).
    pub async fn list_principals(
        access: &Access,
        who: &Guard,
        after: &str,
        limit: i64,
    ) -> Result<Vec<PrincipalRow>, ApiError> {
        require_admin(who)?;
        let mut conn = access.pool.get().await?;
        Ok(store::principals_page(&mut conn, after, limit).await?)
    }

    /// A page of tokens, of one principal (which the admin may manage) or of all.
    pub async fn list_tokens(
        access: &Access,
        who: &Guard,
        principal: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<TokenRow>, ApiError> {
        require_admin(who)?;
        let mut conn = access.pool.get().await?;
        match principal {
            Some(p) => {
                managed_principal(&mut conn, who, p).await?;
            }
            // Every token of the country: an admin at the root only.
            None if !who.holds(Role::Admin, ROOT) => {
                return Err(who.denied(Permission::AccessAdmin, ROOT));
            }
            None => {}
        }
        Ok(store::tokens_page(&mut conn, principal, after, limit).await?)
    }

    /// The grants in force of one principal or of all, those within the admin's scope.
    pub async fn list_grants(
        access: &Access,
        who: &Guard,
        principal: Option<&str>,
    ) -> Result<Vec<GrantRow>, ApiError> {
        require_admin(who)?;
        let mut conn = access.pool.get().await?;
        let rows = store::grants_in_force(&mut conn, principal, Utc::now()).await?;
        Ok(rows
            .into_iter()
            .filter(|g| who.holds(Role::Admin, &g.region_code))
            .collect())
    }
}
