//! One-dimensional barcodes as the printer's GS k makes them: UPC-A, UPC-E, EAN-13,
//! EAN-8, CODE39, ITF, CODABAR, CODE93 and CODE128, with their check digits and the
//! human-readable (HRI) text.
//!
//! Owns the symbologies' tables and the printer's data rules (which bytes each system
//! takes, CODE128's `{A {B {C {S {1…{4 {{` escapes, code set C as byte values 0–99).
//! Encoded here from the symbologies' definitions. It must not lay out or draw: `layout`
//! turns a `Symbol` into dots at the module width and height.

/// One bar or space of a symbol, alternating, bars first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    /// A width in modules (EAN/UPC, CODE93, CODE128: 1–4).
    Modules(u8),
    /// The wide element of a two-width symbology (CODE39, ITF, CODABAR).
    Wide,
}

/// An encoded barcode: its elements (bar, space, bar, …) and its HRI text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub name: &'static str,
    pub elements: Vec<Element>,
    pub hri: String,
}

/// Why a GS k barcode prints nothing (a printer ignores such a command).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BarcodeError {
    #[error("barcode system {0} is not one the simulated printer draws")]
    Unsupported(u8),
    #[error("{name}: {reason}")]
    Data { name: &'static str, reason: String },
}

impl Symbol {
    /// Dot widths of the elements for a module width (GS w) of `module` dots: the wide
    /// element of a two-width symbology is 2.5 modules (at least 3 dots, rounded up).
    pub fn widths(&self, module: u32) -> Vec<u32> {
        let wide = ((module * 5).div_ceil(2)).max(module + 2);
        self.elements
            .iter()
            .map(|e| match e {
                Element::Modules(n) => u32::from(*n) * module,
                Element::Wide => wide,
            })
            .collect()
    }

    /// One row of the symbol: `true` where a bar prints.
    pub fn row(&self, module: u32) -> Vec<bool> {
        let mut row = Vec::new();
        for (i, w) in self.widths(module).into_iter().enumerate() {
            row.extend(std::iter::repeat_n(i % 2 == 0, w as usize));
        }
        row
    }
}

fn data_error(name: &'static str, reason: impl Into<String>) -> BarcodeError {
    BarcodeError::Data {
        name,
        reason: reason.into(),
    }
}

/// The barcode GS k `m` with `data` makes (m 0–6 function A, 65–73 function B).
pub fn encode(m: u8, data: &[u8]) -> Result<Symbol, BarcodeError> {
    match m {
        0 | 65 => upc_a(data),
        1 | 66 => upc_e(data),
        2 | 67 => ean13(data),
        3 | 68 => ean8(data),
        4 | 69 => code39(data),
        5 | 70 => itf(data),
        6 | 71 => codabar(data),
        72 => code93(data),
        73 => code128(data),
        _ => Err(BarcodeError::Unsupported(m)),
    }
}

// --- EAN / UPC ---------------------------------------------------------------------

/// Set A (odd parity) patterns of the digits, 7 modules, 1 = bar.
const EAN_L: [u8; 10] = [
    0b0001101, 0b0011001, 0b0010011, 0b0111101, 0b0100011, 0b0110001, 0b0101111, 0b0111011,
    0b0110111, 0b0001011,
];

/// Which left-half digits of an EAN-13 use set B, by the first digit (bit 5 = 2nd digit).
const EAN13_PARITY: [u8; 10] = [
    0b000000, 0b001011, 0b001101, 0b001110, 0b010011, 0b011001, 0b011100, 0b010101, 0b010110,
    0b011010,
];

/// Which UPC-E digits use set B (even parity), by check digit, number system 0 (bit 5 =
/// the first digit); number system 1 is the complement.
const UPCE_PARITY: [u8; 10] = [
    0b111000, 0b110100, 0b110010, 0b110001, 0b101100, 0b100110, 0b100011, 0b101010, 0b101001,
    0b100101,
];

