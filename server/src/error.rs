//! Errors of the API layer and their mapping to gRPC statuses (AIP-193).
//!
//! Every error that leaves the server is one of these: bad input names each bad field in one
//! `google.rpc.BadRequest`, and every status carries an `ErrorInfo` with a stable reason.
//! Database and internal errors are logged here and never leaked to the caller.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The ErrorInfo domain of every error procura returns.
pub const ERROR_DOMAIN: &str = "procura.v1";

/// One bad field of a request: its path (e.g. `case.accepted_on`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field in the request, e.g. `case.measures[0].kind`.
    pub field: String,
    /// What is wrong with it, in plain words.
    pub description: String,
}

/// Collects every bad field of a request, so that one error names them all.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` is bad, and why.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// True when nothing bad was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl IntoIterator for Violations {
    type Item = FieldViolation;
    type IntoIter = std::vec::IntoIter<FieldViolation>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl From<Violations> for ApiError {
    fn from(violations: Violations) -> Self {
        ApiError::InvalidArgument(violations.0)
    }
}

/// A value parsed from part of a request, or every violation found in that part.
pub type Checked<T> = Result<T, Violations>;

/// `result` for field `field`: its error becomes that field's violation.
pub fn field<T>(field: impl Into<String>, result: Result<T, String>) -> Checked<T> {
    result.map_err(|description| {
        let mut v = Violations::new();
        v.add(field, description);
        v
    })
}

/// A check that found nothing wrong when `violations` is empty.
pub fn passed(violations: Violations) -> Checked<()> {
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}

/// Values parsed from the parts of a request, together: all of them, or the violations of
/// every part that failed, in order.
pub trait AllChecked {
    /// The values.
    type Values;
    /// All values, or all violations.
    fn all(self) -> Checked<Self::Values>;
}

impl<T> AllChecked for Vec<Checked<T>> {
    type Values = Vec<T>;

    fn all(self) -> Checked<Vec<T>> {
        let mut values = Vec::with_capacity(self.len());
        let mut bad = Violations::new();
        for item in self {
            match item {
                Ok(value) => values.push(value),
                Err(v) => bad.0.extend(v.0),
            }
        }
        passed(bad).map(|()| values)
    }
}

macro_rules! all_checked {
    ($($value:ident: $T:ident),+) => {
        impl<$($T),+> AllChecked for ($(Checked<$T>,)+) {
            type Values = ($($T,)+);

            fn all(self) -> Checked<Self::Values> {
                let ($($value,)+) = self;
                let mut bad = Violations::new();
                $(
                    let $value = $value.map_err(|v| bad.0.extend(v.0));
                )+
                match ($($value,)+) {
                    ($(Ok($value),)+) => Ok(($($value,)+)),
                    _ => Err(bad),
                }
            }
        }
    };
}

all_checked!(a: A, b: B);
all_checked!(a: A, b: B, c: C);
all_checked!(a: A, b: B, c: C, d: D);
all_checked!(a: A, b: B, c: C, d: D, e: E);
all_checked!(a: A, b: B, c: C, d: D, e: E, f: F);
all_checked!(a: A, b: B, c: C, d: D, e: E, f: F, g: G);
all_checked!(a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H);
all_checked!(a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H, i: I);
all_checked!(a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H, i: I, j: J);
all_checked!(a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H, i: I, j: J, k: K);
all_checked!(a: A, b: B, c: C, d: D, e: E, f: F, g: G, h: H, i: I, j: J, k: K, l: L);

