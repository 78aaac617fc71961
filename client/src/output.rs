//! Rendering of results as aligned text tables, JSON or CSV, and the number formatting they
//! share: thousands separators, yuan from fen, year-on-year change in percent.

use std::io::Write;

use anyhow::Context as _;
use procura_proto::v1::{
    AddresseeType, Adoption, ApplicantType, Case, CaseStatus, CaseType, Date, DateRange, Figure,
    JudicialAid, Measure, MeasureKind, Qualifier, Region, RegionLevel, Resolution,
    ResolutionMethod, Sector, Unit,
};
use serde_json::{Value, json};
use unicode_width::UnicodeWidthStr;

use crate::convert::{enum_name, format_date, format_timestamp, region_code};

/// How a command prints its result (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned text for people.
    #[default]
    Table,
    /// JSON, pretty-printed.
    Json,
    /// CSV with a header row.
    Csv,
}

/// How `rollup` and `releases get|publish` print figures (`--format`): the formats of every
/// command, or SDMX-CSV for exchange with statistics offices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FiguresFormat {
    /// Aligned text for people.
    Table,
    /// JSON, pretty-printed.
    Json,
    /// CSV with a header row.
    Csv,
    /// SDMX-CSV 2.0: one observation per row, dataflow PROCURA:DF_SUPERVISION(1.0).
    SdmxCsv,
}

impl From<OutputFormat> for FiguresFormat {
    fn from(format: OutputFormat) -> Self {
        match format {
            OutputFormat::Table => Self::Table,
            OutputFormat::Json => Self::Json,
            OutputFormat::Csv => Self::Csv,
        }
    }
}

/// Writes text to standard output in one go. A closed pipe (`procura ... | head`) is not an
/// error.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(error).context("cannot write to standard output")
        }
        _ => Ok(()),
    }
}

/// Writes a JSON value to standard output, pretty-printed.
pub fn emit_json(value: &Value) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    emit(&text)
}

/// Writes CSV records (the first one being the header) to standard output.
pub fn emit_csv(records: &[Vec<String>]) -> anyhow::Result<()> {
    emit(&csv_text(records)?)
}

/// Renders CSV records (the first one being the header) as text.
pub fn csv_text(records: &[Vec<String>]) -> anyhow::Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for record in records {
        writer.write_record(record)?;
    }
    let bytes = writer.into_inner().context("cannot render CSV")?;
    Ok(String::from_utf8(bytes)?)
}

/// Formats an integer with thousands separators: `6000` -> `6,000`.
pub fn format_count(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        grouped.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// Formats fen (分) as yuan with thousands separators and two decimals, without floating
/// point: `1234567` -> `12,345.67`.
pub fn format_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    let yuan = i64::try_from(abs / 100).unwrap_or(i64::MAX);
    format!("{sign}{}.{:02}", format_count(yuan), abs % 100)
}

/// Formats a figure's value in its unit: counts as `6,000`, fen as `12,345.67 yuan`.
pub fn format_figure_value(unit: i32, value: i64) -> String {
    if unit == i32::from(Unit::Fen) {
        format!("{} yuan", format_yuan(value))
    } else {
        format_count(value)
    }
}

/// Marks a published value with its qualifier: `6,000` published as "more than" (逾) becomes
/// `6,000+`; other qualifiers leave it as it is.
pub fn qualified(text: String, qualifier: i32) -> String {
    if qualifier == i32::from(Qualifier::MoreThan) {
        format!("{text}+")
    } else {
        text
    }
}

/// A figure's value in its unit with its qualifier: `6,000`, `6,000+`, `12,345.67 yuan`.
pub fn format_figure(figure: &Figure) -> String {
    qualified(
        format_figure_value(figure.unit, figure.value),
        figure.qualifier,
    )
}

/// A figure's value for a table cell whose header gives the unit: counts as `6,000`, fen as
/// yuan without the unit (`12,345.67`), with the qualifier's `+`.
pub fn format_figure_cell(unit: i32, value: i64, qualifier: i32) -> String {
    let text = if unit == i32::from(Unit::Fen) {
        format_yuan(value)
    } else {
        format_count(value)
    };
    qualified(text, qualifier)
}

/// The qualifier of a published figure for a CSV cell: `exact`, `more-than`, or empty for a
/// figure that was not published.
pub fn qualifier_cell(qualifier: i32) -> String {
    if qualifier == 0 {
        String::new()
    } else {
        enum_name::<Qualifier>(qualifier)
    }
}

/// The block characters of a bar, one to eight eighths of a cell wide.
const EIGHTHS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];

