//! The simulated printer's standard mode: its settings (font, size, styles, alignment,
//! margins, line spacing, tab positions, code page) and its line buffer, which turns text,
//! ESC * bit images, raster images, barcodes, QR codes and graphics into dot rows at the
//! printer's grid.
//!
//! Owns where everything goes on the paper and how far the paper moves; glyph shapes are
//! `font`'s, symbol encodings `barcode`'s and `codes`'. It must not touch the print head:
//! it hands `Paper` pieces (rows placed at a column, blank feeds) to `printer`, which
//! puts them through the head (and so through every fault).

use super::barcode;
use super::font::{self, codepage, Font};
use super::graphics::{Graphics, GraphicsOutcome};
use super::qr::{QrOutcome, QrSymbol};
use crate::escpos::decode::{EventKind, Setting, LINE_SPACING_DOTS};
use crate::pattern::Bitmap;
use std::collections::BTreeSet;

/// A piece of paper movement for the head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paper {
    /// Dot rows of `bitmap`, its column 0 at head column `x`.
    Rows { x: u32, bitmap: Bitmap },
    /// Blank rows.
    Feed(u32),
}

/// ESC a.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Justify {
    Left,
    Centre,
    Right,
}

/// Default tab positions: every 8 characters.
const DEFAULT_TABS: [u32; 32] = {
    let mut t = [0u32; 32];
    let mut i = 0;
    while i < 32 {
        t[i] = 8 * (i as u32 + 1);
        i += 1;
    }
    t
};

/// Everything ESC @ resets.
#[derive(Debug, Clone)]
struct Mode {
    font: Font,
    width_mul: u32,
    height_mul: u32,
    emphasis: bool,
    double_strike: bool,
    underline: u32,
    reverse: bool,
    upside_down: bool,
    rotate: bool,
    char_spacing: u32,
    justify: Justify,
    code_table: u8,
    national: u8,
    line_spacing: u32,
    left_margin: u32,
    /// GS W; `None`: to the head's right edge.
    print_width: Option<u32>,
    /// Tab positions in characters, ascending.
    tabs: Vec<u32>,
    hri_position: u8,
    hri_font: Font,
    barcode_height: u32,
    barcode_width: u32,
}

impl Default for Mode {
    fn default() -> Self {
        Mode {
            font: Font::A,
            width_mul: 1,
            height_mul: 1,
            emphasis: false,
            double_strike: false,
            underline: 0,
            reverse: false,
            upside_down: false,
            rotate: false,
            char_spacing: 0,
            justify: Justify::Left,
            code_table: 0,
            national: 0,
            line_spacing: LINE_SPACING_DOTS,
            left_margin: 0,
            print_width: None,
            tabs: DEFAULT_TABS.to_vec(),
            hri_position: 0,
            hri_font: Font::A,
            barcode_height: 162,
            barcode_width: 3,
        }
    }
}

/// What waits in the line buffer: cells placed left to right, bottom-aligned when the
/// line prints.
#[derive(Debug, Default)]
struct Line {
    items: Vec<(u32, Bitmap)>,
    /// Next print position, in dots from the left margin.
    x: u32,
    /// Justification of the line (as set when its first item came).
    justify: Option<Justify>,
}

/// The printer's standard-mode state and line buffer.
#[derive(Debug)]
pub struct Layout {
    dots: u32,
    mode: Mode,
    line: Line,
    qr: QrSymbol,
    graphics: Graphics,
    /// Commands already named as not drawn (each named once).
    named: BTreeSet<String>,
}

impl Layout {
    /// A printer with a `dots`-wide head, in its power-on state.
    pub fn new(dots: u32) -> Layout {
        Layout {
            dots: dots.max(1),
            mode: Mode::default(),
            line: Line::default(),
            qr: QrSymbol::default(),
            graphics: Graphics::default(),
            named: BTreeSet::new(),
        }
    }

    /// Whether the line buffer holds anything not printed yet.
    pub fn line_pending(&self) -> bool {
        !self.line.items.is_empty()
    }

    /// The current line spacing in dots.
    pub fn line_spacing(&self) -> u32 {
        self.mode.line_spacing
    }

