//! The simulated printer's built-in typeface: Font A (12 × 24 dots) and Font B (9 × 17
//! dots) at the printer's dot grid, and the code pages that map a job's bytes to them.
//!
//! Owns the glyph designs (`glyphs.txt`, drawn for this project on a 5 × 7 grid), how
//! accented letters are composed from a base letter and a mark, how box drawing, shades
//! and blocks are drawn (they fill the whole cell so lines join), how lowercase Cyrillic
//! comes from its capitals, and the rasterising of every design into both cells. It must
//! not lay out lines or know about ESC/POS commands: `layout` asks it for one cell.

pub mod codepage;

use crate::pattern::Bitmap;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Columns of the design grid.
const DESIGN_W: usize = 5;
/// Rows of the design grid: 2 for marks above capitals, 7 of body, 2 of descender.
const DESIGN_H: usize = 11;
/// First body row of the design grid (capital height starts here).
const BODY_TOP: usize = 2;
/// First row of a lowercase letter's x-height (3 body rows below the capital line).
const X_TOP: usize = BODY_TOP + 2;

/// A built-in font.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Font {
    /// 12 × 24 dots.
    A,
    /// 9 × 17 dots.
    B,
}

impl Font {
    /// Width and height of a character cell in dots (without character spacing).
    pub fn cell(self) -> (u32, u32) {
        match self {
            Font::A => (12, 24),
            Font::B => (9, 17),
        }
    }

    fn index(self) -> usize {
        match self {
            Font::A => 0,
            Font::B => 1,
        }
    }
}

/// A diacritic placed on a base letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Grave,
    Acute,
    Circumflex,
    Tilde,
    Diaeresis,
    Ring,
    Cedilla,
    Caron,
    Breve,
}

impl Mark {
    /// Two design rows of the mark (above the letter; below it for the cedilla).
    fn rows(self) -> [&'static str; 2] {
        match self {
            Mark::Grave => [".#...", "..#.."],
            Mark::Acute => ["...#.", "..#.."],
            Mark::Circumflex => ["..#..", ".#.#."],
            Mark::Tilde => [".##.#", "#.##."],
            Mark::Diaeresis => [".#.#.", "....."],
            Mark::Ring => [".###.", ".#.#."],
            Mark::Cedilla => ["...#.", ".##.."],
            Mark::Caron => [".#.#.", "..#.."],
            Mark::Breve => ["#...#", ".###."],
        }
    }
}

