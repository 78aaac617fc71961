//! Charts of a rollup (汇总统计图) drawn with `plotters` into an SVG or PNG file: bars per
//! region of one figure (with a breakdown), and the main figures against the comparison period.
//!
//! Text is drawn with a font built into the binary, which has the Chinese of every region name
//! and figure label, so a PNG labels regions by code and Chinese name on any machine, with or
//! without fonts installed ([`text`]: the fonts, `PROCURA_CHART_FONT`, and the drawing of PNG
//! text). SVG files keep their text as text, drawn by the viewer with its own fonts.

mod text;

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use procura_proto::v1::{Rollup, Unit};

use crate::convert::{enum_name, region_code};
use crate::output::{format_count, format_range, format_yuan};

/// Width of a chart in pixels.
const WIDTH: u32 = 1000;
/// Colour of this period's bars.
const CURRENT: RGBColor = RGBColor(0x2b, 0x6c, 0xb0);
/// Colour of the comparison period's bars.
const PREVIOUS: RGBColor = RGBColor(0xb0, 0xb0, 0xb0);
/// The figures drawn in the second panel, against the comparison period: the measures by kind,
/// the resolutions and the aid grants.
pub const MAIN_FIGURES: &[&str] = &[
    "measures.protest",
    "measures.retrial_suggestion",
    "measures.trial_violation_suggestion",
    "measures.enforcement_violation_suggestion",
    "measures.social_governance_suggestion",
    "measures.administrative_organ_suggestion",
    "resolutions.total",
    "aid.grants",
];

pub use text::{BUILT_IN, Fonts, GlyphText, Line, fonts};

use text::FAMILY;

/// The kind of chart file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    /// Scalable vector graphics, text kept as text.
    Svg,
    /// A PNG picture.
    Png,
}

impl ChartKind {
    /// The kind a file name says, or an error naming the two.
    pub fn of(path: &Path) -> anyhow::Result<Self> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("svg") => Ok(Self::Svg),
            Some("png") => Ok(Self::Png),
            _ => anyhow::bail!(
                "--chart {}: the file must end in .svg or .png",
                path.display()
            ),
        }
    }
}

/// What a chart is drawn from.
#[derive(Debug)]
pub struct ChartInput<'a> {
    /// The rollup.
    pub rollup: &'a Rollup,
    /// The figure drawn per region, e.g. `measures.total`.
    pub metric: &'a str,
}

/// How a chart came out, for the message after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartOutcome {
    /// The font file of `PROCURA_CHART_FONT`, when it is used (else the built-in font).
    pub font: Option<PathBuf>,
    /// Regions labelled by code alone: their names have characters no chart font has.
    pub unnamed_regions: usize,
    /// Whether the panel of regions was drawn (it needs a breakdown).
    pub breakdown_panel: bool,
}

impl ChartOutcome {
    /// Remarks for the user, e.g. ` (no panel per region (give --by))`.
    pub fn notes(&self) -> String {
        let mut notes = Vec::new();
        if !self.breakdown_panel {
            notes.push("no panel per region (give --by)".to_owned());
        }
        if self.unnamed_regions > 0 {
            notes.push(format!(
                "{} region(s) labelled by code alone: no chart font has every character of \
                 their names",
                self.unnamed_regions
            ));
        }
        if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        }
    }
}

/// One bar of the panel of regions.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionBar {
    /// The label, e.g. `530100 昆明市`.
    pub label: String,
    /// The value in the unit drawn (yuan for money).
    pub value: f64,
}

/// One group of the panel of main figures: this period and the comparison period.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureBars {
    /// The figure's label.
    pub label: String,
    /// This period's value.
    pub value: f64,
    /// The comparison period's value, if compared.
    pub previous: Option<f64>,
}

/// Everything a chart shows, worked out from the rollup before drawing.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartPlan {
    /// The title over the panel of main figures.
    pub title: String,
    /// The title over the panel of regions.
    pub breakdown_title: String,
    /// The unit of the panel of regions, for its axis: `count` or `yuan`.
    pub breakdown_unit: String,
    /// The bars per region, empty without a breakdown.
    pub regions: Vec<RegionBar>,
    /// The main figures.
    pub figures: Vec<FigureBars>,
    /// Legend of this period's bars.
    pub current_label: String,
    /// Legend of the comparison period's bars.
    pub previous_label: String,
}

/// A figure label without its Chinese part: `Protests (抗诉)` -> `Protests`.
pub fn english_part(label: &str) -> &str {
    match label.find(" (") {
        Some(at) if !label[at..].is_ascii() => &label[..at],
        _ => label,
    }
}