#[derive(Clone, Copy)]
enum Set {
    A,
    B,
    C,
}

/// Modules of one digit in set A, B or C (C = right half).
fn ean_digit(d: u8, set: Set) -> [bool; 7] {
    let l = EAN_L[usize::from(d % 10)];
    let mut m = [false; 7];
    for (i, slot) in m.iter_mut().enumerate() {
        let bit = (l >> (6 - i)) & 1 == 1;
        *slot = match set {
            Set::A => bit,
            Set::C => !bit,
            // Set B: set C read backwards.
            Set::B => (l >> i) & 1 == 0,
        };
    }
    m
}

/// Elements from a run of modules (1 = bar), which starts with a bar.
fn from_modules(modules: &[bool]) -> Vec<Element> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < modules.len() {
        let v = modules[i];
        let mut n = 0u8;
        while i < modules.len() && modules[i] == v && n < u8::MAX {
            n += 1;
            i += 1;
        }
        out.push(Element::Modules(n));
    }
    out
}

fn digits(name: &'static str, data: &[u8]) -> Result<Vec<u8>, BarcodeError> {
    data.iter()
        .map(|&b| match b {
            b'0'..=b'9' => Ok(b - b'0'),
            _ => Err(data_error(name, format!("byte 0x{b:02X} is not a digit"))),
        })
        .collect()
}

