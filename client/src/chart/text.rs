//! The text of charts: the fonts, and the drawing of PNG text.
//!
//! Text is drawn with the font built into the binary, [`BUILT_IN`]: WenQuanYi Micro Hei cut
//! down to Latin, punctuation and the Chinese characters of every region name and figure label
//! (`data/README.md`), so that a PNG shows region names in Chinese on any machine. A font file
//! named by `PROCURA_CHART_FONT` is used instead where it has the character, the built-in font
//! for the characters it lacks.
//!
//! PNG text is drawn here, not by plotters: plotters 0.3 draws each glyph's ink at the pen
//! position, without the glyph's side bearing, so a glyph with a wide bearing ("1", "i", "j")
//! sat against the glyph before it with a gap after it ("Bei jing", "31 5"), narrow letters
//! ran into their neighbours ("Jilin" read "Jlin"), and each glyph's position was rounded
//! down to a whole pixel, which made thin marks such as a comma faint or lost. [`Line`] places
//! every glyph at its pen position plus its bearing, with sub-pixel positions and the font's
//! kerning, and [`GlyphText`] wraps a plotters backend to draw all of a chart's text so.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use plotters::style::FontStyle;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontTransform,
};

/// The built-in font (see the module comment).
pub const BUILT_IN: &[u8] = include_bytes!("../../../data/fonts/wqy-microhei-subset.ttf");

/// The font family name the font is registered under with plotters (which measures the text of
/// SVG charts with it).
pub const FAMILY: &str = "sans-serif";

/// The fonts charts are drawn with.
pub struct Fonts {
    /// The font file of `PROCURA_CHART_FONT`, if it is set and could be read.
    chosen: Option<(PathBuf, FontRef<'static>)>,
    /// The built-in font.
    built_in: FontRef<'static>,
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fonts")
            .field("chosen", &self.chosen.as_ref().map(|(path, _)| path))
            .finish_non_exhaustive()
    }
}

static FONTS: OnceLock<Fonts> = OnceLock::new();

/// The fonts, loaded (and the built-in one registered with plotters) on first use.
pub fn fonts() -> &'static Fonts {
    FONTS.get_or_init(|| {
        let built_in = FontRef::try_from_slice(BUILT_IN)
            .expect("the built-in chart font is a font (a test checks it)");
        let chosen = std::env::var_os("PROCURA_CHART_FONT").and_then(|path| {
            let path = PathBuf::from(path);
            let bytes = std::fs::read(&path).ok()?;
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            let font = FontRef::try_from_slice(bytes).ok()?;
            Some((path, font, bytes))
        });
        // plotters measures some text itself (the legend's box, SVG text) with the font
        // registered here, kept for the life of the process: the one that draws most of it.
        // The result only says whether the bytes parse, as they did just above.
        let registered = chosen.as_ref().map_or(BUILT_IN, |(_, _, bytes)| *bytes);
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, registered);
        Fonts {
            chosen: chosen.map(|(path, font, _)| (path, font)),
            built_in,
        }
    })
}

/// A glyph of a [`Line`]: its font, its id, and its pen position from the line's start.
struct Placed {
    font: &'static FontRef<'static>,
    id: GlyphId,
    x: f32,
}

/// A line of text laid out at a size: its glyphs, its width (the sum of the advances, with
/// kerning) and the ascent and descent of the built-in font at that size.
pub struct Line {
    glyphs: Vec<Placed>,
    scale: PxScale,
    /// Width in pixels.
    pub width: f32,
    /// Height above the baseline, in pixels.
    pub ascent: f32,
    /// Depth below the baseline, in pixels (negative).
    pub descent: f32,
}

impl Fonts {
    /// The file of `PROCURA_CHART_FONT`, when it is used.
    pub fn chosen_path(&self) -> Option<&Path> {
        self.chosen.as_ref().map(|(path, _)| path.as_path())
    }

    /// The font that draws `c`: the chosen one if it has it, else the built-in one if it has
    /// it.
    fn font_for(&'static self, c: char) -> Option<&'static FontRef<'static>> {
        self.chosen
            .as_ref()
            .map(|(_, font)| font)
            .into_iter()
            .chain(std::iter::once(&self.built_in))
            .find(|font| font.glyph_id(c).0 != 0)
    }