/// The label of a region in a chart: code and name where the name can be drawn, else the
/// code alone.
pub fn region_label(code: &str, display_name: &str, can_draw: &dyn Fn(&str) -> bool) -> String {
    if !display_name.is_empty() && can_draw(display_name) {
        format!("{code} {display_name}")
    } else {
        code.to_owned()
    }
}

/// A value in the unit drawn: fen become yuan.
fn drawn_value(unit: i32, value: i64) -> f64 {
    if unit == i32::from(Unit::Fen) {
        value as f64 / 100.0
    } else {
        value as f64
    }
}

/// Works out what to draw, with the texts `can_draw` can draw: a figure label without its
/// Chinese part, a region by code alone, when their characters cannot be drawn. Fails when
/// the rollup has no figure `metric`.
pub fn plan(
    rollup: &Rollup,
    metric: &str,
    can_draw: &dyn Fn(&str) -> bool,
) -> anyhow::Result<ChartPlan> {
    let Some(total) = rollup.figures.iter().find(|f| f.metric == metric) else {
        let known: Vec<&str> = rollup.figures.iter().map(|f| f.metric.as_str()).collect();
        anyhow::bail!(
            "--chart-metric {metric}: the rollup has no such figure; the figures are {}",
            known.join(", ")
        );
    };
    let label = |text: &str| {
        if can_draw(text) {
            text.to_owned()
        } else {
            english_part(text).to_owned()
        }
    };
    let region = region_label(region_code(&rollup.region), &rollup.display_name, can_draw);
    let period = rollup.period.as_ref().map(format_range).unwrap_or_default();
    let regions = rollup
        .rows
        .iter()
        .map(|row| {
            let mut label = region_label(region_code(&row.region), &row.display_name, can_draw);
            if row.own_records_only {
                label.push_str(" (own)");
            }
            let value = row
                .figures
                .iter()
                .find(|f| f.metric == metric)
                .map_or(0.0, |f| drawn_value(f.unit, f.value));
            RegionBar { label, value }
        })
        .collect();
    let figures = MAIN_FIGURES
        .iter()
        .filter_map(|metric| rollup.figures.iter().find(|f| f.metric == *metric))
        .map(|f| FigureBars {
            label: label(&f.label),
            value: drawn_value(f.unit, f.value),
            previous: f.previous_value.map(|p| drawn_value(f.unit, p)),
        })
        .collect();
    Ok(ChartPlan {
        title: format!("{region}, {period}"),
        breakdown_title: format!(
            "{} by {}",
            label(&total.label),
            enum_name::<procura_proto::v1::RegionLevel>(rollup.breakdown)
        ),
        breakdown_unit: if total.unit == i32::from(Unit::Fen) {
            "yuan".to_owned()
        } else {
            "count".to_owned()
        },
        regions,
        figures,
        current_label: period,
        previous_label: rollup
            .comparison_period
            .as_ref()
            .map(format_range)
            .unwrap_or_default(),
    })
}

/// Draws the chart of a rollup into `path`, SVG or PNG by its extension.
pub fn draw_rollup_chart(path: &Path, input: &ChartInput<'_>) -> anyhow::Result<ChartOutcome> {
    let kind = ChartKind::of(path)?;
    let fonts = fonts();
    // SVG text is text: the viewer draws every name with its own fonts.
    let can_draw = |text: &str| kind == ChartKind::Svg || fonts.can_draw(text);
    let plan = plan(input.rollup, input.metric, &can_draw)?;
    draw_plan(path, kind, &plan)?;
    let unnamed_regions = input
        .rollup
        .rows
        .iter()
        .filter(|row| !row.display_name.is_empty() && !can_draw(&row.display_name))
        .count();
    Ok(ChartOutcome {
        font: fonts.chosen_path().map(Path::to_path_buf),
        unnamed_regions,
        breakdown_panel: !plan.regions.is_empty(),
    })
}

/// Height in pixels of the panel of regions and of the panel of main figures.
fn panel_heights(plan: &ChartPlan) -> (u32, u32) {
    let regions = if plan.regions.is_empty() {
        0
    } else {
        90 + 24 * plan.regions.len() as u32
    };
    let figures = 110 + 44 * plan.figures.len().max(1) as u32;
    (regions, figures)
}

