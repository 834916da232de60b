//! Reading a TOML document with every value's position: the spanned tree of `toml::de`
//! walked by hand, so that every unknown key, wrong type and impossible value is reported
//! (not only the first, as serde would) at the line and column of the key or value.
//!
//! Owns the walk helpers ([`Diag`], [`Tab`], [`At`]); it knows neither file format and
//! never panics on input.

use super::location::{Declared, LineIndex, Location, PlanError, PlanErrors};
use std::ops::Range;
use std::path::Path;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

pub(crate) type Span = Range<usize>;
pub(crate) type Val<'i> = Spanned<DeValue<'i>>;

/// A value read from the file with the spans of its key and of itself.
#[derive(Debug, Clone)]
pub(crate) struct At<T> {
    pub v: T,
    pub key: Span,
    pub span: Span,
}

/// The errors found so far in one file.
pub(crate) struct Diag<'s> {
    index: LineIndex<'s>,
    errors: Vec<PlanError>,
}

impl<'s> Diag<'s> {
    pub(crate) fn new(file: &Path, text: &'s str) -> Diag<'s> {
        Diag {
            index: LineIndex::new(file, text),
            errors: Vec::new(),
        }
    }

    /// Records an error at the start of a span.
    pub(crate) fn at(&mut self, span: &Span, message: impl Into<String>) {
        let loc = self.index.locate(span.start);
        self.errors.push(PlanError::at(loc, message));
    }

    /// Records an error found by someone else (already located).
    pub(crate) fn push(&mut self, e: PlanError) {
        self.errors.push(e);
    }

    /// Records an error about the whole file.
    pub(crate) fn whole(&mut self, message: impl Into<String>) {
        let e = PlanError::file(self.index.file(), message);
        self.errors.push(e);
    }

    /// Where a span starts.
    pub(crate) fn locate(&self, span: &Span) -> Location {
        self.index.locate(span.start)
    }

    /// A value read from the file, kept with its place for a later check.
    pub(crate) fn declared<T>(&self, x: At<T>) -> Declared<T> {
        Declared {
            at: self.locate(&x.span),
            value: x.v,
        }
    }

    pub(crate) fn line_of(&self, span: &Span) -> usize {
        self.index.locate(span.start).line
    }

    pub(crate) fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    pub(crate) fn into_errors(self) -> PlanErrors {
        PlanErrors::sorted(self.errors)
    }

    /// Parses the document; a syntax error stops the reading (what follows it cannot be
    /// trusted), so only the first is reported.
    pub(crate) fn parse<'i>(&mut self, text: &'i str) -> Option<Spanned<DeTable<'i>>> {
        match DeTable::parse(text) {
            Ok(t) => Some(t),
            Err(e) => {
                let msg = format!("TOML syntax: {}", e.message().trim());
                match e.span() {
                    Some(span) => self.at(&span, msg),
                    None => self.whole(msg),
                }
                None
            }
        }
    }

    fn wrong_type(&mut self, v: &Val<'_>, what: &str, expected: &str) {
        let found = describe(v.get_ref());
        self.at(
            &v.span(),
            format!("{what}: expected {expected}, found {found}"),
        );
    }

    pub(crate) fn string(&mut self, v: &Val<'_>, what: &str) -> Option<String> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            _ => {
                self.wrong_type(v, what, "a string");
                None
            }
        }
    }

    /// A finite number (an integer is accepted where a float is expected).
    pub(crate) fn float(&mut self, v: &Val<'_>, what: &str) -> Option<f64> {
        let parsed = match v.get_ref() {
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            DeValue::Integer(i) => int_value(i).map(|n| n as f64),
            _ => {
                self.wrong_type(v, what, "a number");
                return None;
            }
        };
        match parsed {
            Some(x) if x.is_finite() => Some(x),
            _ => {
                self.at(&v.span(), format!("{what}: expected a finite number"));
                None
            }
        }
    }

    pub(crate) fn int(&mut self, v: &Val<'_>, what: &str) -> Option<i64> {
        match v.get_ref() {
            DeValue::Integer(i) => match int_value(i) {
                Some(n) => Some(n),
                None => {
                    self.at(&v.span(), format!("{what}: integer out of range"));
                    None
                }
            },
            _ => {
                self.wrong_type(v, what, "an integer");
                None
            }
        }
    }

    /// A whole number that fits a `u32` (negative numbers are out of range).
    pub(crate) fn uint(&mut self, v: &Val<'_>, what: &str) -> Option<u32> {
        let n = self.int(v, what)?;
        match u32::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                self.at(
                    &v.span(),
                    format!("{what}: {n} is out of range (0..={})", u32::MAX),
                );
                None
            }
        }
    }

    pub(crate) fn uint64(&mut self, v: &Val<'_>, what: &str) -> Option<u64> {
        let n = self.int(v, what)?;
        match u64::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                self.at(&v.span(), format!("{what}: {n} must not be negative"));
                None
            }
        }
    }

    pub(crate) fn boolean(&mut self, v: &Val<'_>, what: &str) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(v, what, "true or false");
                None
            }
        }
    }

    /// A table (a `[header]` table or an inline `{ … }` one).
    pub(crate) fn table<'a, 'i>(&mut self, v: &'a Val<'i>, what: &str) -> Option<Tab<'a, 'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(Tab::new(t, v.span(), what)),
            _ => {
                self.wrong_type(v, what, "a table");
                None
            }
        }
    }

    pub(crate) fn array<'a, 'i>(&mut self, v: &'a Val<'i>, what: &str) -> Option<&'a [Val<'i>]> {
        match v.get_ref() {
            DeValue::Array(a) => Some(a),
            _ => {
                self.wrong_type(v, what, "an array");
                None
            }
        }
    }

    /// An array of strings, each with its own span (bad elements are reported and left out).
    pub(crate) fn strings(&mut self, v: &Val<'_>, what: &str) -> Option<Vec<At<String>>> {
        let items = self.array(v, what)?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(s) = self.string(item, what) {
                out.push(At {
                    v: s,
                    key: item.span(),
                    span: item.span(),
                });
            }
        }
        Some(out)
    }
}

