//! Readers the instrument tables share: endpoints (TCP, serial, device files), baud
//! rates, non-empty strings, bounded numbers with defaults and argv command templates
//! with `{placeholders}`.
//!
//! Owns the shape and the messages of these fields only; what a kind does with them is
//! its own file's.

use super::super::read::{check_range, placeholders, Diag, Span, Tab};
use crate::link::{Endpoint, Flow};
use std::path::PathBuf;

/// Default port of a SCPI instrument's raw socket.
pub const SCPI_TCP_PORT: u16 = 5025;

/// Reads a `{ kind = "tcp" | "serial" | "device", … }` table.
pub(super) fn read_endpoint(
    d: &mut Diag<'_>,
    mut t: Tab<'_, '_>,
    allowed: &[&str],
    tcp_port: Option<u16>,
) -> Option<Endpoint> {
    let kind = t.req(d, "kind", Diag::string)?;
    if !allowed.contains(&kind.v.as_str()) {
        let hint = if kind.v == "pty" {
            " (\"pty\" is for simulated printers)"
        } else {
            ""
        };
        d.at(
            &kind.span,
            format!(
                "{}: unknown kind \"{}\"{hint} (expected one of: {})",
                t.what("kind"),
                kind.v,
                allowed.join(", ")
            ),
        );
        t.silence();
        return None;
    }
    let ep = (|| match kind.v.as_str() {
        "tcp" => {
            let host = nonempty(d, &mut t, "host", true);
            let port = t.opt(d, "port", Diag::uint).and_then(|p| {
                if (1..=65535).contains(&p.v) {
                    u16::try_from(p.v).ok()
                } else {
                    d.at(
                        &p.span,
                        format!("{}: {} is not a TCP port (1..=65535)", t.what("port"), p.v),
                    );
                    None
                }
            });
            let port = match (port, tcp_port, t.has("port")) {
                (Some(p), _, _) => Some(p),
                (None, Some(default), false) => Some(default),
                (None, None, false) => {
                    t.req(d, "port", Diag::uint);
                    None
                }
                (None, _, true) => None,
            };
            Some(Endpoint::Tcp {
                host: host?,
                port: port?,
            })
        }
        "serial" => {
            let path = nonempty(d, &mut t, "path", true);
            let baud = read_baud(d, &mut t, true);
            let flow = t.opt(d, "flow", Diag::string).and_then(|f| {
                match f.v.as_str() {
                    "none" => Some(Flow::None),
                    "rtscts" => Some(Flow::Rtscts),
                    "xonxoff" => Some(Flow::Xonxoff),
                    other => {
                        d.at(
                            &f.span,
                            format!(
                                "{}: unknown flow control \"{other}\" (expected \"rtscts\", \"xonxoff\" or \"none\")",
                                t.what("flow")
                            ),
                        );
                        None
                    }
                }
            });
            let flow = match flow {
                Some(f) => f,
                None if t.has("flow") => return None,
                None => Flow::None,
            };
            Some(Endpoint::Serial {
                path: PathBuf::from(path?),
                baud: baud?,
                flow,
            })
        }
        _ => {
            let path = nonempty(d, &mut t, "path", true);
            Some(Endpoint::Device {
                path: PathBuf::from(path?),
            })
        }
    })();
    t.finish(d);
    ep
}

/// A baud rate; `None` when absent (reported if `required`) or out of range (reported).
pub(super) fn read_baud(d: &mut Diag<'_>, t: &mut Tab<'_, '_>, required: bool) -> Option<u32> {
    let baud = if required {
        t.req(d, "baud", Diag::uint)
    } else {
        t.opt(d, "baud", Diag::uint)
    }?;
    if (50..=4_000_000).contains(&baud.v) {
        return Some(baud.v);
    }
    d.at(
        &baud.span,
        format!(
            "{}: {} baud is out of range (50..=4000000)",
            t.what("baud"),
            baud.v
        ),
    );
    None
}

/// A string that must not be empty; `None` (reported) when missing, bad or empty.
pub(super) fn nonempty(
    d: &mut Diag<'_>,
    t: &mut Tab<'_, '_>,
    key: &'static str,
    required: bool,
) -> Option<String> {
    let s = if required {
        t.req(d, key, Diag::string)
    } else {
        t.opt(d, key, Diag::string)
    }?;
    if s.v.trim().is_empty() {
        d.at(&s.span, format!("{}: must not be empty", t.what(key)));
        return None;
    }
    Some(s.v)
}