/// Letters made of a base letter and a mark.
const COMPOSED: &[(char, char, Mark)] = &[
    ('À', 'A', Mark::Grave),
    ('Á', 'A', Mark::Acute),
    ('Â', 'A', Mark::Circumflex),
    ('Ã', 'A', Mark::Tilde),
    ('Ä', 'A', Mark::Diaeresis),
    ('Å', 'A', Mark::Ring),
    ('Ç', 'C', Mark::Cedilla),
    ('È', 'E', Mark::Grave),
    ('É', 'E', Mark::Acute),
    ('Ê', 'E', Mark::Circumflex),
    ('Ë', 'E', Mark::Diaeresis),
    ('Ì', 'I', Mark::Grave),
    ('Í', 'I', Mark::Acute),
    ('Î', 'I', Mark::Circumflex),
    ('Ï', 'I', Mark::Diaeresis),
    ('Ñ', 'N', Mark::Tilde),
    ('Ò', 'O', Mark::Grave),
    ('Ó', 'O', Mark::Acute),
    ('Ô', 'O', Mark::Circumflex),
    ('Õ', 'O', Mark::Tilde),
    ('Ö', 'O', Mark::Diaeresis),
    ('Ù', 'U', Mark::Grave),
    ('Ú', 'U', Mark::Acute),
    ('Û', 'U', Mark::Circumflex),
    ('Ü', 'U', Mark::Diaeresis),
    ('Ý', 'Y', Mark::Acute),
    ('à', 'a', Mark::Grave),
    ('á', 'a', Mark::Acute),
    ('â', 'a', Mark::Circumflex),
    ('ã', 'a', Mark::Tilde),
    ('ä', 'a', Mark::Diaeresis),
    ('å', 'a', Mark::Ring),
    ('ç', 'c', Mark::Cedilla),
    ('è', 'e', Mark::Grave),
    ('é', 'e', Mark::Acute),
    ('ê', 'e', Mark::Circumflex),
    ('ë', 'e', Mark::Diaeresis),
    ('ì', 'ı', Mark::Grave),
    ('í', 'ı', Mark::Acute),
    ('î', 'ı', Mark::Circumflex),
    ('ï', 'ı', Mark::Diaeresis),
    ('ñ', 'n', Mark::Tilde),
    ('ò', 'o', Mark::Grave),
    ('ó', 'o', Mark::Acute),
    ('ô', 'o', Mark::Circumflex),
    ('õ', 'o', Mark::Tilde),
    ('ö', 'o', Mark::Diaeresis),
    ('ù', 'u', Mark::Grave),
    ('ú', 'u', Mark::Acute),
    ('û', 'u', Mark::Circumflex),
    ('ü', 'u', Mark::Diaeresis),
    ('ý', 'y', Mark::Acute),
    ('ÿ', 'y', Mark::Diaeresis),
    ('Š', 'S', Mark::Caron),
    ('š', 's', Mark::Caron),
    ('Ÿ', 'Y', Mark::Diaeresis),
    ('Ž', 'Z', Mark::Caron),
    ('ž', 'z', Mark::Caron),
    ('Ё', 'E', Mark::Diaeresis),
    ('Ї', 'I', Mark::Diaeresis),
    ('Ў', 'У', Mark::Breve),
    ('Й', 'И', Mark::Breve),
    ('ё', 'e', Mark::Diaeresis),
    ('ї', 'ı', Mark::Diaeresis),
    ('ў', 'y', Mark::Breve),
    ('й', 'и', Mark::Breve),
];

/// Characters drawn exactly as another one.
const SAME_AS: &[(char, char)] = &[
    ('\u{A0}', ' '),
    ('\u{AD}', '-'),
    ('А', 'A'),
    ('В', 'B'),
    ('Г', 'Γ'),
    ('Е', 'E'),
    ('І', 'I'),
    ('К', 'K'),
    ('М', 'M'),
    ('Н', 'H'),
    ('О', 'O'),
    ('Р', 'P'),
    ('С', 'C'),
    ('Т', 'T'),
    ('Ф', 'Φ'),
    ('Х', 'X'),
    ('а', 'a'),
    ('е', 'e'),
    ('і', 'i'),
    ('о', 'o'),
    ('р', 'p'),
    ('с', 'c'),
    ('у', 'y'),
    ('ф', 'φ'),
    ('х', 'x'),
];

/// Lowercase Cyrillic letters drawn as their capital brought down to the x-height.
const SMALL_CAPITALS: &[(char, char)] = &[
    ('в', 'B'),
    ('г', 'Γ'),
    ('д', 'Д'),
    ('ж', 'Ж'),
    ('з', 'З'),
    ('и', 'И'),
    ('к', 'K'),
    ('л', 'Л'),
    ('м', 'M'),
    ('н', 'H'),
    ('п', 'П'),
    ('т', 'T'),
    ('ц', 'Ц'),
    ('ч', 'Ч'),
    ('ш', 'Ш'),
    ('щ', 'Щ'),
    ('ъ', 'Ъ'),
    ('ы', 'Ы'),
    ('ь', 'Ь'),
    ('э', 'Э'),
    ('ю', 'Ю'),
    ('я', 'Я'),
    ('є', 'Є'),
];

/// A design on the 5 × 11 grid (`true` = ink).
type Design = [[bool; DESIGN_W]; DESIGN_H];

