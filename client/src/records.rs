//! Case records written as field maps (a JSON object, a CSV row, or `--set field=value`
//! pairs) and their conversion into a `procura.v1.Case`.
//!
//! Field names are the proto field names in snake_case; enum values are the CLI's kebab-case
//! words or the proto enum names; dates are `YYYY-MM-DD`. Errors name the field as the server
//! does, e.g. `case.measures[0].issued_on`.

use procura_proto::v1::{
    AddresseeType, Adoption, ApplicantType, Case, CaseStatus, CaseType, JudicialAid, Measure,
    MeasureKind, Resolution, ResolutionMethod, Sector,
};
use serde_json::{Map, Value};

use crate::convert::{
    CliEnum, default_addressee_type, parse_bool, parse_date, parse_enum, parse_fen,
    parse_region_code, parse_yuan, region_name,
};

/// A problem with one field of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field, e.g. `case.accepted_on`.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

impl FieldError {
    fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// The case fields that UpdateCase accepts in its `update_mask`.
pub const UPDATABLE_CASE_FIELDS: &[&str] = &[
    "status",
    "concluded_on",
    "case_type",
    "applicant_type",
    "sector",
    "accepted_on",
    "leader_handled",
    "public_hearing",
    "private_enterprise",
    "spp_listed_batch",
    "typical",
    "summary",
];

/// The scalar case fields of a record, in the order of the CSV columns.
pub const CASE_COLUMNS: &[&str] = &[
    "region",
    "case_number",
    "case_type",
    "status",
    "applicant_type",
    "sector",
    "accepted_on",
    "concluded_on",
    "leader_handled",
    "public_hearing",
    "private_enterprise",
    "spp_listed_batch",
    "typical",
    "summary",
];

/// Fields that the CLI prints but the server sets; a record may carry them and they are ignored,
/// so that what `cases list --format json|csv` prints can be imported again.
pub const OUTPUT_ONLY_FIELDS: &[&str] = &["name", "etag", "create_time", "update_time"];

/// A value as text: strings as they are, numbers and booleans written out; `None` for null.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(_) | Value::Object(_) => Some(value.to_string()),
    }
}

fn string_field(path: &str, value: &Value) -> Result<String, FieldError> {
    match value {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(FieldError::new(path, "must be text")),
    }
}

fn bool_field(path: &str, value: &Value) -> Result<bool, FieldError> {
    match value {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::Number(n) if n.as_i64() == Some(0) => Ok(false),
        Value::Number(n) if n.as_i64() == Some(1) => Ok(true),
        Value::String(s) => parse_bool(s).map_err(|e| FieldError::new(path, e)),
        _ => Err(FieldError::new(path, "must be true or false")),
    }
}

fn int_field(path: &str, value: &Value) -> Result<i32, FieldError> {
    let text = text_of(value).unwrap_or_default();
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    text.parse::<i32>()
        .map_err(|_| FieldError::new(path, format!("\"{text}\" is not a whole number")))
}

fn enum_field<T: CliEnum>(path: &str, value: &Value) -> Result<i32, FieldError> {
    match text_of(value) {
        None => Ok(0),
        Some(text) if text.trim().is_empty() => Ok(0),
        Some(text) => parse_enum::<T>(&text)
            .map(Into::into)
            .map_err(|e| FieldError::new(path, e)),
    }
}

fn date_field(path: &str, value: &Value) -> Result<Option<procura_proto::v1::Date>, FieldError> {
    match text_of(value) {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => parse_date(&text)
            .map(Some)
            .map_err(|e| FieldError::new(path, e)),
    }
}

/// Sets one scalar field of a case from a value. An empty or null value resets the field
/// (a date becomes absent, text empty, a flag false).
pub fn set_case_field(case: &mut Case, field: &str, value: &Value) -> Result<(), FieldError> {
    let path = format!("case.{field}");
    let path = path.as_str();
    match field {
        "region" => {
            let text = string_field(path, value)?;
            case.region = if text.trim().is_empty() {
                String::new()
            } else {
                region_name(&parse_region_code(&text).map_err(|e| FieldError::new(path, e))?)
            };
        }
        "case_number" => case.case_number = string_field(path, value)?.trim().to_owned(),
        "case_type" => case.case_type = enum_field::<CaseType>(path, value)?,
        "status" => case.status = enum_field::<CaseStatus>(path, value)?,
        "applicant_type" => case.applicant_type = enum_field::<ApplicantType>(path, value)?,
        "sector" => case.sector = enum_field::<Sector>(path, value)?,
        "accepted_on" => case.accepted_on = date_field(path, value)?,
        "concluded_on" => case.concluded_on = date_field(path, value)?,
        "leader_handled" => case.leader_handled = bool_field(path, value)?,
        "public_hearing" => case.public_hearing = bool_field(path, value)?,
        "private_enterprise" => case.private_enterprise = bool_field(path, value)?,
        "spp_listed_batch" => case.spp_listed_batch = int_field(path, value)?,
        "typical" => case.typical = bool_field(path, value)?,
        "summary" => case.summary = string_field(path, value)?,
        _ => {
            return Err(FieldError::new(
                path,
                format!("unknown field; the fields are {}", CASE_COLUMNS.join(", ")),
            ));
        }
    }
    Ok(())
}