/// Draws a plan into a file of the given kind.
pub fn draw_plan(path: &Path, kind: ChartKind, plan: &ChartPlan) -> anyhow::Result<()> {
    // The fonts are loaded, and registered with plotters, before anything measures text.
    fonts();
    let (regions, figures) = panel_heights(plan);
    let size = (WIDTH, regions + figures);
    let failed = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!("cannot draw the chart into {}: {e}", path.display())
    };
    match kind {
        ChartKind::Svg => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            draw_panels(&root, plan, regions).map_err(|e| failed(&e))?;
            root.present().map_err(|e| failed(&e))?;
        }
        ChartKind::Png => {
            let root = GlyphText(BitMapBackend::new(path, size)).into_drawing_area();
            draw_panels(&root, plan, regions).map_err(|e| failed(&e))?;
            root.present().map_err(|e| failed(&e))?;
        }
    }
    Ok(())
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw_panels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    plan: &ChartPlan,
    regions_height: u32,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(regions_height);
    if !plan.regions.is_empty() {
        let title = format!("{} — {}", plan.breakdown_title, plan.title);
        let bars: Vec<(String, f64, Option<f64>)> = plan
            .regions
            .iter()
            .map(|r| (r.label.clone(), r.value, None))
            .collect();
        draw_bars(&top, &title, &plan.breakdown_unit, &bars, None)?;
    }
    let bars: Vec<(String, f64, Option<f64>)> = plan
        .figures
        .iter()
        .map(|f| (f.label.clone(), f.value, f.previous))
        .collect();
    let title = format!("Main figures — {}", plan.title);
    let legend = (!plan.previous_label.is_empty())
        .then_some((plan.current_label.as_str(), plan.previous_label.as_str()));
    draw_bars(&bottom, &title, "count", &bars, legend)
}