    /// The characters of `text` that no chart font has (blanks and control characters aside).
    pub fn missing(&'static self, text: &str) -> Vec<char> {
        text.chars()
            .filter(|c| !c.is_whitespace() && !c.is_control() && self.font_for(*c).is_none())
            .collect()
    }

    /// Whether every character of `text` can be drawn.
    pub fn can_draw(&'static self, text: &str) -> bool {
        self.missing(text).is_empty()
    }

    /// Lays `text` out at `size` pixels (the height from the built-in font's ascent to its
    /// descent, as plotters sizes fonts). A character no font has is drawn as the built-in
    /// font's missing-glyph box.
    pub fn line(&'static self, text: &str, size: f32) -> Line {
        let scale = PxScale::from(size);
        let mut glyphs = Vec::new();
        let mut pen = 0.0_f32;
        let mut previous: Option<(&FontRef<'static>, GlyphId)> = None;
        for c in text.chars() {
            let font = self.font_for(c).unwrap_or(&self.built_in);
            let scaled = font.as_scaled(scale);
            let id = scaled.glyph_id(c);
            if let Some((previous_font, previous_id)) = previous
                && std::ptr::eq(previous_font, font)
            {
                pen += scaled.kern(previous_id, id);
            }
            glyphs.push(Placed { font, id, x: pen });
            pen += scaled.h_advance(id);
            previous = Some((font, id));
        }
        let metrics = self.built_in.as_scaled(scale);
        Line {
            glyphs,
            scale,
            width: pen,
            ascent: metrics.ascent(),
            descent: metrics.descent(),
        }
    }
}

impl Line {
    /// The pixels of the line's ink with the pen starting at `x` and the baseline at `y`: each
    /// pixel and how much of it the ink covers (0 to 1). Each glyph is outlined at its exact
    /// position, so its side bearing and sub-pixel offset are kept.
    pub fn pixels(&self, x: f32, y: f32) -> Vec<(i32, i32, f32)> {
        let mut pixels = Vec::new();
        for placed in &self.glyphs {
            let glyph = placed
                .id
                .with_scale_and_position(self.scale, point(x + placed.x, y));
            if let Some(outline) = placed.font.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                let (left, top) = (bounds.min.x as i32, bounds.min.y as i32);
                outline.draw(|dx, dy, coverage| {
                    if coverage > 0.0 {
                        pixels.push((left + dx as i32, top + dy as i32, coverage.min(1.0)));
                    }
                });
            }
        }
        pixels
    }
}

/// A plotters backend whose text is drawn with [`Line`] (see the module comment); everything
/// else goes to the backend it wraps.
pub struct GlyphText<B>(pub B);