fn object<'a>(path: &str, value: &'a Value) -> Result<&'a Map<String, Value>, FieldError> {
    value
        .as_object()
        .ok_or_else(|| FieldError::new(path, "must be an object"))
}

fn array<'a>(path: &str, value: &'a Value) -> Result<&'a [Value], FieldError> {
    match value {
        Value::Null => Ok(&[]),
        Value::Array(items) => Ok(items),
        _ => Err(FieldError::new(path, "must be an array")),
    }
}

fn required<T>(path: &str, value: Option<T>) -> Result<T, FieldError> {
    value.ok_or_else(|| FieldError::new(path, "is required"))
}

fn is_present(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(_) => true,
    }
}

fn check_known_fields(
    path: &str,
    map: &Map<String, Value>,
    known: &[&str],
) -> Result<(), FieldError> {
    match map
        .keys()
        .find(|key| !known.contains(&key.as_str()) && !OUTPUT_ONLY_FIELDS.contains(&key.as_str()))
    {
        Some(key) => Err(FieldError::new(
            format!("{path}.{key}"),
            format!("unknown field; the fields are {}", known.join(", ")),
        )),
        None => Ok(()),
    }
}

/// A supervision measure from a record.
fn measure_from(path: &str, map: &Map<String, Value>) -> Result<Measure, FieldError> {
    check_known_fields(
        path,
        map,
        &[
            "kind",
            "issued_on",
            "addressee_type",
            "addressee",
            "adoption",
            "answered_on",
        ],
    )?;
    let field = |name: &str| {
        (
            format!("{path}.{name}"),
            map.get(name).unwrap_or(&Value::Null),
        )
    };
    let (kind_path, kind_value) = field("kind");
    let kind = enum_field::<MeasureKind>(&kind_path, kind_value)?;
    if kind == 0 {
        return Err(FieldError::new(kind_path, "is required"));
    }
    let (issued_path, issued_value) = field("issued_on");
    let issued_on = required(&issued_path, date_field(&issued_path, issued_value)?)?;
    let (type_path, type_value) = field("addressee_type");
    let mut addressee_type = enum_field::<AddresseeType>(&type_path, type_value)?;
    if addressee_type == 0 {
        addressee_type = MeasureKind::try_from(kind)
            .ok()
            .and_then(default_addressee_type)
            .map(Into::into)
            .ok_or_else(|| {
                FieldError::new(
                    &type_path,
                    "is required for a social governance suggestion \
                     (court, administrative-organ or other-organ)",
                )
            })?;
    }
    let (addressee_path, addressee_value) = field("addressee");
    let addressee = string_field(&addressee_path, addressee_value)?;
    if addressee.trim().is_empty() {
        return Err(FieldError::new(addressee_path, "is required"));
    }
    let (adoption_path, adoption_value) = field("adoption");
    let (answered_path, answered_value) = field("answered_on");
    Ok(Measure {
        kind,
        issued_on: Some(issued_on),
        addressee_type,
        addressee,
        adoption: enum_field::<Adoption>(&adoption_path, adoption_value)?,
        answered_on: date_field(&answered_path, answered_value)?,
        ..Measure::default()
    })
}

/// A dispute resolution from a record.
fn resolution_from(path: &str, map: &Map<String, Value>) -> Result<Resolution, FieldError> {
    check_known_fields(path, map, &["method", "resolved_on", "note"])?;
    let field = |name: &str| {
        (
            format!("{path}.{name}"),
            map.get(name).unwrap_or(&Value::Null),
        )
    };
    let (method_path, method_value) = field("method");
    let method = enum_field::<ResolutionMethod>(&method_path, method_value)?;
    if method == 0 {
        return Err(FieldError::new(method_path, "is required"));
    }
    let (resolved_path, resolved_value) = field("resolved_on");
    let resolved_on = required(&resolved_path, date_field(&resolved_path, resolved_value)?)?;
    let (note_path, note_value) = field("note");
    Ok(Resolution {
        method,
        resolved_on: Some(resolved_on),
        note: string_field(&note_path, note_value)?,
        ..Resolution::default()
    })
}