    /// Applies one decoded event, appending what moves the paper to `out`. Events that
    /// do not touch the paper or the settings (status queries, cuts) leave both alone.
    pub fn apply(&mut self, kind: EventKind, out: &mut Vec<Paper>) {
        match kind {
            EventKind::Init => {
                self.mode = Mode::default();
                self.line = Line::default();
                self.graphics = Graphics::default();
            }
            EventKind::Text(bytes) => {
                for b in bytes {
                    self.character(b, out);
                }
            }
            EventKind::LineFeed => self.print_line(self.mode.line_spacing, out),
            EventKind::Feed { rows } => self.print_line(rows, out),
            EventKind::FeedLines { lines } => {
                self.print_line(lines.saturating_mul(self.mode.line_spacing), out)
            }
            EventKind::Tab => self.tab(),
            EventKind::Setting(s) => self.setting(&s),
            EventKind::BitImage(bm) => self.place(bm, out),
            EventKind::Raster(bm) => {
                self.flush(out);
                self.block(bm, out);
            }
            EventKind::Barcode { m, data } => {
                self.flush(out);
                self.barcode(m, &data, out);
            }
            EventKind::Function {
                command: "GS ( k",
                data,
            } => match self.qr.apply(&data) {
                QrOutcome::Stored => {}
                QrOutcome::Print(bm) => {
                    self.flush(out);
                    self.block(bm, out);
                }
                QrOutcome::NotDrawn(what) => self.name_once(&what),
            },
            EventKind::Function { command, data } => match self.graphics.apply(command, &data) {
                GraphicsOutcome::Stored => {}
                GraphicsOutcome::Print(bm) => {
                    self.flush(out);
                    self.block(bm, out);
                }
                GraphicsOutcome::NotDrawn(what) => self.name_once(&what),
            },
            _ => {}
        }
    }

    /// Prints what the line buffer holds as if LF came (before a cut, a raster image or a
    /// barcode, which start on a line of their own).
    pub fn flush(&mut self, out: &mut Vec<Paper>) {
        if self.line_pending() {
            self.print_line(self.mode.line_spacing, out);
        }
    }

    /// Names a command the simulated printer parses but does not draw, once.
    pub(crate) fn name_once(&mut self, what: &str) {
        if self.named.insert(what.to_string()) {
            tracing::warn!(command = what, "the simulated printer does not draw this");
        }
    }

    /// Left edge and width of the print area.
    fn area(&self) -> (u32, u32) {
        let left = self.mode.left_margin.min(self.dots.saturating_sub(1));
        let room = self.dots - left;
        let width = self.mode.print_width.map_or(room, |w| w.clamp(1, room));
        (left, width)
    }

    fn setting(&mut self, s: &Setting) {
        let m = &mut self.mode;
        match *s {
            Setting::PrintMode(n) => {
                m.font = if n & 1 != 0 { Font::B } else { Font::A };
                m.emphasis = n & 0x08 != 0;
                m.height_mul = if n & 0x10 != 0 { 2 } else { 1 };
                m.width_mul = if n & 0x20 != 0 { 2 } else { 1 };
                m.underline = if n & 0x80 != 0 { 1 } else { 0 };
            }
            Setting::Underline(n) => {
                m.underline = match n {
                    1 | 49 => 1,
                    2 | 50 => 2,
                    _ => 0,
                }
            }
            Setting::LineSpacing(n) => {
                m.line_spacing = n.map_or(LINE_SPACING_DOTS, u32::from);
            }
            Setting::Emphasis(n) => m.emphasis = n & 1 != 0,
            Setting::DoubleStrike(n) => m.double_strike = n & 1 != 0,
            Setting::Font(n) => {
                m.font = match n {
                    1 | 49 => Font::B,
                    _ => Font::A,
                }
            }
            Setting::Justify(n) => {
                m.justify = match n {
                    1 | 49 => Justify::Centre,
                    2 | 50 => Justify::Right,
                    _ => Justify::Left,
                }
            }
            Setting::CodeTable(n) => {
                m.code_table = n;
                if codepage::table(n).is_none() {
                    let what = format!("ESC t {n} (code page; PC437 used)");
                    self.name_once(&what);
                }
            }
            Setting::International(n) => {
                m.national = n;
                if n >= codepage::NATIONAL_SET_COUNT {
                    let what = format!("ESC R {n} (international set; U.S.A. used)");
                    self.name_once(&what);
                }
            }
            Setting::UpsideDown(n) => m.upside_down = n & 1 != 0,
            Setting::Rotate(n) => m.rotate = matches!(n, 1 | 2 | 49 | 50),
            Setting::CharSpacing(n) => m.char_spacing = u32::from(n),
            Setting::CharSize(n) => {
                m.width_mul = u32::from((n >> 4) & 7) + 1;
                m.height_mul = u32::from(n & 7) + 1;
            }
            Setting::Reverse(n) => m.reverse = n & 1 != 0,
            Setting::LeftMargin(n) => m.left_margin = u32::from(n),
            Setting::PrintWidth(n) => m.print_width = Some(u32::from(n)),
            Setting::AbsolutePosition(n) => {
                let (_, width) = self.area();
                if u32::from(n) < width {
                    self.line.x = u32::from(n);
                }
            }
            Setting::RelativePosition(n) => {
                let (_, width) = self.area();
                let x = i64::from(self.line.x) + i64::from(n);
                if (0..i64::from(width)).contains(&x) {
                    self.line.x = x as u32;
                }
            }
            Setting::TabStops(ref stops) => {
                // Ascending positions only; anything out of order ends the list.
                let mut tabs = Vec::new();
                for &s in stops {
                    let s = u32::from(s);
                    if s == 0 || tabs.last().is_some_and(|&l| s <= l) {
                        break;
                    }
                    tabs.push(s);
                }
                m.tabs = tabs;
            }
            Setting::HriPosition(n) => m.hri_position = n & 3,
            Setting::HriFont(n) => {
                m.hri_font = match n {
                    1 | 49 => Font::B,
                    _ => Font::A,
                }
            }
            Setting::BarcodeHeight(n) => m.barcode_height = u32::from(n.max(1)),
            Setting::BarcodeWidth(n) => m.barcode_width = u32::from(n.clamp(1, 6)),
        }
    }