/// The EAN/UPC check digit of `ds` (without it).
fn ean_check(ds: &[u8]) -> u8 {
    let sum: u32 = ds
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| u32::from(d) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Digits of a given length without the check digit, or with a correct one: the digits
/// with their check digit.
fn with_check(name: &'static str, data: &[u8], len: usize) -> Result<Vec<u8>, BarcodeError> {
    let mut ds = digits(name, data)?;
    if ds.len() == len - 1 {
        ds.push(ean_check(&ds));
    } else if ds.len() == len {
        let c = ean_check(&ds[..len - 1]);
        if ds[len - 1] != c {
            return Err(data_error(
                name,
                format!("check digit {} should be {c}", ds[len - 1]),
            ));
        }
    } else {
        return Err(data_error(
            name,
            format!("{} digits (needs {} or {len})", ds.len(), len - 1),
        ));
    }
    Ok(ds)
}

/// The modules of an EAN-13-shaped symbol: guard, left digits with their sets, centre,
/// right digits, guard.
fn ean_modules(left: &[(u8, Set)], right: &[u8]) -> Vec<bool> {
    let mut m = vec![true, false, true];
    for &(d, set) in left {
        m.extend(ean_digit(d, set));
    }
    m.extend([false, true, false, true, false]);
    for &d in right {
        m.extend(ean_digit(d, Set::C));
    }
    m.extend([true, false, true]);
    m
}

fn text(ds: &[u8]) -> String {
    ds.iter().map(|d| char::from(b'0' + d)).collect()
}

fn ean13(data: &[u8]) -> Result<Symbol, BarcodeError> {
    const NAME: &str = "EAN-13";
    let ds = with_check(NAME, data, 13)?;
    let parity = EAN13_PARITY[usize::from(ds[0])];
    let left: Vec<(u8, Set)> = (0..6)
        .map(|i| {
            let b = (parity >> (5 - i)) & 1 == 1;
            (ds[1 + i], if b { Set::B } else { Set::A })
        })
        .collect();
    Ok(Symbol {
        name: NAME,
        elements: from_modules(&ean_modules(&left, &ds[7..])),
        hri: text(&ds),
    })
}

fn upc_a(data: &[u8]) -> Result<Symbol, BarcodeError> {
    const NAME: &str = "UPC-A";
    let ds = with_check(NAME, data, 12)?;
    let left: Vec<(u8, Set)> = ds[..6].iter().map(|&d| (d, Set::A)).collect();
    Ok(Symbol {
        name: NAME,
        elements: from_modules(&ean_modules(&left, &ds[6..])),
        hri: text(&ds),
    })
}

fn ean8(data: &[u8]) -> Result<Symbol, BarcodeError> {
    const NAME: &str = "EAN-8";
    let ds = with_check(NAME, data, 8)?;
    let left: Vec<(u8, Set)> = ds[..4].iter().map(|&d| (d, Set::A)).collect();
    Ok(Symbol {
        name: NAME,
        elements: from_modules(&ean_modules(&left, &ds[4..])),
        hri: text(&ds),
    })
}

/// The UPC-A digits (11, no check digit) a UPC-E number system and six digits stand for.
fn upce_expand(ns: u8, e: &[u8]) -> Vec<u8> {
    let mut a = vec![ns];
    match e[5] {
        0..=2 => a.extend([e[0], e[1], e[5], 0, 0, 0, 0, e[2], e[3], e[4]]),
        3 => a.extend([e[0], e[1], e[2], 0, 0, 0, 0, 0, e[3], e[4]]),
        4 => a.extend([e[0], e[1], e[2], e[3], 0, 0, 0, 0, 0, e[4]]),
        _ => a.extend([e[0], e[1], e[2], e[3], e[4], 0, 0, 0, 0, e[5]]),
    }
    a
}

/// The six UPC-E digits of an 11-digit UPC-A number (without its check digit), if it
/// can be zero-suppressed.
fn upce_compress(a: &[u8]) -> Option<Vec<u8>> {
    let (m, p) = (&a[1..6], &a[6..11]);
    let e = if m[3..] == [0, 0] && m[2] <= 2 && p[..2] == [0, 0] {
        vec![m[0], m[1], p[2], p[3], p[4], m[2]]
    } else if m[3..] == [0, 0] && p[..3] == [0, 0, 0] {
        vec![m[0], m[1], m[2], p[3], p[4], 3]
    } else if m[4] == 0 && p[..4] == [0, 0, 0, 0] {
        vec![m[0], m[1], m[2], m[3], p[4], 4]
    } else if p[..4] == [0, 0, 0, 0] && p[4] >= 5 {
        vec![m[0], m[1], m[2], m[3], m[4], p[4]]
    } else {
        return None;
    };
    // The compressed form must expand back to the same number.
    (upce_expand(a[0], &e) == a).then_some(e)
}

fn upc_e(data: &[u8]) -> Result<Symbol, BarcodeError> {
    const NAME: &str = "UPC-E";
    let ds = digits(NAME, data)?;
    let (ns, six, given_check) = match ds.len() {
        6 => (0, ds.clone(), None),
        7 => (ds[0], ds[1..7].to_vec(), None),
        8 => (ds[0], ds[1..7].to_vec(), Some(ds[7])),
        11 | 12 => {
            let six = upce_compress(&ds[..11])
                .ok_or_else(|| data_error(NAME, "this UPC-A number cannot be zero-suppressed"))?;
            (ds[0], six, ds.get(11).copied())
        }
        n => {
            return Err(data_error(
                NAME,
                format!("{n} digits (needs 6, 7, 8, 11 or 12)"),
            ))
        }
    };
    if ns > 1 {
        return Err(data_error(NAME, format!("number system {ns} (0 or 1)")));
    }
    let check = ean_check(&upce_expand(ns, &six));
    if let Some(c) = given_check.filter(|&c| c != check) {
        return Err(data_error(
            NAME,
            format!("check digit {c} should be {check}"),
        ));
    }
    let mut parity = UPCE_PARITY[usize::from(check)];
    if ns == 1 {
        parity = !parity & 0b111111;
    }
    let mut m = vec![true, false, true];
    for (i, &d) in six.iter().enumerate() {
        let even = (parity >> (5 - i)) & 1 == 1;
        m.extend(ean_digit(d, if even { Set::B } else { Set::A }));
    }
    m.extend([false, true, false, true, false, true]);
    let mut hri = vec![ns];
    hri.extend(&six);
    hri.push(check);
    Ok(Symbol {
        name: NAME,
        elements: from_modules(&m),
        hri: text(&hri),
    })
}

// --- Two-width symbologies -----------------------------------------------------------

/// Elements of a two-width pattern, `1` = wide, starting with a bar.
fn two_width(pattern: &str) -> impl Iterator<Item = Element> + '_ {
    pattern.bytes().map(|b| {
        if b == b'1' {
            Element::Wide
        } else {
            Element::Modules(1)
        }
    })
}

