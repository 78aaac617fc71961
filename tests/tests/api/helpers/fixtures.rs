//! Builders of valid records (cases, measures, resolutions, aid, dates and periods) and the
//! region rows of `data/regions.csv`.

use std::path::Path;

use procura_proto::v1::{
    AddresseeType, Adoption, ApplicantType, Case, CaseType, Date, DateRange, JudicialAid, Measure,
    MeasureKind, Period, Resolution, ResolutionMethod, Sector, YearMonth, YearQuarter, period,
};

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
