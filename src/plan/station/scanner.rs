//! The `[station.scanner]` table: how a printed page becomes an image file (SANE's
//! `scanimage`, a hot folder, or the simulated flatbed).
//!
//! Owns [`ScannerSpec`] and its reader. It must not scan.

use super::fields::{bounded, nonempty, positive};
use super::{instrument_kind, Declared};
use crate::plan::read::{Diag, Tab};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How a printed page becomes an image file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScannerSpec {
    /// SANE `scanimage`.
    Sane {
        device: String,
        resolution: u32,
        mode: String,
        /// `png`, `tiff`, `pnm` or `jpeg`.
        format: String,
        /// The program to run.
        scanimage: String,
        timeout_s: f64,
    },
    /// A folder a scanner (or an operator) drops files into.
    Hotfolder {
        dir: PathBuf,
        /// A new file counts once its size has not changed for this long.
        settle_s: f64,
        timeout_s: f64,
    },
    /// The simulated flatbed (as declared; the simulator has the defaults and limits).
    Sim {
        dpi: Option<Declared<f64>>,
        skew_deg: Option<Declared<f64>>,
    },
}

pub(super) fn read_scanner(d: &mut Diag<'_>, mut t: Tab<'_, '_>, sim: bool) -> Option<ScannerSpec> {
    let Some(kind) = instrument_kind(d, &mut t, sim, &["sane", "hotfolder"], &["sim"]) else {
        t.silence();
        return None;
    };
    let spec = (|| match kind.as_str() {
        "sane" => {
            let device = nonempty(d, &mut t, "device", true);
            let resolution = match t.opt(d, "resolution", Diag::uint) {
                Some(r) if (150..=4800).contains(&r.v) => Some(r.v),
                Some(r) => {
                    d.at(
                        &r.span,
                        format!(
                            "station.scanner.resolution: {} dpi is out of range (150..=4800)",
                            r.v
                        ),
                    );
                    None
                }
                None if t.has("resolution") => None,
                None => Some(600),
            };
            let mode = match t.opt(d, "mode", Diag::string) {
                Some(m) if !m.v.trim().is_empty() => Some(m.v),
                Some(m) => {
                    d.at(&m.span, "station.scanner.mode: must not be empty");
                    None
                }
                None if t.has("mode") => None,
                None => Some("Gray".to_string()),
            };
            let format = match t.opt(d, "format", Diag::string) {
                Some(f) if ["png", "tiff", "pnm", "jpeg"].contains(&f.v.as_str()) => Some(f.v),
                Some(f) => {
                    d.at(
                        &f.span,
                        format!(
                            "station.scanner.format: \"{}\" cannot be read back (expected \"png\", \"tiff\", \"pnm\" or \"jpeg\")",
                            f.v
                        ),
                    );
                    None
                }
                None if t.has("format") => None,
                None => Some("png".to_string()),
            };
            let scanimage = match nonempty(d, &mut t, "scanimage", false) {
                Some(s) => Some(s),
                None if t.has("scanimage") => None,
                None => Some("scanimage".to_string()),
            };
            let timeout_s = positive(d, &mut t, "timeout_s", 120.0, 86_400.0);
            Some(ScannerSpec::Sane {
                device: device?,
                resolution: resolution?,
                mode: mode?,
                format: format?,
                scanimage: scanimage?,
                timeout_s,
            })
        }
        "hotfolder" => {
            let dir = nonempty(d, &mut t, "dir", true);
            let settle_s = bounded(d, &mut t, "settle_s", 2.0, 0.0, 3600.0);
            let timeout_s = positive(d, &mut t, "timeout_s", 300.0, 86_400.0);
            Some(ScannerSpec::Hotfolder {
                dir: PathBuf::from(dir?),
                settle_s,
                timeout_s,
            })
        }
        _ => {
            let dpi = t.opt(d, "dpi", Diag::float).map(|x| d.declared(x));
            let skew_deg = t.opt(d, "skew_deg", Diag::float).map(|x| d.declared(x));
            let read =
                (dpi.is_some() || !t.has("dpi")) && (skew_deg.is_some() || !t.has("skew_deg"));
            read.then_some(ScannerSpec::Sim { dpi, skew_deg })
        }
    })();
    t.finish(d);
    spec
}