    fn tab(&mut self) {
        let unit = (self.mode.font.cell().0 + self.mode.char_spacing) * self.mode.width_mul;
        let (_, width) = self.area();
        let next = self
            .mode
            .tabs
            .iter()
            .map(|&t| t * unit)
            .find(|&x| x > self.line.x);
        if let Some(x) = next.filter(|&x| x < width) {
            self.line.x = x;
        }
    }

    fn character(&mut self, b: u8, out: &mut Vec<Paper>) {
        let ch = codepage::to_char(self.mode.code_table, self.mode.national, b);
        let cell = self.cell(ch.unwrap_or('\u{FFFD}'));
        self.place(cell, out);
    }

    /// Puts a cell (a character, an ESC * image) at the print position; a cell that does
    /// not fit in what is left of the line goes to the next line.
    fn place(&mut self, cell: Bitmap, out: &mut Vec<Paper>) {
        let (_, width) = self.area();
        if self.line.x + cell.width() > width && self.line_pending() {
            self.print_line(self.mode.line_spacing, out);
        }
        if self.line.justify.is_none() {
            self.line.justify = Some(self.mode.justify);
        }
        let w = cell.width();
        self.line.items.push((self.line.x, cell));
        self.line.x += w;
    }

    /// One character drawn in the current print mode.
    fn cell(&self, ch: char) -> Bitmap {
        let m = &self.mode;
        let mut g = font::glyph(ch, m.font);
        if m.emphasis || m.double_strike {
            g = embolden(&g);
        }
        if m.rotate {
            g = rotate_clockwise(&g);
        }
        let (gw, gh) = (g.width(), g.height());
        let w = (gw + m.char_spacing) * m.width_mul;
        let h = gh * m.height_mul;
        let mut cell = Bitmap::new(w, h);
        for y in 0..h {
            for x in 0..gw * m.width_mul {
                if g.get(x / m.width_mul, y / m.height_mul) {
                    cell.set(x, y, true);
                }
            }
        }
        if m.underline > 0 && !m.rotate {
            cell.fill_rect(0, h.saturating_sub(m.underline), w, h, true);
        }
        if m.reverse {
            cell = invert(&cell);
        }
        cell
    }

    /// Prints the line buffer and moves the paper `advance` rows in all (at least the
    /// line's own height). An empty line only feeds.
    fn print_line(&mut self, advance: u32, out: &mut Vec<Paper>) {
        let line = std::mem::take(&mut self.line);
        let height = line
            .items
            .iter()
            .map(|(_, b)| b.height())
            .max()
            .unwrap_or(0);
        if height == 0 {
            if advance > 0 {
                out.push(Paper::Feed(advance));
            }
            return;
        }
        let (left, width) = self.area();
        let extent = line
            .items
            .iter()
            .map(|(x, b)| x + b.width())
            .max()
            .unwrap_or(0)
            .min(width);
        let shift = match line.justify.unwrap_or(Justify::Left) {
            Justify::Left => 0,
            Justify::Centre => (width - extent) / 2,
            Justify::Right => width - extent,
        };
        let mut area = Bitmap::new(width, height);
        for (x, bm) in &line.items {
            blit(&mut area, bm, x + shift, height - bm.height());
        }
        if self.mode.upside_down {
            area = rotate_half_turn(&area);
        }
        out.push(Paper::Rows {
            x: left,
            bitmap: area,
        });
        if advance > height {
            out.push(Paper::Feed(advance - height));
        }
    }