/// An optional number in `(0, max]` with a default.
pub(super) fn positive(
    d: &mut Diag<'_>,
    t: &mut Tab<'_, '_>,
    key: &'static str,
    default: f64,
    max: f64,
) -> f64 {
    match t.opt(d, key, Diag::float) {
        Some(x) => {
            check_range(d, &x, &t.what(key), Some((0.0, true)), Some((max, false)));
            x.v
        }
        None => default,
    }
}

/// An optional number in `[lo, hi]` with a default.
pub(super) fn bounded(
    d: &mut Diag<'_>,
    t: &mut Tab<'_, '_>,
    key: &'static str,
    default: f64,
    lo: f64,
    hi: f64,
) -> f64 {
    match t.opt(d, key, Diag::float) {
        Some(x) => {
            check_range(d, &x, &t.what(key), Some((lo, false)), Some((hi, false)));
            x.v
        }
        None => default,
    }
}

/// An argv command template: a non-empty array of strings whose `{placeholders}` are all
/// in `allowed` and include every one of `needs`.
pub(super) fn command(
    d: &mut Diag<'_>,
    t: &mut Tab<'_, '_>,
    key: &'static str,
    required: bool,
    allowed: &[&str],
    needs: &[&str],
) -> Option<Vec<String>> {
    let what = t.what(key);
    let args = if required {
        t.req(d, key, Diag::strings)
    } else {
        t.opt(d, key, Diag::strings)
    }?;
    check_template(
        d,
        &args.span,
        &what,
        args.v.iter().map(|a| a.v.as_str()),
        allowed,
        needs,
    )?;
    if args.v.first().is_none_or(|a| a.v.trim().is_empty()) {
        d.at(
            &args.span,
            format!("{what}: needs a program to run, e.g. [\"psuctl\", \"on\"]"),
        );
        return None;
    }
    Some(args.v.into_iter().map(|a| a.v).collect())
}

pub(super) fn check_template<'s>(
    d: &mut Diag<'_>,
    span: &Span,
    what: &str,
    parts: impl Iterator<Item = &'s str> + Clone,
    allowed: &[&str],
    needs: &[&str],
) -> Option<()> {
    let mut ok = true;
    for p in parts.clone().flat_map(placeholders) {
        if !allowed.contains(&p) {
            let known = if allowed.is_empty() {
                "it takes none".to_string()
            } else {
                format!(
                    "known: {}",
                    allowed
                        .iter()
                        .map(|a| format!("{{{a}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            d.at(
                span,
                format!("{what}: unknown placeholder {{{p}}} ({known})"),
            );
            ok = false;
        }
    }
    for n in needs {
        if !parts.clone().flat_map(placeholders).any(|p| p == *n) {
            d.at(span, format!("{what}: must contain {{{n}}}"));
            ok = false;
        }
    }
    ok.then_some(())
}

/// A SCPI instrument's `address`: TCP (port 5025 by default) or serial.
pub(super) fn scpi_address(d: &mut Diag<'_>, t: &mut Tab<'_, '_>) -> Option<Endpoint> {
    match t.get("address") {
        Some((_, v)) => {
            let what = t.what("address");
            d.table(v, &what)
                .and_then(|at| read_endpoint(d, at, &["tcp", "serial"], Some(SCPI_TCP_PORT)))
        }
        None => {
            t.req(d, "address", Diag::string);
            None
        }
    }
}

/// A SCPI command template with a default; its placeholders must be exactly `needs`.
pub(super) fn template(
    d: &mut Diag<'_>,
    t: &mut Tab<'_, '_>,
    key: &'static str,
    default: &str,
    needs: &[&str],
) -> Option<String> {
    match t.opt(d, key, Diag::string) {
        Some(s) => {
            let what = t.what(key);
            check_template(
                d,
                &s.span,
                &what,
                std::iter::once(s.v.as_str()),
                needs,
                needs,
            )?;
            if s.v.trim().is_empty() {
                d.at(&s.span, format!("{what}: must not be empty"));
                return None;
            }
            Some(s.v)
        }
        None if t.has(key) => None,
        None => Some(default.to_string()),
    }
}