/// A judicial aid grant from a record: the amount as `amount_fen` (integer fen) or
/// `amount_yuan` (decimal yuan), not both.
fn aid_from(path: &str, map: &Map<String, Value>) -> Result<JudicialAid, FieldError> {
    check_known_fields(
        path,
        map,
        &["granted_on", "amount_fen", "amount_yuan", "recipient"],
    )?;
    let field = |name: &str| {
        (
            format!("{path}.{name}"),
            map.get(name).unwrap_or(&Value::Null),
        )
    };
    let (granted_path, granted_value) = field("granted_on");
    let granted_on = required(&granted_path, date_field(&granted_path, granted_value)?)?;
    let (fen_path, fen_value) = field("amount_fen");
    let (yuan_path, yuan_value) = field("amount_yuan");
    let amount_fen = match (text_of(fen_value), text_of(yuan_value)) {
        (Some(_), Some(_)) => {
            return Err(FieldError::new(
                fen_path,
                "give amount_fen or amount_yuan, not both",
            ));
        }
        (Some(fen), None) => parse_fen(&fen).map_err(|e| FieldError::new(&fen_path, e))?,
        (None, Some(yuan)) => parse_yuan(&yuan).map_err(|e| FieldError::new(&yuan_path, e))?,
        (None, None) => {
            return Err(FieldError::new(fen_path, "is required (or amount_yuan)"));
        }
    };
    let (recipient_path, recipient_value) = field("recipient");
    Ok(JudicialAid {
        granted_on: Some(granted_on),
        amount_fen,
        recipient: string_field(&recipient_path, recipient_value)?,
        ..JudicialAid::default()
    })
}

/// A new case from a record (one line of an import file): the scalar case fields plus, in
/// JSON, `measures`, `resolution` and `aid_grants`. Checks that the required fields are there;
/// the server checks the rest.
pub fn case_from_record(record: &Map<String, Value>) -> Result<Case, FieldError> {
    let mut case = Case::default();
    for (field, value) in record {
        match field.as_str() {
            "measures" => {
                for (i, item) in array("case.measures", value)?.iter().enumerate() {
                    let path = format!("case.measures[{i}]");
                    case.measures
                        .push(measure_from(&path, object(&path, item)?)?);
                }
            }
            "resolution" => {
                if !value.is_null() {
                    case.resolution = Some(resolution_from(
                        "case.resolution",
                        object("case.resolution", value)?,
                    )?);
                }
            }
            "aid_grants" => {
                for (i, item) in array("case.aid_grants", value)?.iter().enumerate() {
                    let path = format!("case.aid_grants[{i}]");
                    case.aid_grants.push(aid_from(&path, object(&path, item)?)?);
                }
            }
            name if OUTPUT_ONLY_FIELDS.contains(&name) => {}
            name => set_case_field(&mut case, name, value)?,
        }
    }
    for field in [
        "region",
        "case_number",
        "case_type",
        "applicant_type",
        "sector",
        "accepted_on",
    ] {
        if !is_present(record.get(field)) {
            return Err(FieldError::new(format!("case.{field}"), "is required"));
        }
    }
    Ok(case)
}