/// The drawn designs, parsed once.
fn designs() -> &'static HashMap<char, Design> {
    static DESIGNS: OnceLock<HashMap<char, Design>> = OnceLock::new();
    DESIGNS.get_or_init(|| {
        let mut map = HashMap::new();
        for line in include_str!("glyphs.txt").lines() {
            if let Some((ch, design)) = parse_design_line(line) {
                map.insert(ch, design);
            }
        }
        map
    })
}

/// One line of `glyphs.txt`; `None` for comments, blank lines and malformed lines (the
/// font's tests check that every line parses).
fn parse_design_line(line: &str) -> Option<(char, Design)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with("//") {
        return None;
    }
    let mut tokens = line.split_whitespace();
    let name = tokens.next()?;
    let ch = match name.strip_prefix("U+") {
        Some(hex) => char::from_u32(u32::from_str_radix(hex, 16).ok()?)?,
        None => {
            let mut chars = name.chars();
            let c = chars.next()?;
            if chars.next().is_some() {
                return None;
            }
            c
        }
    };
    let rows: Vec<&str> = tokens.collect();
    if rows.len() != 7 && rows.len() != 9 {
        return None;
    }
    let mut design = [[false; DESIGN_W]; DESIGN_H];
    for (r, row) in rows.iter().enumerate() {
        if row.len() != DESIGN_W {
            return None;
        }
        for (c, b) in row.bytes().enumerate() {
            design[BODY_TOP + r][c] = match b {
                b'#' => true,
                b'.' => false,
                _ => return None,
            };
        }
    }
    Some((ch, design))
}

/// Lines in `glyphs.txt` that hold a design but do not parse (for the tests).
#[cfg(test)]
fn malformed_design_lines() -> Vec<String> {
    include_str!("glyphs.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim().starts_with("//"))
        .filter(|l| parse_design_line(l).is_none())
        .map(str::to_string)
        .collect()
}

fn put_mark(design: &mut Design, mark: Mark, lowercase: bool) {
    let top = match (mark, lowercase) {
        (Mark::Cedilla, _) => BODY_TOP + 7,
        (_, false) => 0,
        (_, true) => X_TOP - 2,
    };
    for (dr, row) in mark.rows().iter().enumerate() {
        for (c, b) in row.bytes().enumerate() {
            if b == b'#' {
                design[top + dr][c] = true;
            }
        }
    }
}

/// The design of a character made from others: an accented letter, a lowercase
/// Cyrillic letter, or a character drawn as another.
fn derived_design(ch: char) -> Option<Design> {
    let drawn = designs();
    if let Some(&(_, base, mark)) = COMPOSED.iter().find(|(c, _, _)| *c == ch) {
        let mut d = match drawn.get(&base) {
            Some(d) => *d,
            None => derived_design(base)?,
        };
        put_mark(&mut d, mark, base.is_lowercase());
        return Some(d);
    }
    if let Some(&(_, other)) = SAME_AS.iter().find(|(c, _)| *c == ch) {
        return drawn.get(&other).copied();
    }
    if let Some(&(_, capital)) = SMALL_CAPITALS.iter().find(|(c, _)| *c == ch) {
        let cap = drawn.get(&capital)?;
        // Body rows 0, 2, 3, 4, 6 of the capital make the five x-height rows; the
        // descender stays where it was.
        let mut d = [[false; DESIGN_W]; DESIGN_H];
        for (i, src) in [0, 2, 3, 4, 6].into_iter().enumerate() {
            d[X_TOP + i] = cap[BODY_TOP + src];
        }
        d[BODY_TOP + 7] = cap[BODY_TOP + 7];
        d[BODY_TOP + 8] = cap[BODY_TOP + 8];
        return Some(d);
    }
    None
}

/// Whether the font has a glyph of its own for `ch` (a character without one prints as
/// an empty box).
pub fn has_glyph(ch: char) -> bool {
    designs().contains_key(&ch) || derived_design(ch).is_some() || is_cell_art(ch)
}

/// Line weight of one arm of a box-drawing character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arm {
    None,
    Single,
    Double,
}