/// CODE39: character, 9 elements (bar, space, …), 1 = wide.
const CODE39: &[(u8, &str)] = &[
    (b'0', "000110100"),
    (b'1', "100100001"),
    (b'2', "001100001"),
    (b'3', "101100000"),
    (b'4', "000110001"),
    (b'5', "100110000"),
    (b'6', "001110000"),
    (b'7', "000100101"),
    (b'8', "100100100"),
    (b'9', "001100100"),
    (b'A', "100001001"),
    (b'B', "001001001"),
    (b'C', "101001000"),
    (b'D', "000011001"),
    (b'E', "100011000"),
    (b'F', "001011000"),
    (b'G', "000001101"),
    (b'H', "100001100"),
    (b'I', "001001100"),
    (b'J', "000011100"),
    (b'K', "100000011"),
    (b'L', "001000011"),
    (b'M', "101000010"),
    (b'N', "000010011"),
    (b'O', "100010010"),
    (b'P', "001010010"),
    (b'Q', "000000111"),
    (b'R', "100000110"),
    (b'S', "001000110"),
    (b'T', "000010110"),
    (b'U', "110000001"),
    (b'V', "011000001"),
    (b'W', "111000000"),
    (b'X', "010010001"),
    (b'Y', "110010000"),
    (b'Z', "011010000"),
    (b'-', "010000101"),
    (b'.', "110000100"),
    (b' ', "011000100"),
    (b'$', "010101000"),
    (b'/', "010100010"),
    (b'+', "010001010"),
    (b'%', "000101010"),
    (b'*', "010010100"),
];

fn code39(data: &[u8]) -> Result<Symbol, BarcodeError> {
    const NAME: &str = "CODE39";
    // The printer adds the start and stop character `*` when the data lacks them.
    let inner = match data {
        [b'*', inner @ .., b'*'] => inner,
        _ => data,
    };
    if inner.is_empty() {
        return Err(data_error(NAME, "no data"));
    }
    let mut elements = Vec::new();
    let mut chars = vec![b'*'];
    chars.extend_from_slice(inner);
    chars.push(b'*');
    for (i, &c) in chars.iter().enumerate() {
        let pattern = CODE39
            .iter()
            .find(|(k, _)| *k == c && (c != b'*' || i == 0 || i == chars.len() - 1))
            .map(|(_, p)| *p)
            .ok_or_else(|| data_error(NAME, format!("byte 0x{c:02X} has no CODE39 character")))?;
        if i > 0 {
            elements.push(Element::Modules(1));
        }
        elements.extend(two_width(pattern));
    }
    Ok(Symbol {
        name: NAME,
        elements,
        hri: String::from_utf8_lossy(&chars).into_owned(),
    })
}

/// ITF digit patterns: five elements, two wide.
const ITF: [&str; 10] = [
    "00110", "10001", "01001", "11000", "00101", "10100", "01100", "00011", "10010", "01010",
];

