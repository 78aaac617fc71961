//! Error assertions (AIP-193): status code, ErrorInfo reason and the field violations of a
//! BadRequest.

use tonic::{Code, Status};
use tonic_types::{ErrorDetail, ErrorInfo, StatusExt};

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