    /// GS k: the bars at the module width and height, with the HRI text above and/or
    /// below. A barcode the printer would refuse (bad data, wider than the print area)
    /// prints nothing and is named.
    fn barcode(&mut self, m: u8, data: &[u8], out: &mut Vec<Paper>) {
        let symbol = match barcode::encode(m, data) {
            Ok(s) => s,
            Err(e) => {
                let what = format!("GS k: {e}");
                self.name_once(&what);
                return;
            }
        };
        let row = symbol.row(self.mode.barcode_width);
        let (_, width) = self.area();
        if row.len() as u32 > width {
            let what = format!(
                "GS k: {} of {} dots is wider than the {width}-dot print area",
                symbol.name,
                row.len()
            );
            self.name_once(&what);
            return;
        }
        let hri = self.hri_text(&symbol.hri);
        let gap = 2;
        let (above, below) = match self.mode.hri_position {
            1 => (true, false),
            2 => (false, true),
            3 => (true, true),
            _ => (false, false),
        };
        let bars_h = self.mode.barcode_height;
        let text_h = hri.height() + gap;
        let height = bars_h + if above { text_h } else { 0 } + if below { text_h } else { 0 };
        let bar_w = row.len() as u32;
        let w = bar_w.max(hri.width().min(width));
        let mut block = Bitmap::new(w, height);
        let bars_x = (w - bar_w) / 2;
        let hri_x = (w.saturating_sub(hri.width())) / 2;
        let mut y = 0;
        if above {
            blit(&mut block, &hri, hri_x, 0);
            y += text_h;
        }
        for (x, &on) in (0u32..).zip(&row) {
            if on {
                block.fill_rect(bars_x + x, y, bars_x + x + 1, y + bars_h, true);
            }
        }
        y += bars_h;
        if below {
            blit(&mut block, &hri, hri_x, y + gap);
        }
        self.block(block, out);
    }

    /// HRI characters in the HRI font (normal size, no styles).
    fn hri_text(&self, text: &str) -> Bitmap {
        let font = self.mode.hri_font;
        let (cw, ch) = font.cell();
        let chars: Vec<char> = text.chars().collect();
        let mut bm = Bitmap::new(cw * chars.len() as u32, ch);
        for (i, &c) in (0u32..).zip(&chars) {
            blit(&mut bm, &font::glyph(c, font), i * cw, 0);
        }
        bm
    }

    /// A block printed on its own (raster image, barcode, QR code, graphics), placed in
    /// the print area by the justification. A block wider than the area starts at its
    /// left edge and loses what passes the head.
    pub(crate) fn block(&mut self, bitmap: Bitmap, out: &mut Vec<Paper>) {
        let (left, width) = self.area();
        let w = bitmap.width();
        let shift = if w >= width {
            0
        } else {
            match self.mode.justify {
                Justify::Left => 0,
                Justify::Centre => (width - w) / 2,
                Justify::Right => width - w,
            }
        };
        out.push(Paper::Rows {
            x: left + shift,
            bitmap,
        });
    }
}

/// `src` copied onto `dst` with its top-left at (`x0`, `y0`), clipped; ink adds.
fn blit(dst: &mut Bitmap, src: &Bitmap, x0: u32, y0: u32) {
    for y in 0..src.height() {
        let ty = y0 + y;
        if ty >= dst.height() {
            break;
        }
        for (x, &d) in (0u32..).zip(src.row(y)) {
            let tx = x0 + x;
            if tx >= dst.width() {
                break;
            }
            if d != 0 {
                dst.set(tx, ty, true);
            }
        }
    }
}

/// Emphasis: every dot also printed one column to its right.
fn embolden(g: &Bitmap) -> Bitmap {
    let mut out = g.clone();
    for y in 0..g.height() {
        for x in 0..g.width().saturating_sub(1) {
            if g.get(x, y) {
                out.set(x + 1, y, true);
            }
        }
    }
    out
}

