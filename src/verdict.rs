//! Case and run verdicts, ranked `pass < marginal < fail < error < aborted`, and the exit
//! codes docs/design.md assigns to them.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Marginal,
    Fail,
    Error,
    Aborted,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Marginal => "marginal",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
            Verdict::Aborted => "aborted",
        }
    }

    /// The verdict of a name as [`Verdict::name`] gives it.
    pub fn from_name(name: &str) -> Option<Verdict> {
        [
            Verdict::Pass,
            Verdict::Marginal,
            Verdict::Fail,
            Verdict::Error,
            Verdict::Aborted,
        ]
        .into_iter()
        .find(|v| v.name() == name)
    }

    /// Exit code for a single judgement or a whole run: 0 pass/marginal, 1 fail,
    /// 3 error/aborted without any fail.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Pass | Verdict::Marginal => 0,
            Verdict::Fail => 1,
            Verdict::Error | Verdict::Aborted => 3,
        }
    }

    /// The run verdict of several case verdicts: the worst, except that any fail decides
    /// the exit code even beside errors (see `run_exit_code`).
    pub fn worst(items: impl IntoIterator<Item = Verdict>) -> Verdict {
        items.into_iter().max().unwrap_or(Verdict::Pass)
    }
}

/// Exit code of a run: 1 if any case failed, else 3 if any errored or was aborted, else 0.
pub fn run_exit_code(items: impl IntoIterator<Item = Verdict>) -> i32 {
    let (mut fail, mut err) = (false, false);
    for v in items {
        fail |= v == Verdict::Fail;
        err |= matches!(v, Verdict::Error | Verdict::Aborted);
    }
    if fail {
        1
    } else if err {
        3
    } else {
        0
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranking_and_exit_codes() {
        assert!(Verdict::Pass < Verdict::Marginal && Verdict::Fail < Verdict::Error);
        assert_eq!(
            Verdict::worst([Verdict::Pass, Verdict::Fail, Verdict::Marginal]),
            Verdict::Fail
        );
        assert_eq!(run_exit_code([Verdict::Pass, Verdict::Marginal]), 0);
        assert_eq!(run_exit_code([Verdict::Error, Verdict::Fail]), 1);
        assert_eq!(run_exit_code([Verdict::Error, Verdict::Pass]), 3);
        assert_eq!(run_exit_code([]), 0);
    }
}