/// An error answered to a gRPC caller.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request has bad fields; nothing was changed.
    #[error("the request has invalid fields")]
    InvalidArgument(Vec<FieldViolation>),
    /// A named resource does not exist.
    #[error("{resource} does not exist")]
    NotFound {
        /// ErrorInfo reason, e.g. `CASE_NOT_FOUND`.
        reason: &'static str,
        /// The resource name asked for.
        resource: String,
    },
    /// The record exists already.
    #[error("{message}")]
    AlreadyExists {
        /// ErrorInfo reason, e.g. `CASE_ALREADY_EXISTS`.
        reason: &'static str,
        /// Resource name of the existing record.
        existing: String,
        /// Human-readable message naming the existing record.
        message: String,
    },
    /// The caller's etag is stale.
    #[error(
        "{resource} was changed since it was read (etag {} is stale, current is {current}); read it again and retry",
        shown_etag(.given)
    )]
    EtagMismatch {
        /// The resource name.
        resource: String,
        /// The etag the caller sent.
        given: String,
        /// The current etag.
        current: String,
    },
    /// A concurrent request used the same `request_id` while this one was being applied
    /// (one key sent for two cases at once, or one PublishRollup sent twice at once); this
    /// one changed nothing. A retry answers as any retry does: the first request's result,
    /// or INVALID_ARGUMENT on `request_id` when the key went to another case.
    #[error(
        "a concurrent request used the same request_id ({constraint}) at the same moment; nothing was changed by this one: retry it"
    )]
    Concurrent {
        /// The unique constraint the two requests met on, e.g. `measures_request_id_key`.
        constraint: String,
    },
    /// The database cannot be reached.
    #[error("the database is unavailable; try again later")]
    Unavailable(String),
    /// The server is busy: a limit of `api::limits` is reached, or every database connection
    /// is in use while the database answers. Nothing was done; retry after the delay.
    #[error(
        "the server is busy ({limit}); nothing was done: retry in {}",
        shown_delay(*.retry_delay)
    )]
    Overloaded {
        /// The limit reached, e.g. `128 concurrent calls`.
        limit: String,
        /// How long the caller should wait before it retries.
        retry_delay: std::time::Duration,
    },
    /// A request message longer than the server takes; refused before it was read.
    #[error(
        "a request message of {length} bytes is larger than the limit of {} MB ({limit} bytes): \
         send less in one message (an import: smaller batches)",
        .limit >> 20
    )]
    MessageTooLarge {
        /// The length its frame header gave.
        length: usize,
        /// The most bytes of one request message.
        limit: usize,
    },
    /// The call did not finish within its deadline (the caller's, or the server's
    /// `--call-timeout`); what it had begun was rolled back.
    #[error(
        "the call did not finish within its deadline{}; anything it had begun was rolled back",
        .0.map(|d| format!(" of {}", shown_delay(d))).unwrap_or_default()
    )]
    DeadlineExceeded(Option<std::time::Duration>),
    /// An ImportCases stream sent no batch for this long; it was closed.
    #[error(
        "no batch came for {}: the import stream was closed; resume the import",
        shown_delay(*.0)
    )]
    IdleStream(std::time::Duration),
    /// The server is shutting down and its grace for the calls in flight is over.
    #[error(
        "the server is shutting down; what was not acknowledged was not stored: retry on another server"
    )]
    ShuttingDown,
    /// Anything else: a bug or an unexpected database state.
    #[error("internal error")]
    Internal(String),
    /// An answer already made (and logged) once, given as it is to every call it answers.
    #[error("{}", .0.message())]
    Answered(Status),
    /// The call carries no credential, or one that is not valid.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller may not do this here, whether or not what it names exists (AIP-211).
    #[error(
        "the caller may not do this: it needs {permission}{}",
        if region.is_empty() { String::new() } else { format!(" at regions/{region}") }
    )]
    PermissionDenied {
        /// The permission (or role) needed.
        permission: &'static str,
        /// Where it is needed; empty when the call is refused before any region is known.
        region: String,
    },
}

/// One error answered to several calls (a batch of GetCase reads): converted, and logged,
/// once; each call gets a copy.
#[derive(Debug, Clone)]
pub struct SharedError(Status);

impl SharedError {
    /// `error`, answered once.
    pub fn new(error: ApiError) -> Self {
        Self(Status::from(error))
    }

    /// UNAVAILABLE with `message` alone.
    pub fn unavailable(message: &str) -> Self {
        Self(Status::unavailable(message))
    }

    /// INTERNAL with `message` alone.
    pub fn internal(message: &str) -> Self {
        Self(Status::internal(message))
    }