fn itf(data: &[u8]) -> Result<Symbol, BarcodeError> {
    const NAME: &str = "ITF";
    let ds = digits(NAME, data)?;
    if ds.is_empty() || ds.len() % 2 != 0 {
        return Err(data_error(
            NAME,
            format!("{} digits (needs an even number)", ds.len()),
        ));
    }
    let mut elements = vec![Element::Modules(1); 4];
    for pair in ds.chunks_exact(2) {
        let (bars, spaces) = (ITF[usize::from(pair[0])], ITF[usize::from(pair[1])]);
        for (b, s) in bars.bytes().zip(spaces.bytes()) {
            for x in [b, s] {
                elements.push(if x == b'1' {
                    Element::Wide
                } else {
                    Element::Modules(1)
                });
            }
        }
    }
    elements.extend([Element::Wide, Element::Modules(1), Element::Modules(1)]);
    Ok(Symbol {
        name: NAME,
        elements,
        hri: text(&ds),
    })
}

/// CODABAR (NW-7): character, 7 elements, 1 = wide.
const CODABAR: &[(u8, &str)] = &[
    (b'0', "0000011"),
    (b'1', "0000110"),
    (b'2', "0001001"),
    (b'3', "1100000"),
    (b'4', "0010010"),
    (b'5', "1000010"),
    (b'6', "0100001"),
    (b'7', "0100100"),
    (b'8', "0110000"),
    (b'9', "1001000"),
    (b'-', "0001100"),
    (b'$', "0011000"),
    (b':', "1000101"),
    (b'/', "1010001"),
    (b'.', "1010100"),
    (b'+', "0010101"),
    (b'A', "0011010"),
    (b'B', "0101001"),
    (b'C', "0001011"),
    (b'D', "0001110"),
];

fn codabar(data: &[u8]) -> Result<Symbol, BarcodeError> {
    const NAME: &str = "CODABAR";
    let upper: Vec<u8> = data.iter().map(u8::to_ascii_uppercase).collect();
    let is_start_stop = |c: u8| matches!(c, b'A'..=b'D');
    match upper.as_slice() {
        [first, .., last] if is_start_stop(*first) && is_start_stop(*last) => {}
        _ => {
            return Err(data_error(
                NAME,
                "needs a start and a stop character (A, B, C or D) around the data",
            ))
        }
    }
    let mut elements = Vec::new();
    for (i, &c) in upper.iter().enumerate() {
        let inner = i > 0 && i < upper.len() - 1;
        let pattern = CODABAR
            .iter()
            .find(|(k, _)| *k == c && !(inner && is_start_stop(c)))
            .map(|(_, p)| *p)
            .ok_or_else(|| data_error(NAME, format!("byte 0x{c:02X} has no CODABAR character")))?;
        if i > 0 {
            elements.push(Element::Modules(1));
        }
        elements.extend(two_width(pattern));
    }
    Ok(Symbol {
        name: NAME,
        elements,
        hri: String::from_utf8_lossy(data).into_owned(),
    })
}

// --- CODE93 --------------------------------------------------------------------------

/// CODE93 patterns by value (9 modules, 1 = bar): 0–9, A–Z, - . space $ / + %, then the
/// shifts ($) (%) (/) (+), then start/stop.
const CODE93: [u16; 48] = [
    0b100010100,
    0b101001000,
    0b101000100,
    0b101000010,
    0b100101000,
    0b100100100,
    0b100100010,
    0b101010000,
    0b100010010,
    0b100001010,
    0b110101000,
    0b110100100,
    0b110100010,
    0b110010100,
    0b110010010,
    0b110001010,
    0b101101000,
    0b101100100,
    0b101100010,
    0b100110100,
    0b100011010,
    0b101011000,
    0b101001100,
    0b101000110,
    0b100101100,
    0b100010110,
    0b110110100,
    0b110110010,
    0b110101100,
    0b110100110,
    0b110010110,
    0b110011010,
    0b101101100,
    0b101100110,
    0b100110110,
    0b100111010,
    0b100101110,
    0b111010100,
    0b111010010,
    0b111001010,
    0b101101110,
    0b101110110,
    0b110101110,
    0b100100110,
    0b111011010,
    0b111010110,
    0b100110010,
    0b101011110,
];
const CODE93_CHARS: &[u8; 43] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%";
const C93_SHIFT_DOLLAR: u8 = 43;
const C93_SHIFT_PERCENT: u8 = 44;
const C93_SHIFT_SLASH: u8 = 45;
const C93_SHIFT_PLUS: u8 = 46;
const C93_START: usize = 47;