fn rotate_clockwise(g: &Bitmap) -> Bitmap {
    let (w, h) = (g.width(), g.height());
    let mut out = Bitmap::new(h, w);
    for y in 0..h {
        for x in 0..w {
            if g.get(x, y) {
                out.set(h - 1 - y, x, true);
            }
        }
    }
    out
}

fn rotate_half_turn(g: &Bitmap) -> Bitmap {
    let (w, h) = (g.width(), g.height());
    let mut out = Bitmap::new(w, h);
    for y in 0..h {
        for x in 0..w {
            if g.get(x, y) {
                out.set(w - 1 - x, h - 1 - y, true);
            }
        }
    }
    out
}

fn invert(g: &Bitmap) -> Bitmap {
    let mut out = Bitmap::new(g.width(), g.height());
    for y in 0..g.height() {
        for x in 0..g.width() {
            if !g.get(x, y) {
                out.set(x, y, true);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escpos::decode::decode_all;

    /// The paper a job makes: rows stacked as the head would print them (`dots` wide).
    fn paper(job: &[u8], dots: u32) -> Bitmap {
        let (events, r) = decode_all(job);
        r.expect("clean job");
        let mut layout = Layout::new(dots);
        let mut pieces = Vec::new();
        for e in events {
            layout.apply(e.kind, &mut pieces);
        }
        let height: u32 = pieces
            .iter()
            .map(|p| match p {
                Paper::Rows { bitmap, .. } => bitmap.height(),
                Paper::Feed(n) => *n,
            })
            .sum();
        let mut page = Bitmap::new(dots, height);
        let mut y = 0;
        for p in pieces {
            match p {
                Paper::Rows { x, bitmap } => {
                    blit(&mut page, &bitmap, x, y);
                    y += bitmap.height();
                }
                Paper::Feed(n) => y += n,
            }
        }
        page
    }

    fn ink_columns(page: &Bitmap) -> (u32, u32) {
        let cols: Vec<u32> = (0..page.width())
            .filter(|&x| page.count(x, 0, x + 1, page.height()) > 0)
            .collect();
        (cols[0], *cols.last().unwrap())
    }

    #[test]
    fn a_line_of_text_advances_by_the_line_spacing_or_its_height() {
        assert_eq!(paper(b"\x1b@Hello\n", 576).height(), 30);
        assert_eq!(paper(b"\x1b@Hello\nWorld\n", 576).height(), 60);
        // Double height: the line is 48 rows, taller than the spacing.
        assert_eq!(paper(b"\x1b@\x1d!\x01Big\n", 576).height(), 48);
        assert_eq!(paper(b"\x1b@\x1d!\x77Huge\n", 576).height(), 192);
        // ESC 3 sets the spacing; ESC d feeds whole lines; ESC J dots.
        assert_eq!(paper(b"\x1b@\x1b3\x28a\n\n", 576).height(), 80);
        assert_eq!(paper(b"\x1b@\x1bd\x03", 576).height(), 90);
        assert_eq!(paper(b"\x1b@x\x1bJ\x05", 576).height(), 24);
        // Font B is 17 rows.
        let b = paper(b"\x1b@\x1bM\x01\x1b3\x00B\n", 576);
        assert_eq!(b.height(), 17);
    }

    #[test]
    fn text_is_inked_where_it_is_placed() {
        let page = paper(b"\x1b@HI\n", 576);
        // Two Font A cells: ink in columns 0..24 only.
        let (first, last) = ink_columns(&page);
        assert!(first < 3 && (20..24).contains(&last), "{first} {last}");
        // Centred and right-aligned.
        let page = paper(b"\x1b@\x1ba\x01HI\n", 576);
        let (first, last) = ink_columns(&page);
        assert!(
            (first + last) / 2 > 280 && (first + last) / 2 < 296,
            "{first} {last}"
        );
        let page = paper(b"\x1b@\x1ba\x02HI\n", 576);
        assert!(ink_columns(&page).1 >= 570);
        // Left margin 100 dots, double width.
        let page = paper(b"\x1b@\x1dL\x64\x00\x1d!\x10HI\n", 576);
        let (first, last) = ink_columns(&page);
        assert!((100..104).contains(&first) && (140..148).contains(&last));
        // A tab moves to the 8th character (96 dots).
        let page = paper(b"\x1b@\tX\n", 576);
        assert!((96..100).contains(&ink_columns(&page).0));
    }

    #[test]
    fn styles_change_the_dots() {
        let plain = paper(b"\x1b@ABC\n", 576);
        let count = |p: &Bitmap| p.count(0, 0, p.width(), p.height());
        let bold = paper(b"\x1b@\x1bE\x01ABC\n", 576);
        assert!(count(&bold) > count(&plain) * 5 / 4);
        let under = paper(b"\x1b@\x1b-\x02ABC\n", 576);
        assert_eq!(under.count(0, 22, 36, 24), 2 * 36);
        let rev = paper(b"\x1b@\x1dB\x01ABC\n", 576);
        assert!(rev.count(0, 0, 36, 24) > 36 * 24 / 2);
        let upside = paper(b"\x1b@\x1b{\x01ABC\n", 576);
        assert!(upside.count(540, 0, 576, 24) > 0 && upside.count(0, 0, 36, 24) == 0);
        let rotated = paper(b"\x1b@\x1bV\x01ABC\n", 576);
        assert_eq!(rotated.height(), 30);
        assert!(rotated.count(60, 0, 72, 12) > 0);
        // Wrapping: 50 Font A characters need 600 dots: two lines.
        let long = paper(&[b"\x1b@".as_slice(), &[b'W'; 50], b"\n"].concat(), 576);
        assert_eq!(long.height(), 60);
        assert!(long.count(0, 30, 24, 54) > 0);
    }

    #[test]
    fn code_pages_pick_the_glyph() {
        // 0x82 is é in PC437 and ‚ in WPC1252; 0x80 is А in PC866.
        let e = paper(b"\x1b@\x82\n", 576);
        let comma = paper(b"\x1b@\x1bt\x10\x82\n", 576);
        assert_ne!(e.dots(), comma.dots());
        assert_eq!(
            paper(b"\x1b@\x1bt\x11\x80\n", 576).dots(),
            paper(b"\x1b@A\n", 576).dots()
        );
        // ESC R 2 (Germany): @ prints as §.
        let at = paper(b"\x1b@@\n", 576);
        let para = paper(b"\x1b@\x1bR\x02@\n", 576);
        assert_ne!(at.dots(), para.dots());
    }

    #[test]
    fn barcodes_qr_codes_and_images_are_placed_by_the_justification() {
        // CODE128 at module 2, 50 dots high, HRI below in font B, centred.
        let page = paper(
            b"\x1b@\x1ba\x01\x1dH\x02\x1df\x01\x1dh\x32\x1dw\x02\x1dkI\x04{B42",
            576,
        );
        assert_eq!(page.height(), 50 + 2 + 17);
        let (first, last) = ink_columns(&page);
        assert!(((first + last) / 2).abs_diff(288) <= 2, "{first} {last}");
        // Start B, 4, 2, check, stop: 4 × 11 + 13 modules of 2 dots.
        assert_eq!(last - first + 1, (4 * 11 + 13) * 2);
        assert!(page.count(0, 52, 576, 69) > 0, "HRI text under the bars");
        // HRI above and below, font A: the bars between two text rows.
        let both = paper(b"\x1b@\x1dH\x03\x1dh\x0a\x1dk\x04AB\x00", 576);
        assert_eq!(both.height(), 26 + 10 + 26);
        // A raster right-aligned inside a 100-dot left margin and 300-dot area.
        let raster = paper(
            b"\x1b@\x1dL\x64\x00\x1dW\x2c\x01\x1ba\x02\x1dv0\x00\x01\x00\x01\x00\xff",
            576,
        );
        assert_eq!(ink_columns(&raster), (392, 399));
        // A QR code, centred: square, 21 modules of 3 dots.
        let qr = paper(b"\x1b@\x1ba\x01\x1d(k\x05\x001P0ab\x1d(k\x03\x001Q0", 576);
        assert_eq!(qr.height(), 63);
        let (first, last) = ink_columns(&qr);
        assert_eq!((first, last), (256, 318));
        // A barcode that a printer would refuse (wrong check digit) prints nothing.
        assert_eq!(paper(b"\x1b@\x1dk\x024006381333932\x00", 576).height(), 0);
    }

    #[test]
    fn bit_images_in_stripes_join_without_gaps() {
        // Two 24-dot ESC * stripes at line spacing 16: 48 rows, no white row between.
        let mut job = b"\x1b@\x1b3\x10".to_vec();
        for _ in 0..2 {
            job.extend_from_slice(b"\x1b*\x21\x08\x00");
            job.extend(std::iter::repeat_n(0xFF, 24));
            job.push(b'\n');
        }
        let page = paper(&job, 576);
        assert_eq!(page.height(), 48);
        assert!((0..48).all(|y| page.count(0, y, 8, y + 1) == 8));
    }
}