/// Arms (up, down, left, right) of the box-drawing characters of the DOS code pages.
fn box_arms(ch: char) -> Option<[Arm; 4]> {
    use Arm::{Double as D, None as N, Single as S};
    Some(match ch {
        '─' => [N, N, S, S],
        '│' => [S, S, N, N],
        '┌' => [N, S, N, S],
        '┐' => [N, S, S, N],
        '└' => [S, N, N, S],
        '┘' => [S, N, S, N],
        '├' => [S, S, N, S],
        '┤' => [S, S, S, N],
        '┬' => [N, S, S, S],
        '┴' => [S, N, S, S],
        '┼' => [S, S, S, S],
        '═' => [N, N, D, D],
        '║' => [D, D, N, N],
        '╒' => [N, S, N, D],
        '╓' => [N, D, N, S],
        '╔' => [N, D, N, D],
        '╕' => [N, S, D, N],
        '╖' => [N, D, S, N],
        '╗' => [N, D, D, N],
        '╘' => [S, N, N, D],
        '╙' => [D, N, N, S],
        '╚' => [D, N, N, D],
        '╛' => [S, N, D, N],
        '╜' => [D, N, S, N],
        '╝' => [D, N, D, N],
        '╞' => [S, S, N, D],
        '╟' => [D, D, N, S],
        '╠' => [D, D, N, D],
        '╡' => [S, S, D, N],
        '╢' => [D, D, S, N],
        '╣' => [D, D, D, N],
        '╤' => [N, S, D, D],
        '╥' => [N, D, S, S],
        '╦' => [N, D, D, D],
        '╧' => [S, N, D, D],
        '╨' => [D, N, S, S],
        '╩' => [D, N, D, D],
        '╪' => [S, S, D, D],
        '╫' => [D, D, S, S],
        '╬' => [D, D, D, D],
        _ => return None,
    })
}

/// Whether `ch` is drawn across the whole cell: box drawing, shades, blocks.
fn is_cell_art(ch: char) -> bool {
    box_arms(ch).is_some() || matches!(ch, '░' | '▒' | '▓' | '█' | '▄' | '▀' | '▌' | '▐')
}

/// Draws a whole-cell character into `cell` (all dots clear on entry).
fn draw_cell_art(ch: char, cell: &mut Bitmap, font: Font) {
    let (w, h) = (cell.width(), cell.height());
    let (cx, cy) = (w / 2, h / 2);
    // Line thickness and the gap between the strokes of a double line.
    let (t, gap) = match font {
        Font::A => (2, 2),
        Font::B => (1, 2),
    };
    if let Some([up, down, left, right]) = box_arms(ch) {
        // Offset of the strokes of a double line from the centre line.
        let d = i64::from(gap + t / 2);
        let off = |a: Arm| if a == Arm::Double { d } else { 0 };
        let strokes = |a: Arm| -> Vec<i64> {
            match a {
                Arm::None => vec![],
                Arm::Single => vec![0],
                Arm::Double => vec![-d, d],
            }
        };
        let (t, cx, cy, w, h) = (
            i64::from(t),
            i64::from(cx),
            i64::from(cy),
            i64::from(w),
            i64::from(h),
        );
        // How far past the centre a stroke on side `s` of an arm runs (negative: it
        // stops short), given the arm opposite it and the arms across it on its side and
        // on the other side: it stops at the near stroke of an arm on its own side, runs
        // through to the opposite arm, turns the outer corner to an arm on the other
        // side; a single stem stops at the near stroke of a tee and turns the outer
        // stroke of a corner.
        let reach = |s: i64, opposite: Arm, near: Arm, far: Arm| -> i64 {
            let (own, other) = if s < 0 { (near, far) } else { (far, near) };
            if s != 0 && own != Arm::None {
                -off(own)
            } else if opposite != Arm::None {
                0
            } else if s != 0 && other != Arm::None {
                off(other)
            } else if s == 0 && near != Arm::None && far != Arm::None {
                -off(near).max(off(far))
            } else if s == 0 {
                off(near).max(off(far))
            } else {
                0
            }
        };
        let mut fill = |x0: i64, y0: i64, x1: i64, y1: i64| {
            let c = |v: i64, hi: i64| v.clamp(0, hi) as u32;
            cell.fill_rect(c(x0, w), c(y0, h), c(x1, w), c(y1, h), true);
        };
        // Vertical arms: a stroke at x offset `s`; its own side is left for s < 0.
        for (arm, from_top) in [(up, true), (down, false)] {
            let opposite = if from_top { down } else { up };
            for s in strokes(arm) {
                let r = reach(s, opposite, left, right);
                let x0 = cx + s - t / 2;
                if from_top {
                    fill(x0, 0, x0 + t, cy + r - t / 2 + t);
                } else {
                    fill(x0, cy - r - t / 2, x0 + t, h);
                }
            }
        }
        // Horizontal arms: a stroke at y offset `s`; its own side is up for s < 0.
        for (arm, from_left) in [(left, true), (right, false)] {
            let opposite = if from_left { right } else { left };
            for s in strokes(arm) {
                let r = reach(s, opposite, up, down);
                let y0 = cy + s - t / 2;
                if from_left {
                    fill(0, y0, cx + r - t / 2 + t, y0 + t);
                } else {
                    fill(cx - r - t / 2, y0, w, y0 + t);
                }
            }
        }
        return;
    }
    for y in 0..h {
        for x in 0..w {
            let on = match ch {
                '░' => x % 2 == 0 && y % 2 == 0,
                '▒' => (x + y) % 2 == 0,
                '▓' => !(x % 2 == 1 && y % 2 == 1),
                '█' => true,
                '▄' => y >= cy,
                '▀' => y < cy,
                '▌' => x < cx,
                '▐' => x >= cx,
                _ => false,
            };
            if on {
                cell.set(x, y, true);
            }
        }
    }
}