/// The CODE93 values of one ASCII byte (full ASCII through the shift characters).
fn code93_values(b: u8) -> Option<Vec<u8>> {
    let native = |c: u8| CODE93_CHARS.iter().position(|&k| k == c).map(|v| v as u8);
    if let Some(v) = native(b) {
        return Some(vec![v]);
    }
    let letter = |c: u8| native(c);
    Some(match b {
        0 => vec![C93_SHIFT_PERCENT, letter(b'U')?],
        1..=26 => vec![C93_SHIFT_DOLLAR, letter(b'A' + b - 1)?],
        27..=31 => vec![C93_SHIFT_PERCENT, letter(b'A' + b - 27)?],
        b'!'..=b',' | b'/' | b':' => vec![C93_SHIFT_SLASH, letter(b'A' + b - b'!')?],
        b';'..=b'?' => vec![C93_SHIFT_PERCENT, letter(b'F' + b - b';')?],
        b'@' => vec![C93_SHIFT_PERCENT, letter(b'V')?],
        b'['..=b'_' => vec![C93_SHIFT_PERCENT, letter(b'K' + b - b'[')?],
        b'`' => vec![C93_SHIFT_PERCENT, letter(b'W')?],
        b'a'..=b'z' => vec![C93_SHIFT_PLUS, letter(b.to_ascii_uppercase())?],
        b'{'..=b'\x7f' => vec![C93_SHIFT_PERCENT, letter(b'P' + b - b'{')?],
        _ => return None,
    })
}

fn code93(data: &[u8]) -> Result<Symbol, BarcodeError> {
    const NAME: &str = "CODE93";
    if data.is_empty() {
        return Err(data_error(NAME, "no data"));
    }
    let mut values = Vec::new();
    for &b in data {
        values.extend(
            code93_values(b)
                .ok_or_else(|| data_error(NAME, format!("byte 0x{b:02X} is not ASCII")))?,
        );
    }
    for (weight_max, _) in [(20u32, 'C'), (15u32, 'K')] {
        let sum: u32 = values
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &v)| u32::from(v) * (i as u32 % weight_max + 1))
            .sum();
        values.push((sum % 47) as u8);
    }
    let mut modules = Vec::new();
    let mut push = |p: u16| {
        for i in (0..9).rev() {
            modules.push((p >> i) & 1 == 1);
        }
    };
    push(CODE93[C93_START]);
    for &v in &values {
        push(CODE93[usize::from(v)]);
    }
    push(CODE93[C93_START]);
    modules.push(true);
    Ok(Symbol {
        name: NAME,
        elements: from_modules(&modules),
        hri: String::from_utf8_lossy(data).into_owned(),
    })
}

// --- CODE128 -------------------------------------------------------------------------

/// CODE128 patterns by value (bar, space, … widths in modules); 106 is the stop.
const CODE128: [&str; 107] = [
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212",
    "221213", "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221",
    "223211", "221132", "221231", "213212", "223112", "312131", "311222", "321122", "321221",
    "312212", "322112", "322211", "212123", "212321", "232121", "111323", "131123", "131321",
    "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331", "132131",
    "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131",
    "311123", "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111",
    "111224", "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111", "111242",
    "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodeSet {
    A,
    B,
    C,
}

/// The value of an ASCII byte in code set A or B.
fn code128_value(set: CodeSet, b: u8) -> Option<u8> {
    match (set, b) {
        (CodeSet::A, 0x20..=0x5F) => Some(b - 0x20),
        (CodeSet::A, 0x00..=0x1F) => Some(b + 64),
        (CodeSet::B, 0x20..=0x7F) => Some(b - 0x20),
        _ => None,
    }
}