/// How many eighths of a cell a value takes in a bar of `width` cells whose full length is
/// `max`: a non-zero value gets at least one eighth, so that it never looks like zero.
fn eighths(value: i64, max: i64, width: usize) -> usize {
    if value <= 0 || max <= 0 {
        return 0;
    }
    let full = width * 8;
    let scaled = (value.min(max) as f64 / max as f64 * full as f64).round() as usize;
    scaled.clamp(1, full)
}

/// A horizontal bar of block characters (`████▌`) for `value` on a scale where `max` fills
/// `width` cells. Zero or negative values give an empty bar.
pub fn bar(value: i64, max: i64, width: usize) -> String {
    let eighths = eighths(value, max, width);
    let mut out = "█".repeat(eighths / 8);
    let rest = eighths % 8;
    if rest > 0 {
        out.push(EIGHTHS[rest - 1]);
    }
    out
}

/// Two bars side by side, `value` then `previous`, each up to `width` cells on the scale of the
/// larger of the two: `████████ █████▌` grew, `█████▌   ████████` shrank. The first bar is
/// padded to `width` so that the second lines up under a header; without a previous value there
/// is only the first.
pub fn bar_pair(value: i64, previous: Option<i64>, width: usize) -> String {
    let Some(previous) = previous else {
        return bar(value, value, width);
    };
    let scale = value.max(previous);
    let now = bar(value, scale, width);
    let padding = " ".repeat(width.saturating_sub(now.chars().count()));
    format!("{now}{padding} {}", bar(previous, scale, width))
        .trim_end()
        .to_owned()
}

/// Formats a year-on-year change: `+59.0%`, `-3.2%`, `0.0%`, or `n/a` when it is undefined
/// (absent, because the previous value is 0) or not a finite number.
pub fn format_change(change_percent: Option<f64>) -> String {
    match change_percent {
        Some(change) if change.is_finite() => {
            let rounded = format!("{:.1}", change.abs());
            if rounded == "0.0" {
                "0.0%".to_owned()
            } else if change > 0.0 {
                format!("+{rounded}%")
            } else {
                format!("-{rounded}%")
            }
        }
        _ => "n/a".to_owned(),
    }
}

/// Formats a ratio in percent with one decimal (`66.7%`), or `n/a` when undefined.
pub fn format_percent(percent: Option<f64>) -> String {
    match percent {
        Some(p) if p.is_finite() => format!("{p:.1}%"),
        _ => "n/a".to_owned(),
    }
}

/// Formats a range of days as `2020-01-01 to 2020-12-31`.
pub fn format_range(range: &DateRange) -> String {
    let end = |date: Option<&Date>| date.map_or_else(|| "?".to_owned(), format_date);
    format!(
        "{} to {}",
        end(range.start.as_ref()),
        end(range.end.as_ref())
    )
}

/// A text table whose columns are aligned by display width (CJK characters count double).
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    right_aligned: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers, all left-aligned.
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        let headers: Vec<String> = headers.into_iter().map(Into::into).collect();
        let right_aligned = vec![false; headers.len()];
        Self {
            headers,
            right_aligned,
            rows: Vec::new(),
        }
    }

    /// Right-aligns the columns at these indices (numbers).
    pub fn right_align(mut self, columns: &[usize]) -> Self {
        for &column in columns {
            if let Some(flag) = self.right_aligned.get_mut(column) {
                *flag = true;
            }
        }
        self
    }

    /// Adds a row; missing cells are left empty.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// Renders the header and rows, columns separated by two spaces, without trailing blanks.
    pub fn render(&self) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.width()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.width());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = row.get(i).map_or("", String::as_str);
                let padding = " ".repeat(width.saturating_sub(cell.width()));
                if i > 0 {
                    line.push_str("  ");
                }
                if self.right_aligned[i] {
                    line.push_str(&padding);
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&padding);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Renders `label: value` lines with the values aligned, e.g. for one record.
pub fn render_fields(fields: &[(&str, String)]) -> String {
    let width = fields
        .iter()
        .map(|(label, _)| label.width())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (label, value) in fields {
        let padding = " ".repeat(width - label.width());
        out.push_str(&format!("{label}:{padding} {value}\n"));
    }
    out
}

fn optional_date_json(date: Option<&Date>) -> Value {
    date.map_or(Value::Null, |d| Value::String(format_date(d)))
}

fn timestamp_json(ts: Option<&prost_types::Timestamp>) -> Value {
    ts.map_or(Value::Null, |t| Value::String(format_timestamp(t)))
}