/// The outline of an empty box: what a character without a glyph prints as.
fn missing_design() -> Design {
    let mut d = [[false; DESIGN_W]; DESIGN_H];
    for (r, row) in d.iter_mut().enumerate().take(BODY_TOP + 7).skip(BODY_TOP) {
        for (c, dot) in row.iter_mut().enumerate() {
            *dot = r == BODY_TOP || r == BODY_TOP + 6 || c == 0 || c == DESIGN_W - 1;
        }
    }
    d
}

/// Scales a design into a cell: every dot takes the design cell its centre falls in.
fn rasterise(design: &Design, font: Font) -> Bitmap {
    let (w, h) = font.cell();
    let mut cell = Bitmap::new(w, h);
    // Font A: 2 × 2 dots per design cell, one column of paper on the left; Font B: the
    // design squeezed into 7 × 16 dots.
    let (x0, gw, y0, gh) = match font {
        Font::A => (1, 10, 1, 22),
        Font::B => (1, 7, 0, 16),
    };
    for y in 0..gh {
        let r = (y as usize * DESIGN_H) / gh as usize;
        for x in 0..gw {
            let c = (x as usize * DESIGN_W) / gw as usize;
            if design[r][c] {
                cell.set(x0 + x, y0 + y, true);
            }
        }
    }
    cell
}

fn build(ch: char, font: Font) -> Bitmap {
    if is_cell_art(ch) {
        let (w, h) = font.cell();
        let mut cell = Bitmap::new(w, h);
        draw_cell_art(ch, &mut cell, font);
        return cell;
    }
    let design = designs()
        .get(&ch)
        .copied()
        .or_else(|| derived_design(ch))
        .unwrap_or_else(missing_design);
    rasterise(&design, font)
}