/// Parses `field=value` from `cases update --set`. The field may be written with dashes
/// (`concluded-on`); it must be one of [`UPDATABLE_CASE_FIELDS`].
pub fn parse_set_pair(text: &str) -> Result<(String, String), String> {
    let (field, value) = text
        .split_once('=')
        .ok_or_else(|| format!("\"{text}\" is not field=value, e.g. status=concluded"))?;
    let field = field.trim().replace('-', "_");
    if !UPDATABLE_CASE_FIELDS.contains(&field.as_str()) {
        let hint = if field == "region" || field == "case_number" {
            " (region and case_number cannot be changed)".to_owned()
        } else {
            String::new()
        };
        return Err(format!(
            "\"{field}\" cannot be updated{hint}; the updatable fields are {}",
            UPDATABLE_CASE_FIELDS.join(", ")
        ));
    }
    Ok((field, value.to_owned()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    fn minimal() -> Value {
        json!({
            "region": "530100",
            "case_number": "昆检行监〔2020〕1号",
            "case_type": "judgment",
            "applicant_type": "natural-person",
            "sector": "natural-resources",
            "accepted_on": "2020-03-01",
        })
    }

    #[test]
    fn a_full_record_becomes_a_case() {
        let mut value = minimal();
        value["case_type"] = json!("CASE_TYPE_ENFORCEMENT_SUPERVISION");
        value["status"] = json!("concluded");
        value["concluded_on"] = json!("2020-05-01");
        value["spp_listed_batch"] = json!(2);
        value["typical"] = json!(true);
        value["measures"] = json!([
            {"kind": "protest", "issued_on": "2020-04-01", "addressee": "昆明市中级人民法院"},
            {"kind": "administrative-organ-suggestion", "issued_on": "2020-04-02",
             "addressee": "昆明市自然资源局", "adoption": "adopted", "answered_on": "2020-04-20"}
        ]);
        value["resolution"] = json!({"method": "reconciliation", "resolved_on": "2020-05-01"});
        value["aid_grants"] = json!([
            {"granted_on": "2020-04-15", "amount_yuan": "1234.56", "recipient": "张某"},
            {"granted_on": "2020-04-16", "amount_fen": 5000}
        ]);
        let case = case_from_record(&record(value)).unwrap();
        assert_eq!(case.region, "regions/530100");
        assert_eq!(case.case_type, i32::from(CaseType::EnforcementSupervision));
        assert_eq!(case.status, i32::from(CaseStatus::Concluded));
        assert_eq!(case.spp_listed_batch, 2);
        assert!(case.typical);
        assert_eq!(case.measures.len(), 2);
        assert_eq!(
            case.measures[0].addressee_type,
            i32::from(AddresseeType::Court)
        );
        assert_eq!(
            case.measures[1].addressee_type,
            i32::from(AddresseeType::AdministrativeOrgan)
        );
        assert_eq!(case.measures[1].adoption, i32::from(Adoption::Adopted));
        assert!(case.resolution.is_some());
        assert_eq!(case.aid_grants[0].amount_fen, 123_456);
        assert_eq!(case.aid_grants[1].amount_fen, 5000);
    }

    #[test]
    fn csv_like_string_values_are_accepted() {
        let mut value = minimal();
        value["leader_handled"] = json!("yes");
        value["spp_listed_batch"] = json!("3");
        value["name"] = json!("cases/7");
        let case = case_from_record(&record(value)).unwrap();
        assert!(case.leader_handled);
        assert_eq!(case.spp_listed_batch, 3);
    }

    #[test]
    fn errors_name_the_field() {
        let mut value = minimal();
        value["accepted_on"] = json!("2020-02-30");
        let error = case_from_record(&record(value)).unwrap_err();
        assert_eq!(error.field, "case.accepted_on");

        let mut value = minimal();
        value["case_type"] = json!("judgement");
        assert_eq!(
            case_from_record(&record(value)).unwrap_err().field,
            "case.case_type"
        );

        let mut value = minimal();
        value["sector"] = json!("");
        assert_eq!(
            case_from_record(&record(value)).unwrap_err().to_string(),
            "case.sector: is required"
        );

        let mut value = minimal();
        value["colour"] = json!("red");
        assert_eq!(
            case_from_record(&record(value)).unwrap_err().field,
            "case.colour"
        );

        let mut value = minimal();
        value["measures"] = json!([{"kind": "social-governance-suggestion",
                                     "issued_on": "2020-04-01", "addressee": "某局"}]);
        assert_eq!(
            case_from_record(&record(value)).unwrap_err().field,
            "case.measures[0].addressee_type"
        );

        let mut value = minimal();
        value["aid_grants"] = json!([{"granted_on": "2020-04-01", "amount_yuan": "1.234"}]);
        assert_eq!(
            case_from_record(&record(value)).unwrap_err().field,
            "case.aid_grants[0].amount_yuan"
        );
    }

    #[test]
    fn set_pairs_are_checked() {
        assert_eq!(
            parse_set_pair("concluded-on=2020-05-01"),
            Ok(("concluded_on".to_owned(), "2020-05-01".to_owned()))
        );
        assert_eq!(
            parse_set_pair("summary=a=b"),
            Ok(("summary".to_owned(), "a=b".to_owned()))
        );
        assert!(parse_set_pair("status").is_err());
        assert!(
            parse_set_pair("region=530000")
                .unwrap_err()
                .contains("cannot be changed")
        );
    }

    #[test]
    fn an_empty_value_resets_a_field() {
        let mut case = Case {
            concluded_on: Some(procura_proto::v1::Date {
                year: 2020,
                month: 1,
                day: 1,
            }),
            ..Case::default()
        };
        set_case_field(&mut case, "concluded_on", &json!("")).unwrap();
        assert_eq!(case.concluded_on, None);
    }
}