    /// The error for one call.
    pub fn get(&self) -> ApiError {
        ApiError::Answered(self.0.clone())
    }
}

impl ApiError {
    /// INVALID_ARGUMENT naming a single field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        ApiError::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }
}

/// A delay as a message shows it: `1 s`, `250 ms`.
fn shown_delay(delay: std::time::Duration) -> String {
    if delay.subsec_millis() == 0 && delay.as_secs() > 0 {
        format!("{} s", delay.as_secs())
    } else {
        format!("{} ms", delay.as_millis())
    }
}

/// An etag as a message shows it: as given when it looks like one (`"v3"`), quoted otherwise.
fn shown_etag(etag: &str) -> String {
    if etag.len() <= 32 && etag.bytes().all(|b| b.is_ascii_graphic()) {
        etag.to_owned()
    } else {
        crate::domain::text::quote(etag).to_string()
    }
}

// An error's status travels in the headers of its answer (grpc-message, percent-encoded, and
// grpc-status-details-bin, base64, which repeats the message), and clients refuse headers
// beyond a limit (16 KB with tonic's client, 8 KB by default in grpc-java): an answer beyond it
// reaches the caller as a transport error, not as the error. Values from the request are
// echoed as short quotes (`domain::text::quote`); these bounds hold whatever else an error
// says, and however many fields are bad.

/// Most bytes of a status message.
const MAX_MESSAGE: usize = 1024;
/// Most bytes of one field path, one description or one ErrorInfo metadata value.
const MAX_PART: usize = 512;
/// Most bytes of the field violations of one BadRequest together (paths and descriptions).
const MAX_VIOLATIONS: usize = 2 * 1024;

/// `text` cut to at most `max` bytes at a character boundary, ending in `…` when cut.
fn bounded(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = text;
    cut.truncate(end);
    cut.push('…');
    cut
}

fn with_info(
    code: Code,
    message: String,
    reason: &str,
    metadata: HashMap<String, String>,
) -> Status {
    let metadata: HashMap<String, String> = metadata
        .into_iter()
        .map(|(key, value)| (key, bounded(value, MAX_PART)))
        .collect();
    let details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata);
    Status::with_error_details(code, bounded(message, MAX_MESSAGE), details)
}

