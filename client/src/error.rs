//! How failures are told to the user: a gRPC status in words with its rich error details
//! (AIP-193: BadRequest field violations, PreconditionFailure, ErrorInfo), what to do about a
//! refused credential or a missing permission, or a server that cannot be reached.

use std::path::Path;

use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::credentials::TokenSource;

/// The server could not be reached at all (refused, timed out, bad address).
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot reach the procura server at {url}: {reason} \
     (is procura-server running? set --server or PROCURA_SERVER)"
)]
pub struct Unreachable {
    /// The URL that was tried.
    pub url: String,
    /// Why, as the transport said it (the error and its causes).
    pub reason: String,
}

/// A status code in words, e.g. `invalid argument`, `already exists`.
pub fn code_in_words(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown error",
        Code::InvalidArgument => "invalid argument",
        Code::DeadlineExceeded => "deadline exceeded",
        Code::NotFound => "not found",
        Code::AlreadyExists => "already exists",
        Code::PermissionDenied => "permission denied",
        Code::ResourceExhausted => "resource exhausted",
        Code::FailedPrecondition => "failed precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out of range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal error",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// One field violation of a BadRequest detail, or a precondition violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field (or the subject of a precondition), e.g. `case.accepted_on`.
    pub field: String,
    /// What is wrong.
    pub description: String,
}

/// The field and precondition violations a status carries in its details.
pub fn violations(status: &Status) -> Vec<Violation> {
    let details = status.get_error_details();
    let mut found = Vec::new();
    if let Some(bad_request) = details.bad_request() {
        found.extend(bad_request.field_violations.iter().map(|v| Violation {
            field: v.field.clone(),
            description: v.description.clone(),
        }));
    }
    if let Some(precondition) = details.precondition_failure() {
        found.extend(precondition.violations.iter().map(|v| Violation {
            field: if v.subject.is_empty() {
                v.r#type.clone()
            } else {
                v.subject.clone()
            },
            description: v.description.clone(),
        }));
    }
    found
}

/// The lines that describe a failed call: `error: <code in words>: <message>`, then one
/// `  - field: description` line per violation, then the ErrorInfo reason if there is one.
pub fn describe_status(status: &Status) -> Vec<String> {
    let message = if status.message().is_empty() {
        "(no message)"
    } else {
        status.message()
    };
    let mut lines = vec![format!(
        "error: {}: {message}",
        code_in_words(status.code())
    )];
    for violation in violations(status) {
        lines.push(format!(
            "  - {}: {}",
            violation.field, violation.description
        ));
    }
    if let Some(info) = status.get_error_details().error_info() {
        let mut line = format!("  reason: {}", info.reason);
        if !info.domain.is_empty() {
            line.push_str(&format!(" ({})", info.domain));
        }
        let mut metadata: Vec<_> = info.metadata.iter().collect();
        metadata.sort();
        for (key, value) in metadata {
            line.push_str(&format!(", {key}={value}"));
        }
        lines.push(line);
    }
    lines
}

/// The permission and the region a PERMISSION_DENIED status names in its ErrorInfo metadata
/// (`permission`, `region`), when it names them.
pub fn missing_permission(status: &Status) -> (Option<String>, Option<String>) {
    let details = status.get_error_details();
    let Some(info) = details.error_info() else {
        return (None, None);
    };
    let value = |key: &str| info.metadata.get(key).filter(|v| !v.is_empty()).cloned();
    (value("permission"), value("region"))
}

/// What to do about a refused credential, after the lines of [`describe_status`]: for
/// UNAUTHENTICATED, how to give a token (`sent`: where the token sent came from, if one was;
/// `file`: the credentials file looked at; `certificate`: whether a client certificate was
/// given); for PERMISSION_DENIED, the permission and region missing and how to see one's
/// grants. Nothing for other codes. Never quotes a token.
pub fn access_hint(
    status: &Status,
    sent: Option<&TokenSource>,
    file: Option<&Path>,
    certificate: bool,
) -> Vec<String> {
    let file_text = file.map_or_else(
        || {
            "a credentials file named with --credentials-file or PROCURA_CREDENTIALS_FILE \
             (none was looked at: HOME is not set)"
                .to_owned()
        },
        |f| {
            format!(
                "the credentials file {} (chmod 600; another file with --credentials-file or \
                 PROCURA_CREDENTIALS_FILE)",
                f.display()
            )
        },
    );
    match status.code() {
        Code::Unauthenticated => {
            let mut lines = Vec::new();
            match sent {
                Some(source) => lines.push(format!(
                    "  the token from {source} was refused: it may be mistyped, expired or \
                     revoked; ask an administrator for a new one"
                )),
                None if certificate => lines.push(
                    "  no token was sent and the client certificate (--cert) was not accepted: \
                     it must name a service principal in its URI SAN, procura://svc/ID"
                        .to_owned(),
                ),
                None => lines.push("  no credential was sent".to_owned()),
            }
            lines.push(format!(
                "  give a token with --token TOKEN or PROCURA_TOKEN, or as a line `token = TOKEN` \
                 in {file_text}"
            ));
            lines.push(
                "  tokens are issued by an administrator (procura admin tokens create \
                 PRINCIPAL_ID); the first one on the server host with `procura-server admin \
                 bootstrap-token`"
                    .to_owned(),
            );
            lines
        }
        Code::PermissionDenied => {
            let mut lines = Vec::new();
            match missing_permission(status) {
                (Some(permission), Some(region)) => lines.push(format!(
                    "  missing permission: {permission} at region {}",
                    region.strip_prefix("regions/").unwrap_or(&region)
                )),
                (Some(permission), None) => {
                    lines.push(format!("  missing permission: {permission}"));
                }
                (None, Some(region)) => lines.push(format!(
                    "  not allowed at region {}",
                    region.strip_prefix("regions/").unwrap_or(&region)
                )),
                (None, None) => {}
            }
            lines.push(
                "  your grants: procura auth whoami; an administrator of the region grants \
                 roles with procura admin grants create"
                    .to_owned(),
            );
            lines
        }
        _ => Vec::new(),
    }
}