/// A region as JSON.
pub fn region_json(region: &Region) -> Value {
    json!({
        "name": region.name,
        "code": region.code,
        "parent": region_code(&region.parent),
        "level": enum_name::<RegionLevel>(region.level),
        "display_name": region.display_name,
        "english_name": region.english_name,
        "child_count": region.child_count,
    })
}

/// A supervision measure as JSON, with the field names `procura cases import` reads.
pub fn measure_json(measure: &Measure) -> Value {
    json!({
        "name": measure.name,
        "kind": enum_name::<MeasureKind>(measure.kind),
        "issued_on": optional_date_json(measure.issued_on.as_ref()),
        "addressee_type": enum_name::<AddresseeType>(measure.addressee_type),
        "addressee": measure.addressee,
        "adoption": enum_name::<Adoption>(measure.adoption),
        "answered_on": optional_date_json(measure.answered_on.as_ref()),
        "create_time": timestamp_json(measure.create_time.as_ref()),
        "update_time": timestamp_json(measure.update_time.as_ref()),
    })
}

/// A dispute resolution as JSON, with the field names `procura cases import` reads.
pub fn resolution_json(resolution: &Resolution) -> Value {
    json!({
        "name": resolution.name,
        "method": enum_name::<ResolutionMethod>(resolution.method),
        "resolved_on": optional_date_json(resolution.resolved_on.as_ref()),
        "note": resolution.note,
        "create_time": timestamp_json(resolution.create_time.as_ref()),
    })
}

/// A judicial aid grant as JSON, with the amount in integer fen.
pub fn aid_json(aid: &JudicialAid) -> Value {
    json!({
        "name": aid.name,
        "granted_on": optional_date_json(aid.granted_on.as_ref()),
        "amount_fen": aid.amount_fen,
        "recipient": aid.recipient,
        "create_time": timestamp_json(aid.create_time.as_ref()),
    })
}

/// A case with everything under it as JSON, with the field names `procura cases import`
/// reads (so one line of `cases list --format json` output can be imported again).
pub fn case_json(case: &Case) -> Value {
    json!({
        "name": case.name,
        "region": region_code(&case.region),
        "case_number": case.case_number,
        "case_type": enum_name::<CaseType>(case.case_type),
        "status": enum_name::<CaseStatus>(case.status),
        "applicant_type": enum_name::<ApplicantType>(case.applicant_type),
        "sector": enum_name::<Sector>(case.sector),
        "accepted_on": optional_date_json(case.accepted_on.as_ref()),
        "concluded_on": optional_date_json(case.concluded_on.as_ref()),
        "leader_handled": case.leader_handled,
        "public_hearing": case.public_hearing,
        "private_enterprise": case.private_enterprise,
        "spp_listed_batch": case.spp_listed_batch,
        "typical": case.typical,
        "summary": case.summary,
        "measures": case.measures.iter().map(measure_json).collect::<Vec<_>>(),
        "resolution": case.resolution.as_ref().map_or(Value::Null, resolution_json),
        "aid_grants": case.aid_grants.iter().map(aid_json).collect::<Vec<_>>(),
        "create_time": timestamp_json(case.create_time.as_ref()),
        "update_time": timestamp_json(case.update_time.as_ref()),
        "etag": case.etag,
    })
}

/// A rollup figure as JSON; `previous_value` and `change_percent` are null when absent.
pub fn figure_json(figure: &Figure) -> Value {
    json!({
        "metric": figure.metric,
        "label": figure.label,
        "unit": enum_name::<Unit>(figure.unit),
        "value": figure.value,
        "previous_value": figure.previous_value,
        "change_percent": figure.change_percent.filter(|c| c.is_finite()),
        "qualifier": match figure.qualifier {
            0 => Value::Null,
            q => Value::String(enum_name::<Qualifier>(q)),
        },
    })
}

/// A date range as JSON, `{"start": "2020-01-01", "end": "2020-12-31"}`.
pub fn range_json(range: Option<&DateRange>) -> Value {
    range.map_or(Value::Null, |r| {
        json!({
            "start": optional_date_json(r.start.as_ref()),
            "end": optional_date_json(r.end.as_ref()),
        })
    })
}