/// Draws horizontal bars, one row per item from the top, with a second, grey bar below each
/// where there is a previous value, and the values at the ends of the bars.
fn draw_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    unit: &str,
    items: &[(String, f64, Option<f64>)],
    legend: Option<(&str, &str)>,
) -> DrawResult<DB> {
    const LABEL_SIZE: u32 = 13;
    let label_font = (FAMILY, LABEL_SIZE).into_font();
    let n = items.len().max(1);
    let max = items
        .iter()
        .map(|(_, value, previous)| value.max(previous.unwrap_or(0.0)))
        .fold(0.0_f64, f64::max);
    // Room right of the longest bar for its value, and for the legend where there is one.
    let headroom = if legend.is_some() { 1.45 } else { 1.15 };
    let x_max = if max > 0.0 { max * headroom } else { 1.0 };
    // Labels measured with the fonts that draw them (an SVG viewer's differ a little).
    let label_width = items
        .iter()
        .map(|(label, _, _)| fonts().line(label, LABEL_SIZE as f32).width.ceil() as u32)
        .max()
        .unwrap_or(0)
        + 14;
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(12)
        .margin_right(30)
        .x_label_area_size(36)
        .y_label_area_size(label_width.clamp(20, WIDTH / 2))
        .caption(title, (FAMILY, 17));
    let mut chart = builder.build_cartesian_2d(0.0..x_max, -0.5..(n as f64 - 0.5))?;
    let format_value = |value: f64| {
        if unit == "yuan" {
            format_yuan((value * 100.0).round() as i64)
        } else {
            format_count(value.round() as i64)
        }
    };
    {
        // Axis labels are whole numbers (no fen on a money axis); ticks between whole numbers,
        // on an axis of a few units, get none.
        let axis_label = |x: &f64| {
            if (x - x.round()).abs() < 1e-9 {
                format_count(x.round() as i64)
            } else {
                String::new()
            }
        };
        let mut mesh = chart.configure_mesh();
        mesh.disable_y_mesh()
            .y_labels(0)
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd));
        mesh.x_labels(6)
            .x_label_formatter(&axis_label)
            .label_style(label_font.clone())
            .x_desc(unit);
        mesh.draw()?;
    }
    // Row i is drawn around y = n - 1 - i, so the first item is at the top.
    let row_y = |i: usize| (n - 1 - i) as f64;
    let compared = items.iter().any(|(_, _, previous)| previous.is_some());
    let (current_band, previous_band) = if compared {
        ((0.02, 0.38), (-0.38, -0.02))
    } else {
        ((-0.35, 0.35), (0.0, 0.0))
    };
    let current = chart.draw_series(items.iter().enumerate().map(|(i, (_, value, _))| {
        let y = row_y(i);
        Rectangle::new(
            [(0.0, y + current_band.0), (*value, y + current_band.1)],
            CURRENT.filled(),
        )
    }))?;
    if let Some((current_label, _)) = legend {
        current
            .label(current_label)
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], CURRENT.filled()));
    }
    if compared {
        let previous = chart.draw_series(items.iter().enumerate().filter_map(
            |(i, (_, _, previous))| {
                let y = row_y(i);
                previous.map(|p| {
                    Rectangle::new(
                        [(0.0, y + previous_band.0), (p, y + previous_band.1)],
                        PREVIOUS.filled(),
                    )
                })
            },
        ))?;
        if let Some((_, previous_label)) = legend {
            previous
                .label(previous_label)
                .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], PREVIOUS.filled()));
        }
    }
    let small = (FAMILY, 12).into_font();
    let left = label_font
        .clone()
        .into_text_style(area)
        .pos(Pos::new(HPos::Right, VPos::Center));
    let right = small
        .clone()
        .into_text_style(area)
        .pos(Pos::new(HPos::Left, VPos::Center));
    // Labels left of the axis, values at the ends of the bars (offsets in pixels).
    chart.draw_series(items.iter().enumerate().map(|(i, (label, _, _))| {
        EmptyElement::at((0.0, row_y(i))) + Text::new(label.clone(), (-8, 0), left.clone())
    }))?;
    let mut values = Vec::new();
    for (i, (_, value, previous)) in items.iter().enumerate() {
        let y = row_y(i);
        values.push((*value, y + (current_band.0 + current_band.1) / 2.0));
        if let Some(p) = previous {
            values.push((*p, y + (previous_band.0 + previous_band.1) / 2.0));
        }
    }
    chart.draw_series(values.into_iter().map(|(value, y)| {
        EmptyElement::at((value, y)) + Text::new(format_value(value), (4, 0), right.clone())
    }))?;
    if legend.is_some() && compared {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(small)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(0xcc, 0xcc, 0xcc))
            .draw()?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use procura_proto::v1::{Date, DateRange, Figure, RegionLevel, RollupRow};

    fn figure(metric: &str, label: &str, value: i64, previous: i64) -> Figure {
        Figure {
            metric: metric.to_owned(),
            label: label.to_owned(),
            unit: Unit::Count.into(),
            value,
            previous_value: Some(previous),
            ..Figure::default()
        }
    }

    fn sample() -> Rollup {
        let date = |year, month, day| Some(Date { year, month, day });
        let figures = vec![
            figure("measures.total", "Measures (监督措施)", 120, 80),
            figure("measures.protest", "Protests (抗诉)", 30, 20),
            figure(
                "measures.retrial_suggestion",
                "Retrial suggestions (再审检察建议)",
                50,
                60,
            ),
            figure("resolutions.total", "Resolutions (化解)", 40, 0),
            figure("aid.grants", "Aid grants (司法救助)", 7, 3),
        ];
        let row = |code: &str, name: &str, value| RollupRow {
            region: format!("regions/{code}"),
            display_name: name.to_owned(),
            own_records_only: false,
            figures: vec![figure("measures.total", "Measures (监督措施)", value, 0)],
        };
        Rollup {
            region: "regions/530000".to_owned(),
            display_name: "云南省".to_owned(),
            period: Some(DateRange {
                start: date(2020, 1, 1),
                end: date(2020, 12, 31),
            }),
            comparison_period: Some(DateRange {
                start: date(2019, 1, 1),
                end: date(2019, 12, 31),
            }),
            figures,
            rows: vec![
                row("530100", "昆明市", 90),
                row("532300", "楚雄彝族自治州", 30),
            ],
            breakdown: RegionLevel::Prefecture.into(),
            ..Rollup::default()
        }
    }

    fn temp_file(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("procura-chart-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    /// Draws the chart of `rollup` into a PNG file and returns how it came out and its bytes.
    fn draw_png(rollup: &Rollup) -> (ChartOutcome, Vec<u8>) {
        let path = temp_file("rollup.png");
        let outcome = draw_rollup_chart(
            &path,
            &ChartInput {
                rollup,
                metric: "measures.total",
            },
        )
        .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
        (outcome, bytes)
    }

    #[test]
    fn the_plan_has_regions_and_main_figures() {
        let plan = plan(&sample(), "measures.total", &|_| true).unwrap();
        assert_eq!(plan.regions.len(), 2);
        assert_eq!(plan.regions[0].label, "530100 昆明市");
        assert!((plan.regions[0].value - 90.0).abs() < f64::EPSILON);
        let labels: Vec<&str> = plan.figures.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Protests (抗诉)",
                "Retrial suggestions (再审检察建议)",
                "Resolutions (化解)",
                "Aid grants (司法救助)"
            ]
        );
        assert_eq!(plan.figures[1].previous, Some(60.0));
        assert_eq!(plan.current_label, "2020-01-01 to 2020-12-31");
        assert_eq!(plan.breakdown_title, "Measures (监督措施) by prefecture");

        // Where only ASCII can be drawn: regions by code, figures by their English part.
        let plan = super::plan(&sample(), "measures.total", &|t: &str| t.is_ascii()).unwrap();
        assert_eq!(plan.regions[0].label, "530100");
        assert!(plan.title.starts_with("530000, "), "{}", plan.title);
        assert_eq!(plan.figures[0].label, "Protests");

        let error = super::plan(&sample(), "nope", &|_| true).unwrap_err();
        assert!(error.to_string().contains("measures.protest"), "{error}");
    }

    #[test]
    fn labels_fall_back_to_the_code_and_the_english_part() {
        assert_eq!(region_label("530100", "昆明市", &|_| true), "530100 昆明市");
        assert_eq!(region_label("530100", "昆明市", &|_| false), "530100");
        assert_eq!(region_label("530100", "", &|_| true), "530100");
        assert_eq!(english_part("Protests (抗诉)"), "Protests");
        assert_eq!(english_part("Aid (yuan)"), "Aid (yuan)");
    }

    #[test]
    fn an_svg_chart_has_the_bars_and_labels() {
        let path = temp_file("rollup.svg");
        let outcome = draw_rollup_chart(
            &path,
            &ChartInput {
                rollup: &sample(),
                metric: "measures.total",
            },
        )
        .unwrap();
        assert!(outcome.breakdown_panel);
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..100.min(svg.len())]);
        assert!(svg.trim_end().ends_with("</svg>"));
        // Two regions + four figures this period + four the period before.
        let current = svg.matches("fill=\"#2B6CB0\"").count();
        let previous = svg.matches("fill=\"#B0B0B0\"").count();
        assert!(current >= 6, "{current} bars of this period");
        assert!(previous >= 4, "{previous} bars of the previous period");
        // SVG text is kept as text: the labels of regions and figures and the legend.
        for label in [
            "530100 昆明市",
            "532300 楚雄彝族自治州",
            "Protests (抗诉)",
            "Aid grants (司法救助)",
            "2019-01-01 to 2019-12-31",
        ] {
            // plotters writes the text of each <text> element on a line of its own.
            assert!(
                svg.lines().any(|line| line.trim() == label),
                "no text {label} in the SVG"
            );
        }
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_png_chart_is_a_real_picture() {
        let (outcome, bytes) = draw_png(&sample());
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height, big-endian, after the signature and chunk header.
        let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        assert_eq!(width, WIDTH);
        let plan = plan(&sample(), "measures.total", &|_| true).unwrap();
        let (regions, figures) = panel_heights(&plan);
        assert_eq!(height, regions + figures);
        assert_eq!(outcome.notes(), "", "{outcome:?}");
    }

    /// A PNG labels regions by their Chinese names with the built-in font, whatever fonts the
    /// machine has, and draws their glyphs: two charts that differ only in one region's
    /// Chinese name differ.
    #[test]
    fn a_png_chart_draws_chinese_names_with_the_built_in_font() {
        let kunming = sample();
        let mut dali = sample();
        dali.rows[0].display_name = "大理市".to_owned();
        let (outcome, first) = draw_png(&kunming);
        let (_, second) = draw_png(&dali);
        assert_eq!(outcome.unnamed_regions, 0, "{outcome:?}");
        assert_eq!(outcome.notes(), "", "no remark on the labels: {outcome:?}");
        assert_eq!(
            first,
            draw_png(&kunming).1,
            "the same chart is drawn the same way"
        );
        assert_ne!(
            first, second,
            "昆明市 and 大理市 came out the same: the Chinese labels are not drawn"
        );
    }

    /// A name with a character no chart font has is not drawn as boxes: the region is
    /// labelled by its code, and the message says so.
    #[test]
    fn a_name_no_font_can_draw_leaves_the_code() {
        let mut odd = sample();
        odd.rows[1].display_name = "\u{1F600}州".to_owned();
        let plan = plan(&odd, "measures.total", &|t: &str| fonts().can_draw(t)).unwrap();
        assert_eq!(plan.regions[1].label, "532300");
        let (outcome, _) = draw_png(&odd);
        assert_eq!(outcome.unnamed_regions, 1);
        assert!(
            outcome
                .notes()
                .contains("1 region(s) labelled by code alone"),
            "{}",
            outcome.notes()
        );
    }

    #[test]
    fn only_svg_and_png_are_drawn() {
        assert_eq!(ChartKind::of(Path::new("a.SVG")).unwrap(), ChartKind::Svg);
        assert_eq!(ChartKind::of(Path::new("a.png")).unwrap(), ChartKind::Png);
        assert!(ChartKind::of(Path::new("a.pdf")).is_err());
        assert!(ChartKind::of(Path::new("chart")).is_err());
    }
}