/// INVALID_ARGUMENT with one BadRequest naming the bad fields: every one of them while they fit
/// the bounds above; when they do not, the message says how many more there are, and the
/// ErrorInfo's metadata `omitted_violations` how many the BadRequest leaves out.
fn invalid_argument(violations: Vec<FieldViolation>) -> Status {
    const PREFIX: &str = "invalid request: ";
    // Room kept at the end of the message for "; and N more".
    const ROOM: usize = 40;
    let total = violations.len();
    let mut details = ErrorDetails::new();
    let mut message = String::from(PREFIX);
    let (mut in_message, mut in_details, mut budget) = (0, 0, MAX_VIOLATIONS);
    for (index, violation) in violations.into_iter().enumerate() {
        let field = bounded(violation.field, MAX_PART);
        let description = bounded(violation.description, MAX_PART);
        let entry = format!("{field}: {description}");
        // The message names the first violations, in order, as many as fit.
        if in_message == index && message.len() + entry.len() + 2 + ROOM <= MAX_MESSAGE {
            if in_message > 0 {
                message.push_str("; ");
            }
            message.push_str(&entry);
            in_message += 1;
        }
        // With the bytes protobuf adds around each violation.
        let size = field.len() + description.len() + 8;
        if size > budget {
            break;
        }
        budget -= size;
        details.add_bad_request_violation(field, description);
        in_details += 1;
    }
    if in_message == 0 {
        message.push_str(&format!("{total} bad fields, named in the error details"));
    } else if in_message < total {
        message.push_str(&format!("; and {} more", total - in_message));
    }
    let mut metadata = HashMap::new();
    if in_details < total {
        metadata.insert(
            "omitted_violations".to_owned(),
            (total - in_details).to_string(),
        );
    }
    details.set_error_info("INVALID_ARGUMENT", ERROR_DOMAIN, metadata);
    Status::with_error_details(Code::InvalidArgument, message, details)
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        let message = error.to_string();
        match error {
            ApiError::InvalidArgument(violations) => invalid_argument(violations),
            ApiError::NotFound { reason, resource } => with_info(
                Code::NotFound,
                message,
                reason,
                HashMap::from([("resource".to_owned(), resource)]),
            ),
            ApiError::AlreadyExists {
                reason, existing, ..
            } => with_info(
                Code::AlreadyExists,
                message,
                reason,
                HashMap::from([("existing".to_owned(), existing)]),
            ),
            ApiError::EtagMismatch { current, .. } => with_info(
                Code::Aborted,
                message,
                "ETAG_MISMATCH",
                HashMap::from([("current_etag".to_owned(), current)]),
            ),
            ApiError::Concurrent { constraint } => with_info(
                Code::Aborted,
                message,
                "CONCURRENT_REQUEST",
                HashMap::from([("constraint".to_owned(), constraint)]),
            ),
            ApiError::Unavailable(cause) => {
                tracing::warn!(?cause, "database unavailable");
                with_info(
                    Code::Unavailable,
                    message,
                    "DATABASE_UNAVAILABLE",
                    HashMap::new(),
                )
            }
            ApiError::Overloaded { limit, retry_delay } => {
                crate::api::limits::log_shed(&limit);
                let mut details = ErrorDetails::with_error_info(
                    "OVERLOADED",
                    ERROR_DOMAIN,
                    HashMap::from([("limit".to_owned(), limit)]),
                );
                details.set_retry_info(Some(retry_delay));
                Status::with_error_details(Code::ResourceExhausted, message, details)
            }
            ApiError::MessageTooLarge { length, limit } => {
                tracing::warn!(length, "request message over the limit refused");
                with_info(
                    Code::ResourceExhausted,
                    message,
                    "MESSAGE_TOO_LARGE",
                    HashMap::from([("limit_bytes".to_owned(), limit.to_string())]),
                )
            }
            ApiError::DeadlineExceeded(_) => {
                tracing::warn!("call ended by its deadline");
                with_info(
                    Code::DeadlineExceeded,
                    message,
                    "DEADLINE_EXCEEDED",
                    HashMap::new(),
                )
            }
            ApiError::IdleStream(_) => with_info(
                Code::DeadlineExceeded,
                message,
                "IDLE_STREAM",
                HashMap::new(),
            ),
            ApiError::ShuttingDown => {
                with_info(Code::Unavailable, message, "SHUTTING_DOWN", HashMap::new())
            }
            ApiError::Answered(status) => status,
            ApiError::Unauthenticated(_) => with_info(
                Code::Unauthenticated,
                message,
                "UNAUTHENTICATED",
                HashMap::new(),
            ),
            ApiError::PermissionDenied { permission, region } => with_info(
                Code::PermissionDenied,
                message,
                "PERMISSION_DENIED",
                HashMap::from([
                    ("permission".to_owned(), permission.to_owned()),
                    ("region".to_owned(), region),
                ]),
            ),
            ApiError::Internal(cause) => {
                tracing::error!(?cause, "internal error");
                with_info(Code::Internal, message, "INTERNAL", HashMap::new())
            }
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        // A commit that failed and could not be rolled back either: what made it fail.
        let error = match error {
            Error::RollbackErrorOnCommit { commit_error, .. } => *commit_error,
            other => other,
        };
        match &error {
            // The connection broke (the database stopped or restarted) before or while the
            // statement ran; a transaction it was in was rolled back.
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            )
            | Error::BrokenTransactionManager => ApiError::Unavailable(error.to_string()),
            // SQLSTATE class 57: the database ends the session (administrator command, crash,
            // shutting down or starting up).
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info.message().starts_with("terminating connection")
                    || info.message().starts_with("the database system is") =>
            {
                ApiError::Unavailable(error.to_string())
            }

            // A write with a request id looks for what that id stored before it inserts; two
            // requests with one id meet on its unique index only when both looked before
            // either committed (one id sent for two cases at once: each locks its own case).
            // Any other unique violation is a bug, and stays INTERNAL.
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
                if info
                    .constraint_name()
                    .is_some_and(|name| name.ends_with("_request_id_key")) =>
            {
                let constraint = info.constraint_name().unwrap_or_default().to_owned();
                tracing::warn!(%constraint, "concurrent requests with one request id");
                ApiError::Concurrent { constraint }
            }
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info
                    .message()
                    .contains("canceling statement due to statement timeout") =>
            {
                tracing::warn!(%error, "statement timeout");
                ApiError::DeadlineExceeded(None)
            }
            _ => ApiError::Internal(error.to_string()),
        }
    }
}