/// The cell of `ch` in `font` (its own size: [`Font::cell`]).
pub fn glyph(ch: char, font: Font) -> Bitmap {
    static CACHE: OnceLock<std::sync::Mutex<[HashMap<char, Bitmap>; 2]>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| std::sync::Mutex::new([HashMap::new(), HashMap::new()]));
    let mut guard = match cache.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    guard[font.index()]
        .entry(ch)
        .or_insert_with(|| build(ch, font))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_design_line_parses() {
        assert_eq!(malformed_design_lines(), Vec::<String>::new());
        assert!(designs().len() > 200, "{}", designs().len());
    }

    #[test]
    fn ink_stays_inside_the_cell_and_printable_ascii_is_distinct() {
        for font in [Font::A, Font::B] {
            let mut seen: HashMap<Vec<u8>, char> = HashMap::new();
            for ch in (0x21u8..=0x7E).map(char::from) {
                let g = glyph(ch, font);
                assert_eq!((g.width(), g.height()), font.cell());
                assert!(g.count(0, 0, g.width(), g.height()) > 0, "{ch} is blank");
                if let Some(other) = seen.insert(g.dots().to_vec(), ch) {
                    panic!("{ch} and {other} look the same in {font:?}");
                }
            }
            let space = glyph(' ', font);
            assert_eq!(space.count(0, 0, space.width(), space.height()), 0);
        }
    }

    #[test]
    fn shapes_are_what_they_should_be() {
        // Font A: 'I' is a vertical bar down the middle of the cell with serifs; '-' is
        // a horizontal stroke only; 'L' has ink at the bottom left.
        let i = glyph('I', Font::A);
        for y in 7..17 {
            assert!(i.get(5, y) && i.get(6, y), "row {y}");
            assert!(!i.get(1, y) && !i.get(10, y), "row {y}");
        }
        let dash = glyph('-', Font::A);
        let rows: Vec<u32> = (0..24)
            .filter(|&y| dash.count(0, y, 12, y + 1) > 0)
            .collect();
        assert_eq!(rows, vec![11, 12]);
        let l = glyph('L', Font::B);
        assert!(l.get(1, 13) && l.get(6, 13));
        // A descender reaches below the baseline; a capital does not.
        let p = glyph('p', Font::A);
        assert!(p.count(0, 19, 12, 23) > 0);
        assert_eq!(glyph('P', Font::A).count(0, 19, 12, 24), 0);
    }

    #[test]
    fn accented_and_derived_letters_carry_their_base() {
        let e = glyph('E', Font::A);
        let e_acute = glyph('É', Font::A);
        assert_ne!(e.dots(), e_acute.dots());
        // Same body, ink added above it.
        for y in 5..24 {
            assert_eq!(e.row(y), e_acute.row(y), "row {y}");
        }
        assert!(e_acute.count(0, 0, 12, 5) > 0);
        // Cyrillic lowercase: inside the x-height.
        let zhe = glyph('ж', Font::A);
        assert_eq!(zhe.count(0, 0, 12, 9), 0);
        assert!(zhe.count(0, 9, 12, 19) > 0);
        // Box drawing reaches the cell's edges so that lines join.
        let cross = glyph('┼', Font::A);
        assert!(cross.get(6, 0) && cross.get(6, 23) && cross.get(0, 12) && cross.get(11, 12));
        assert!(!glyph('─', Font::A).get(6, 0));
        // A double corner: the outer strokes turn at the outer corner, the inner ones at
        // the inner corner, the centre stays white.
        let corner = glyph('╔', Font::A);
        assert!(corner.get(2, 23) && corner.get(11, 8) && corner.get(2, 8));
        assert!(corner.get(8, 23) && corner.get(11, 14) && corner.get(8, 14));
        assert_eq!(corner.count(0, 0, 12, 8) + corner.count(0, 0, 2, 24), 0);
        assert!(!corner.get(6, 12));
    }

    #[test]
    fn every_character_of_the_supported_code_pages_has_a_glyph() {
        for table in codepage::SUPPORTED {
            let missing: Vec<char> = (0x20u8..=0xFF)
                .filter(|&b| b != 0x7F)
                .filter_map(|b| codepage::to_char(table.number, 0, b))
                .filter(|&c| !has_glyph(c))
                .collect();
            assert_eq!(missing, Vec::<char>::new(), "{}", table.name);
        }
    }
}