/// The markers a case carries, in words: `leader-handled, spp-listed (batch 2)`; `-` if none.
pub fn case_markers(case: &Case) -> String {
    let mut markers = Vec::new();
    if case.leader_handled {
        markers.push("leader-handled".to_owned());
    }
    if case.public_hearing {
        markers.push("public-hearing".to_owned());
    }
    if case.private_enterprise {
        markers.push("private-enterprise".to_owned());
    }
    if case.spp_listed_batch > 0 {
        markers.push(format!("spp-listed (batch {})", case.spp_listed_batch));
    }
    if case.typical {
        markers.push("typical".to_owned());
    }
    if markers.is_empty() {
        "-".to_owned()
    } else {
        markers.join(", ")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(6000), "6,000");
        assert_eq!(format_count(1_234_567), "1,234,567");
        assert_eq!(format_count(-1_234), "-1,234");
        assert_eq!(format_count(i64::MIN), "-9,223,372,036,854,775,808");
    }

    #[test]
    fn fen_is_shown_as_yuan() {
        assert_eq!(format_yuan(1_234_567), "12,345.67");
        assert_eq!(format_yuan(5), "0.05");
        assert_eq!(format_yuan(100), "1.00");
        assert_eq!(format_yuan(0), "0.00");
        assert_eq!(format_yuan(-150), "-1.50");
        assert_eq!(
            format_figure_value(Unit::Fen.into(), 1_234_567),
            "12,345.67 yuan"
        );
        assert_eq!(format_figure_value(Unit::Count.into(), 6000), "6,000");
    }

    #[test]
    fn changes_show_sign_and_undefined() {
        assert_eq!(format_change(Some(59.0)), "+59.0%");
        assert_eq!(format_change(Some(-3.24)), "-3.2%");
        assert_eq!(format_change(Some(0.0)), "0.0%");
        assert_eq!(format_change(Some(-0.01)), "0.0%");
        assert_eq!(format_change(Some(100.0 / 3.0)), "+33.3%");
        assert_eq!(format_change(None), "n/a");
        assert_eq!(format_change(Some(f64::INFINITY)), "n/a");
        assert_eq!(format_change(Some(f64::NAN)), "n/a");
    }

    #[test]
    fn bars_scale_to_the_largest_value() {
        assert_eq!(bar(8, 8, 4), "████");
        assert_eq!(bar(4, 8, 4), "██");
        assert_eq!(bar(5, 8, 4), "██▌");
        assert_eq!(bar(1, 64, 1), "▏");
        assert_eq!(
            bar(1, 1_000_000, 10),
            "▏",
            "a non-zero value is never blank"
        );
        assert_eq!(bar(0, 8, 4), "");
        assert_eq!(bar(-3, 8, 4), "");
        assert_eq!(bar(3, 0, 4), "");
        assert_eq!(bar(20, 8, 4), "████", "clamped to the width");
    }

    #[test]
    fn bar_pairs_compare_with_the_previous_value() {
        assert_eq!(bar_pair(380, Some(190), 4), "████ ██");
        assert_eq!(bar_pair(190, Some(380), 4), "██   ████");
        assert_eq!(bar_pair(10, Some(0), 4), "████");
        assert_eq!(bar_pair(0, Some(5), 3), "    ███");
        assert_eq!(bar_pair(10, None, 4), "████");
        assert_eq!(bar_pair(0, Some(0), 4), "");
    }

    #[test]
    fn more_than_values_get_a_plus() {
        let figure = Figure {
            unit: Unit::Count.into(),
            value: 6000,
            qualifier: Qualifier::MoreThan.into(),
            ..Figure::default()
        };
        assert_eq!(format_figure(&figure), "6,000+");
        let exact = Figure {
            qualifier: Qualifier::Exact.into(),
            ..figure.clone()
        };
        assert_eq!(format_figure(&exact), "6,000");
        assert_eq!(
            format_figure_cell(Unit::Fen.into(), 150, Qualifier::MoreThan.into()),
            "1.50+"
        );
        assert_eq!(qualifier_cell(Qualifier::MoreThan.into()), "more-than");
        assert_eq!(qualifier_cell(Qualifier::Exact.into()), "exact");
        assert_eq!(qualifier_cell(0), "");
    }

    #[test]
    fn tables_align_by_display_width() {
        let mut table = Table::new(["CODE", "NAME", "N"]).right_align(&[2]);
        table.push(vec!["530000".into(), "云南省".into(), "16".into()]);
        table.push(vec!["110000".into(), "Beijing".into(), "1".into()]);
        assert_eq!(
            table.render(),
            "CODE    NAME      N\n530000  云南省   16\n110000  Beijing   1\n"
        );
    }

    #[test]
    fn csv_quotes_when_needed() {
        let text =
            csv_text(&[vec!["a".into(), "b".into()], vec!["x,y".into(), "z".into()]]).unwrap();
        assert_eq!(text, "a,b\n\"x,y\",z\n");
    }
}