fn int_value(i: &toml::de::DeInteger<'_>) -> Option<i64> {
    i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok()
}

/// How a value is named in "expected …, found …".
fn describe(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) if s.chars().count() <= 40 => format!("the string \"{s}\""),
        DeValue::String(_) => "a string".into(),
        DeValue::Integer(i) => format!("the integer {i}"),
        DeValue::Float(f) => format!("the number {f}"),
        DeValue::Boolean(b) => format!("{b}"),
        DeValue::Datetime(_) => "a date-time".into(),
        DeValue::Array(_) => "an array".into(),
        DeValue::Table(_) => "a table".into(),
    }
}

/// One table being read: remembers which keys were asked for, so that [`Tab::finish`] can
/// report every other key as unknown.
pub(crate) struct Tab<'a, 'i> {
    map: &'a DeTable<'i>,
    /// The table's header (or inline table, or first key of a dotted table).
    pub span: Span,
    /// Dotted name for messages, e.g. `station.printer`.
    pub path: String,
    known: Vec<&'static str>,
    silent: bool,
}

impl<'a, 'i> Tab<'a, 'i> {
    pub(crate) fn new(map: &'a DeTable<'i>, span: Span, path: &str) -> Tab<'a, 'i> {
        Tab {
            map,
            span,
            path: path.to_string(),
            known: Vec::new(),
            silent: false,
        }
    }

    /// The dotted name of a key of this table.
    pub(crate) fn what(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Looks a key up and marks it known.
    pub(crate) fn get(&mut self, key: &'static str) -> Option<(Span, &'a Val<'i>)> {
        if !self.known.contains(&key) {
            self.known.push(key);
        }
        self.map
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(k, v)| (k.span(), v))
    }

    /// Whether a key is present (without marking it known).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.map.iter().any(|(k, _)| k.get_ref().as_ref() == key)
    }

    /// Whether a sub-table `table` is present and has `key`.
    pub(crate) fn has_in(&self, table: &str, key: &str) -> bool {
        self.map
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == table)
            .and_then(|(_, v)| v.get_ref().as_table())
            .is_some_and(|t| t.iter().any(|(k, _)| k.get_ref().as_ref() == key))
    }

    /// An optional value converted by `conv` (errors reported; `None` if absent or bad).
    pub(crate) fn opt<'s, T>(
        &mut self,
        d: &mut Diag<'s>,
        key: &'static str,
        conv: impl FnOnce(&mut Diag<'s>, &'a Val<'i>, &str) -> Option<T>,
    ) -> Option<At<T>> {
        let (k, v) = self.get(key)?;
        let what = self.what(key);
        conv(d, v, &what).map(|x| At {
            v: x,
            key: k,
            span: v.span(),
        })
    }

    /// A required value: a missing key is reported at the table.
    pub(crate) fn req<'s, T>(
        &mut self,
        d: &mut Diag<'s>,
        key: &'static str,
        conv: impl FnOnce(&mut Diag<'s>, &'a Val<'i>, &str) -> Option<T>,
    ) -> Option<At<T>> {
        if !self.has(key) {
            self.get(key);
            let msg = if self.path.is_empty() {
                format!("missing key `{key}`")
            } else {
                format!("missing key `{key}` in {}", self.path)
            };
            d.at(&self.span.clone(), msg);
            return None;
        }
        self.opt(d, key, conv)
    }

    /// A sub-table, if present.
    pub(crate) fn sub(&mut self, d: &mut Diag<'_>, key: &'static str) -> Option<Tab<'a, 'i>> {
        let (_, v) = self.get(key)?;
        let what = self.what(key);
        d.table(v, &what)
    }

    /// Stops reporting unknown keys (when the table's `kind` was not understood, its other
    /// keys cannot be judged).
    pub(crate) fn silence(&mut self) {
        self.silent = true;
    }

    /// Reports every key that was not asked for.
    pub(crate) fn finish(self, d: &mut Diag<'_>) {
        if self.silent {
            return;
        }
        for (k, _) in self.map.iter() {
            let name: &str = k.get_ref().as_ref();
            if self.known.contains(&name) {
                continue;
            }
            let place = if self.path.is_empty() {
                String::new()
            } else {
                format!(" in {}", self.path)
            };
            let msg = if self.known.is_empty() {
                format!("unknown key `{name}`{place}: this table takes no keys")
            } else {
                format!(
                    "unknown key `{name}`{place} (expected one of: {})",
                    self.known.join(", ")
                )
            };
            d.at(&k.span(), msg);
        }
    }
}