impl From<crate::db::PoolError> for ApiError {
    /// Waiting for a connection in vain means they are all in use: the server is busy (the
    /// database answers, or the call would have failed on it). Failing to open one means the
    /// database does not answer.
    fn from(error: crate::db::PoolError) -> Self {
        use deadpool::managed::{PoolError, TimeoutType};
        match error {
            PoolError::Timeout(TimeoutType::Wait) => ApiError::Overloaded {
                limit: "every database connection in use".to_owned(),
                retry_delay: crate::api::limits::RETRY_DELAY,
            },
            other => ApiError::Unavailable(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_checked_gives_every_violation_in_order() {
        let ok = || -> Checked<i32> { Ok(1) };
        let bad = |name: &str| field::<i32>(name, Err(format!("{name} is bad")));
        assert_eq!((ok(), Ok::<_, Violations>("x")).all().ok(), Some((1, "x")));
        let Err(found) = (bad("a"), ok(), bad("b")).all() else {
            panic!("violations expected");
        };
        let fields: Vec<String> = found.into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["a", "b"]);
        let Err(found) = vec![bad("c"), Ok(2), bad("d")].all() else {
            panic!("violations expected");
        };
        assert_eq!(found.into_iter().count(), 2);
    }

    #[test]
    fn bounded_cuts_at_a_character_boundary() {
        assert_eq!(bounded("abc".to_owned(), 3), "abc");
        assert_eq!(bounded("abcdef".to_owned(), 5), "ab…");
        // 案 is three bytes: the cut falls before it rather than inside it.
        assert_eq!(bounded("a案案".to_owned(), 6), "a…");
    }

    #[test]
    fn many_violations_fit_the_metadata_limit() {
        let violations: Vec<FieldViolation> = (0..5000)
            .map(|i| FieldViolation {
                field: format!("case.measures[{i}].kind"),
                description: "is required: no measure kind was given".to_owned(),
            })
            .collect();
        let status = Status::from(ApiError::InvalidArgument(violations));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().len() <= MAX_MESSAGE,
            "{}",
            status.message()
        );
        assert!(
            status
                .message()
                .starts_with("invalid request: case.measures[0].kind: ")
        );
        assert!(status.message().ends_with(" more"), "{}", status.message());
        assert!(
            status.details().len() < 4 * 1024,
            "{}",
            status.details().len()
        );
        let details = status.get_error_details();
        let shown = details
            .bad_request()
            .map_or(0, |b| b.field_violations.len());
        assert!(shown > 10);
        let omitted = details
            .error_info()
            .and_then(|info| info.metadata.get("omitted_violations").cloned());
        assert_eq!(omitted, Some((5000 - shown).to_string()));
    }

    #[test]
    fn a_few_violations_are_all_named() {
        let status = Status::from(ApiError::InvalidArgument(vec![
            FieldViolation {
                field: "a".to_owned(),
                description: "is bad".to_owned(),
            },
            FieldViolation {
                field: "b".to_owned(),
                description: "is worse".to_owned(),
            },
        ]));
        assert_eq!(status.message(), "invalid request: a: is bad; b: is worse");
        let details = status.get_error_details();
        assert_eq!(
            details.bad_request().map(|b| b.field_violations.len()),
            Some(2)
        );
        assert!(details.error_info().is_some_and(|i| i.metadata.is_empty()));
    }
}