/// The causes of an error joined by `: `, skipping repeats (transport errors nest a lot).
pub fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// The lines that describe any error a command returned.
pub fn describe(error: &anyhow::Error, server: &str) -> Vec<String> {
    if let Some(status) = error.downcast_ref::<Status>() {
        // A call that failed below gRPC (connection refused or reset) after connecting.
        if status.code() == Code::Unavailable
            && let Some(source) = std::error::Error::source(status)
        {
            return vec![format!(
                "error: {}",
                Unreachable {
                    url: server.to_owned(),
                    reason: cause_chain(source),
                }
            )];
        }
        let mut lines = describe_status(status);
        // Context added on top of the status (e.g. which import line) goes first.
        let outer = error.to_string();
        if outer != status.to_string() {
            let first = lines[0].strip_prefix("error: ").unwrap_or(&lines[0]);
            lines[0] = format!("error: {outer}: {first}");
        }
        return lines;
    }
    vec![format!("error: {}", cause_chain(error.as_ref()))]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tonic_types::{ErrorDetails, FieldViolation};

    #[test]
    fn field_violations_get_one_line_each() {
        let mut details = ErrorDetails::with_bad_request(vec![
            FieldViolation::new("case.accepted_on", "must not be in the future"),
            FieldViolation::new("case.sector", "is required"),
        ]);
        details.set_error_info("INVALID_CASE", "procura.v1", []);
        let status =
            Status::with_error_details(Code::InvalidArgument, "the case is not valid", details);
        assert_eq!(
            describe_status(&status),
            vec![
                "error: invalid argument: the case is not valid",
                "  - case.accepted_on: must not be in the future",
                "  - case.sector: is required",
                "  reason: INVALID_CASE (procura.v1)",
            ]
        );
    }

    #[test]
    fn a_plain_status_is_one_line() {
        let status = Status::not_found("case cases/9 does not exist");
        assert_eq!(
            describe(&anyhow::Error::from(status), "http://x"),
            vec!["error: not found: case cases/9 does not exist"]
        );
    }

    #[test]
    fn a_denial_names_the_permission_and_the_region() {
        let mut details = ErrorDetails::new();
        details.set_error_info(
            "PERMISSION_DENIED",
            "procura.v1",
            [
                ("permission".to_owned(), "cases.write".to_owned()),
                ("region".to_owned(), "regions/530100".to_owned()),
            ],
        );
        let status = Status::with_error_details(
            Code::PermissionDenied,
            "zhang-san may not write cases at regions/530100",
            details,
        );
        let mut lines = describe(&anyhow::Error::from(status.clone()), "http://x");
        lines.extend(access_hint(&status, None, None, false));
        assert_eq!(
            lines[..3],
            [
                "error: permission denied: zhang-san may not write cases at regions/530100",
                "  reason: PERMISSION_DENIED (procura.v1), permission=cases.write, \
                 region=regions/530100",
                "  missing permission: cases.write at region 530100",
            ]
        );
        assert!(lines[3].contains("procura auth whoami"), "{lines:?}");
    }

    #[test]
    fn an_unauthenticated_call_says_how_to_give_a_token() {
        let status = Status::unauthenticated("a credential is required");
        let file = Path::new("/home/u/.config/procura/credentials");
        let lines = access_hint(&status, None, Some(file), false).join("\n");
        assert!(lines.contains("no credential was sent"), "{lines}");
        assert!(lines.contains("--token"), "{lines}");
        assert!(lines.contains("PROCURA_TOKEN"), "{lines}");
        assert!(
            lines.contains("/home/u/.config/procura/credentials"),
            "{lines}"
        );
        assert!(
            lines.contains("procura-server admin bootstrap-token"),
            "{lines}"
        );
        let lines = access_hint(&status, Some(&TokenSource::Env), Some(file), false).join("\n");
        assert!(
            lines.contains("the token from PROCURA_TOKEN was refused"),
            "{lines}"
        );
        assert!(access_hint(&Status::not_found("x"), None, None, false).is_empty());
    }

    #[test]
    fn other_errors_show_their_causes() {
        let error = anyhow::anyhow!("inner").context("outer");
        assert_eq!(describe(&error, "http://x"), vec!["error: outer: inner"]);
    }
}