fn code128(data: &[u8]) -> Result<Symbol, BarcodeError> {
    const NAME: &str = "CODE128";
    let err = |r: String| data_error(NAME, r);
    let mut set = match data {
        [b'{', b'A', ..] => CodeSet::A,
        [b'{', b'B', ..] => CodeSet::B,
        [b'{', b'C', ..] => CodeSet::C,
        _ => {
            return Err(err(
                "the data must start with a code set: {A, {B or {C".to_string()
            ))
        }
    };
    let mut values: Vec<u8> = vec![match set {
        CodeSet::A => 103,
        CodeSet::B => 104,
        CodeSet::C => 105,
    }];
    let mut hri = String::new();
    let mut i = 2;
    while i < data.len() {
        let b = data[i];
        if b == b'{' {
            let Some(&next) = data.get(i + 1) else {
                return Err(err("the data ends after '{'".to_string()));
            };
            i += 2;
            let switch = |to: CodeSet, from: CodeSet| -> u8 {
                match (to, from) {
                    (CodeSet::A, CodeSet::C) | (CodeSet::A, CodeSet::B) => 101,
                    (CodeSet::B, CodeSet::A) => 100,
                    (CodeSet::B, CodeSet::C) => 100,
                    (CodeSet::C, _) => 99,
                    _ => 0,
                }
            };
            match next {
                b'A' | b'B' | b'C' => {
                    let to = match next {
                        b'A' => CodeSet::A,
                        b'B' => CodeSet::B,
                        _ => CodeSet::C,
                    };
                    if to != set {
                        values.push(switch(to, set));
                        set = to;
                    }
                }
                b'S' => {
                    // Shift: the next character in the other of A and B.
                    let other = match set {
                        CodeSet::A => CodeSet::B,
                        CodeSet::B => CodeSet::A,
                        CodeSet::C => return Err(err("{S in code set C".to_string())),
                    };
                    let c = *data
                        .get(i)
                        .ok_or_else(|| err("the data ends after {S".to_string()))?;
                    let v = code128_value(other, c)
                        .ok_or_else(|| err(format!("byte 0x{c:02X} after {{S")))?;
                    values.extend([98, v]);
                    hri.push(char::from(c));
                    i += 1;
                }
                b'1' => values.push(102),
                b'2' | b'3' if set != CodeSet::C => values.push(if next == b'2' { 97 } else { 96 }),
                b'4' if set != CodeSet::C => values.push(if set == CodeSet::A { 101 } else { 100 }),
                b'{' if set != CodeSet::C => {
                    let v =
                        code128_value(set, b'{').ok_or_else(|| err("'{' in code set A".into()))?;
                    values.push(v);
                    hri.push('{');
                }
                other => {
                    return Err(err(format!(
                        "'{{' followed by 0x{other:02X} in code set {set:?}"
                    )))
                }
            }
            continue;
        }
        match set {
            CodeSet::C => {
                if b > 99 {
                    return Err(err(format!("byte {b} in code set C (0..=99)")));
                }
                values.push(b);
                hri.push_str(&format!("{b:02}"));
            }
            _ => {
                let v = code128_value(set, b)
                    .ok_or_else(|| err(format!("byte 0x{b:02X} in code set {set:?}")))?;
                values.push(v);
                if b >= 0x20 {
                    hri.push(char::from(b));
                } else {
                    hri.push(' ');
                }
            }
        }
        i += 1;
    }
    if values.len() < 2 {
        return Err(err("no data after the code set".to_string()));
    }
    let check = values
        .iter()
        .enumerate()
        .map(|(i, &v)| u32::from(v) * (i as u32).max(1))
        .sum::<u32>()
        % 103;
    values.push(check as u8);
    values.push(106);
    let mut elements = Vec::new();
    for v in values {
        elements.extend(
            CODE128[usize::from(v)]
                .bytes()
                .map(|w| Element::Modules(w - b'0')),
        );
    }
    Ok(Symbol {
        name: NAME,
        elements,
        hri,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modules(s: &Symbol) -> u32 {
        s.widths(1).iter().sum()
    }

    #[test]
    fn tables_are_consistent() {
        for (_, p) in CODE39 {
            assert_eq!(p.bytes().filter(|&b| b == b'1').count(), 3, "{p}");
        }
        for p in ITF {
            assert_eq!(p.bytes().filter(|&b| b == b'1').count(), 2, "{p}");
        }
        for (i, p) in CODE128.iter().enumerate() {
            let sum: u32 = p.bytes().map(|b| u32::from(b - b'0')).sum();
            assert_eq!(sum, if i == 106 { 13 } else { 11 }, "{i}");
        }
        for p in CODE93 {
            assert!(p >> 8 == 1 && p & 1 == 0, "{p:b}");
        }
        let mut seen = std::collections::HashSet::new();
        assert!(CODE128.iter().all(|p| seen.insert(*p)));
    }

    #[test]
    fn ean_and_upc_have_their_lengths_and_check_digits() {
        let e = encode(67, b"400638133393").unwrap();
        assert_eq!(e.hri, "4006381333931");
        assert_eq!(modules(&e), 95);
        assert!(encode(2, b"4006381333932").is_err());
        let u = encode(65, b"03600029145").unwrap();
        assert_eq!(u.hri, "036000291452");
        assert_eq!(modules(&u), 95);
        assert_eq!(modules(&encode(68, b"9638507").unwrap()), 67);
        assert_eq!(encode(68, b"9638507").unwrap().hri, "96385074");
        // UPC-E: 0 + 425261 expands to UPC-A 04210000526, check digit 4.
        let e = encode(66, b"0425261").unwrap();
        assert_eq!(e.hri, "04252614");
        assert_eq!(modules(&e), 51);
        assert_eq!(encode(66, b"04210000526").unwrap().hri, "04252614");
        assert!(encode(66, b"01234567891").is_err());
    }

    #[test]
    fn code128_follows_the_printers_escapes() {
        // {B "Ab" then {C 12 34: start B, A, b, code C, 12, 34, check, stop.
        let s = encode(73, b"{BAb{C\x0c\x22").unwrap();
        assert_eq!(s.hri, "Ab1234");
        assert_eq!(modules(&s), 11 * 7 + 13);
        assert!(encode(73, b"ABC").is_err());
        assert!(encode(73, b"{C\x64").is_err());
        // A barcode whose data spells a cut command stays a barcode.
        assert_eq!(encode(73, b"{AV\x1dV").unwrap().hri, "V V");
    }

    #[test]
    fn two_width_symbologies_add_their_guards() {
        let c = encode(4, b"AB-1").unwrap();
        assert_eq!(c.hri, "*AB-1*");
        assert_eq!(encode(69, b"*AB-1*").unwrap(), c);
        assert!(encode(4, b"ab").is_err());
        assert!(encode(5, b"123").is_err());
        assert_eq!(encode(70, b"1234").unwrap().elements.len(), 4 + 20 + 3);
        assert!(encode(6, b"A123B").is_ok() && encode(71, b"123").is_err());
        assert!(encode(72, b"Hello, 93!").is_ok());
        assert_eq!(encode(7, b"1"), Err(BarcodeError::Unsupported(7)));
    }

    #[test]
    fn a_row_alternates_bars_and_spaces_at_the_module_width() {
        let s = encode(73, b"{B1").unwrap();
        let row = s.row(2);
        assert_eq!(row.len() as u32, modules(&s) * 2);
        assert!(row[0] && row[1] && row[2] && row[3] && !row[4]);
        // Wide is 2.5 narrow: 5 dots at module 2, 8 at module 3.
        assert_eq!(
            Symbol {
                name: "t",
                elements: vec![Element::Wide],
                hri: String::new()
            }
            .widths(3),
            vec![8]
        );
    }
}
