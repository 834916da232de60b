//! The defect vocabulary shared by analysis, golden records, reports and the simulated
//! faults. Only names, hints and ordering live here; no detection logic.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How bad a defect or finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Marginal,
    Fail,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Marginal => "marginal",
            Severity::Fail => "fail",
        }
    }

    /// The verdict a defect of this severity gives a page.
    pub fn verdict(self) -> crate::verdict::Verdict {
        match self {
            Severity::Marginal => crate::verdict::Verdict::Marginal,
            Severity::Fail => crate::verdict::Verdict::Fail,
        }
    }
}

/// Where a defect lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Axis {
    /// `start`/`end` are dot columns.
    Columns,
    /// `start`/`end` are dot rows along the feed.
    Rows,
    /// The whole page.
    Page,
}

impl Axis {
    pub fn name(self) -> &'static str {
        match self {
            Axis::Columns => "columns",
            Axis::Rows => "rows",
            Axis::Page => "page",
        }
    }
}

/// What is wrong with a print, in the words of docs/design.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefectKind {
    DeadElement,
    BlockDropout,
    HalfWidth,
    FadeAcross,
    FadeAlong,
    Truncated,
    Light,
    DenseLineFade,
    Banding,
    Blank,
    WrongPattern,
    Unregistered,
}

impl DefectKind {
    pub const ALL: [DefectKind; 12] = [
        DefectKind::DeadElement,
        DefectKind::BlockDropout,
        DefectKind::HalfWidth,
        DefectKind::FadeAcross,
        DefectKind::FadeAlong,
        DefectKind::Truncated,
        DefectKind::Light,
        DefectKind::DenseLineFade,
        DefectKind::Banding,
        DefectKind::Blank,
        DefectKind::WrongPattern,
        DefectKind::Unregistered,
    ];

    /// The snake_case name used in JSON, reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DefectKind::DeadElement => "dead_element",
            DefectKind::BlockDropout => "block_dropout",
            DefectKind::HalfWidth => "half_width",
            DefectKind::FadeAcross => "fade_across",
            DefectKind::FadeAlong => "fade_along",
            DefectKind::Truncated => "truncated",
            DefectKind::Light => "light",
            DefectKind::DenseLineFade => "dense_line_fade",
            DefectKind::Banding => "banding",
            DefectKind::Blank => "blank",
            DefectKind::WrongPattern => "wrong_pattern",
            DefectKind::Unregistered => "unregistered",
        }
    }

    /// The likely causes shown to the user beside a finding.
    pub fn hint(self) -> &'static str {
        match self {
            DefectKind::DeadElement => "burnt heater element, clogged nozzle, broken pin",
            DefectKind::BlockDropout => "driver IC / strobe group failure, loose head cable",
            DefectKind::HalfWidth => {
                "head half not driven, wrong paper-width setting, driver fault"
            }
            DefectKind::FadeAcross => "uneven head pressure, head tilt",
            DefectKind::FadeAlong => "ink running out, supply starvation",
            DefectKind::Truncated => "power loss mid-job, ink/paper out, buffer overrun",
            DefectKind::Light => "low temperature, low voltage, low ink, wrong density setting",
            DefectKind::DenseLineFade => "supply voltage sag under load",
            DefectKind::Banding => "feed roller, stepper",
            DefectKind::Blank => "printer offline, job rejected",
            DefectKind::WrongPattern => "mixed-up pages, wrong job",
            DefectKind::Unregistered => "no print, badly placed paper, scanner fault",
        }
    }

    pub fn parse(s: &str) -> Option<DefectKind> {
        DefectKind::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// A side of the print head as seen on the printed page (left = dot column 0): where a
/// half is missing, which side a fade falls towards, which half a simulated fault kills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Left,
    Right,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Right => "right",
        }
    }
}

impl fmt::Display for DefectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