impl<B: DrawingBackend> DrawingBackend for GlyphText<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.blit_bitmap(pos, size, src)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if !matches!(style.transform(), FontTransform::None) {
            // Turned text (charts here have none): as plotters draws it.
            return self.0.draw_text(text, style, pos);
        }
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let line = fonts().line(text, style.size() as f32);
        let anchor = style.anchor();
        let x = pos.0 as f32
            - match anchor.h_pos {
                HPos::Left => 0.0,
                HPos::Center => line.width / 2.0,
                HPos::Right => line.width,
            };
        let baseline = pos.1 as f32
            + match anchor.v_pos {
                VPos::Top => line.ascent,
                VPos::Center => (line.ascent + line.descent) / 2.0,
                VPos::Bottom => line.descent,
            };
        for (px, py, coverage) in line.pixels(x, baseline) {
            let ink = BackendColor {
                alpha: color.alpha * f64::from(coverage),
                rgb: color.rgb,
            };
            self.0.draw_pixel((px, py), ink)?;
        }
        Ok(())
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let line = fonts().line(text, style.size() as f32);
        Ok((
            line.width.ceil() as u32,
            (line.ascent - line.descent).ceil() as u32,
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Where the pen starts in [`columns`]: room for ink left of the pen ("J").
    const PEN: f32 = 4.0;

    /// The ink of `text` drawn at `size` with the pen at x = [`PEN`]: coverage per pixel
    /// column.
    fn columns(text: &str, size: f32) -> Vec<f32> {
        let pixels = fonts().line(text, size).pixels(PEN, size);
        let width = pixels.iter().map(|p| p.0).max().unwrap_or(0) + 2;
        let mut columns = vec![0.0_f32; width as usize];
        for (x, _, coverage) in pixels {
            assert!(x >= 0, "{text}: ink left of the pen");
            columns[x as usize] += coverage;
        }
        columns
    }

    /// The runs of columns with more than `threshold` of ink, as (first, last) column.
    fn runs(columns: &[f32], threshold: f32) -> Vec<(usize, usize)> {
        let mut runs = Vec::new();
        let mut start = None;
        for (x, ink) in columns.iter().enumerate() {
            match (start, *ink > threshold) {
                (None, true) => start = Some(x),
                (Some(s), false) => {
                    runs.push((s, x - 1));
                    start = None;
                }
                _ => {}
            }
        }
        runs
    }

    #[test]
    fn the_built_in_font_has_every_region_name_and_the_chart_words() {
        let regions = include_str!("../../../data/regions.csv");
        let mut missing: Vec<String> = regions
            .lines()
            .skip(1)
            .filter_map(|line| line.split(',').nth(3))
            .filter(|name| !fonts().can_draw(name))
            .map(String::from)
            .collect();
        for text in [
            "Main figures — 2020-01-01 to 2020-12-31",
            "Judicial aid amount (司法救助金额) by prefecture",
            "0123456789,.+-%()·→",
        ] {
            if !fonts().can_draw(text) {
                missing.push(text.to_owned());
            }
        }
        assert_eq!(
            missing,
            Vec::<String>::new(),
            "texts the built-in font cannot draw: rebuild it with data/fonts/subset.sh"
        );
        assert_eq!(fonts().missing("昆明市 \u{1F600}"), ['\u{1F600}']);
    }

    /// Each glyph's ink starts at its pen position plus its side bearing: "1", whose bearing
    /// is wide, stands as far from the "3" before it as the font says, not against it, and
    /// the gap after it is the font's too.
    #[test]
    fn glyphs_stand_at_their_side_bearings() {
        let size = 40.0;
        let font = &fonts().built_in;
        let scaled = font.as_scaled(PxScale::from(size));
        let [three, one] = ['3', '1'].map(|c| scaled.glyph_id(c));
        let one_bearing = scaled.h_side_bearing(one);
        assert!(one_bearing > 2.0, "a font where 1 has a wide bearing");
        let ink = runs(&columns("313", size), 0.05);
        assert_eq!(ink.len(), 3, "three glyphs apart: {ink:?}");
        // Where the font puts the ink of "1": after the advance of "3", plus its bearing.
        let expected_left = PEN + scaled.h_advance(three) + scaled.kern(three, one) + one_bearing;
        assert!(
            (ink[1].0 as f32 - expected_left).abs() <= 1.0,
            "the 1 starts at column {} where the font puts it at {expected_left:.1}: {ink:?}",
            ink[1].0
        );
        // The gaps on either side of "1" are the font's: the bearings around it.
        let outline = |id: GlyphId| font.outline_glyph(id.with_scale(size)).unwrap();
        let three_right = scaled.h_advance(three) - outline(three).px_bounds().max.x;
        let gap_before = three_right + one_bearing;
        let gap_after =
            scaled.h_advance(one) - outline(one).px_bounds().max.x + scaled.h_side_bearing(three);
        let drawn_before = (ink[1].0 - ink[0].1 - 1) as f32;
        let drawn_after = (ink[2].0 - ink[1].1 - 1) as f32;
        assert!(
            (drawn_before - gap_before).abs() <= 1.5 && (drawn_after - gap_after).abs() <= 1.5,
            "gaps drawn {drawn_before} and {drawn_after}, the font's {gap_before:.1} and \
             {gap_after:.1}"
        );
    }
}