/// Checks a name used in ids and paths: `[a-z0-9_-]+`, at most 64 characters.
pub(crate) fn check_name(d: &mut Diag<'_>, name: &At<String>, what: &str) -> bool {
    let ok = !name.v.is_empty()
        && name.v.len() <= 64
        && name
            .v
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !ok {
        d.at(
            &name.span,
            format!(
                "{what}: \"{}\" is not a valid name: use 1 to 64 of a-z, 0-9, '_' and '-'",
                name.v
            ),
        );
    }
    ok
}

/// Checks that a number lies in a range; `lo_open`/`hi_open` exclude the bound.
pub(crate) fn check_range(
    d: &mut Diag<'_>,
    x: &At<f64>,
    what: &str,
    lo: Option<(f64, bool)>,
    hi: Option<(f64, bool)>,
) -> bool {
    let lo_ok = lo.is_none_or(|(b, open)| if open { x.v > b } else { x.v >= b });
    let hi_ok = hi.is_none_or(|(b, open)| if open { x.v < b } else { x.v <= b });
    if lo_ok && hi_ok {
        return true;
    }
    let bound = |(b, open): (f64, bool), word_open: &str, word: &str| {
        format!("{} {b}", if open { word_open } else { word })
    };
    let rule = match (lo, hi) {
        (Some(l), Some(h)) => format!(
            "{} and {}",
            bound(l, "greater than", "at least"),
            bound(h, "less than", "at most")
        ),
        (Some(l), None) => bound(l, "greater than", "at least"),
        (None, Some(h)) => bound(h, "less than", "at most"),
        (None, None) => String::new(),
    };
    d.at(
        &x.span,
        format!("{what}: {} is out of range: must be {rule}", x.v),
    );
    false
}

/// The `{placeholder}` names in a command template.
pub(crate) fn placeholders(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    out.push(name);
                }
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Spanned<DeTable<'_>>, Diag<'_>) {
        let mut d = Diag::new(Path::new("t.toml"), text);
        let t = d.parse(text).expect("valid toml");
        (t, d)
    }

    #[test]
    fn unknown_and_missing_keys_are_reported_where_they_are() {
        let text = "[a]\nx = 1\ntypo = 2\n";
        let (doc, mut d) = read(text);
        let mut root = Tab::new(doc.get_ref(), doc.span(), "");
        let mut a = root.sub(&mut d, "a").expect("table a");
        assert_eq!(a.req(&mut d, "x", Diag::int).map(|x| x.v), Some(1));
        assert!(a.req(&mut d, "y", Diag::int).is_none());
        a.finish(&mut d);
        root.finish(&mut d);
        let errs = d.into_errors().to_string();
        assert_eq!(
            errs,
            "t.toml:1:1: missing key `y` in a\n\
             t.toml:3:1: unknown key `typo` in a (expected one of: x, y)"
        );
    }

    #[test]
    fn numbers_accept_integers_and_reject_wrong_types() {
        let text = "f = 2\ng = \"2\"\nh = -3\ni = 1_000\n";
        let (doc, mut d) = read(text);
        let mut root = Tab::new(doc.get_ref(), doc.span(), "");
        assert_eq!(root.opt(&mut d, "f", Diag::float).map(|x| x.v), Some(2.0));
        assert!(root.opt(&mut d, "g", Diag::float).is_none());
        assert!(root.opt(&mut d, "h", Diag::uint).is_none());
        assert_eq!(root.opt(&mut d, "i", Diag::uint).map(|x| x.v), Some(1000));
        root.finish(&mut d);
        let errs = d.into_errors();
        assert_eq!(errs.len(), 2);
        assert_eq!(
            errs.0[0].to_string(),
            "t.toml:2:5: g: expected a number, found the string \"2\""
        );
        assert!(errs.0[1]
            .to_string()
            .starts_with("t.toml:3:5: h: -3 is out of range"));
    }

    #[test]
    fn syntax_errors_are_located() {
        let text = "a = 1\nb = = 2\n";
        let mut d = Diag::new(Path::new("s.toml"), text);
        assert!(d.parse(text).is_none());
        let errs = d.into_errors();
        assert_eq!(errs.len(), 1);
        let loc = errs.0[0].location.clone().expect("located");
        assert_eq!((loc.line, loc.column), (2, 5));
    }

    #[test]
    fn placeholders_are_found() {
        assert_eq!(placeholders("psu {volts} x{y}{}"), vec!["volts", "y"]);
        assert!(placeholders("no { place").is_empty());
    }
}
