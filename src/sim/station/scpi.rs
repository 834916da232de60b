//! The SCPI side shared by the simulated PSU and chamber: splitting a line into commands,
//! matching headers in their long and short forms, reading parameters, and the error
//! queue that `SYST:ERR?` reads.
//!
//! Owns the syntax only; what a command does is the instrument's. It must not panic on
//! any input: whatever cannot be understood becomes a queued SCPI error.

use std::collections::VecDeque;

/// Longest error queue; a further error replaces the last entry with -350.
pub(crate) const QUEUE_LEN: usize = 16;
/// `SYST:ERR?` with an empty queue.
pub(crate) const NO_ERROR: &str = "0,\"No error\"";

/// A SCPI error: its standard code and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScpiError {
    pub code: i32,
    pub message: &'static str,
}

impl ScpiError {
    pub const DATA_TYPE: ScpiError = ScpiError {
        code: -104,
        message: "Data type error",
    };
    pub const PARAMETER_NOT_ALLOWED: ScpiError = ScpiError {
        code: -108,
        message: "Parameter not allowed",
    };
    pub const MISSING_PARAMETER: ScpiError = ScpiError {
        code: -109,
        message: "Missing parameter",
    };
    pub const UNDEFINED_HEADER: ScpiError = ScpiError {
        code: -113,
        message: "Undefined header",
    };
    pub const DATA_OUT_OF_RANGE: ScpiError = ScpiError {
        code: -222,
        message: "Data out of range",
    };
    pub const ILLEGAL_VALUE: ScpiError = ScpiError {
        code: -224,
        message: "Illegal parameter value",
    };
    pub const QUEUE_OVERFLOW: ScpiError = ScpiError {
        code: -350,
        message: "Queue overflow",
    };

    pub fn reply(&self) -> String {
        format!("{},\"{}\"", self.code, self.message)
    }
}

/// An instrument's error queue (oldest first).
#[derive(Debug, Default)]
pub(crate) struct ErrorQueue(VecDeque<ScpiError>);

impl ErrorQueue {
    pub fn push(&mut self, e: ScpiError) {
        if self.0.len() >= QUEUE_LEN {
            if let Some(last) = self.0.back_mut() {
                *last = ScpiError::QUEUE_OVERFLOW;
            }
        } else {
            self.0.push_back(e);
        }
    }

    pub fn pop(&mut self) -> String {
        self.0
            .pop_front()
            .map_or_else(|| NO_ERROR.to_string(), |e| e.reply())
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// One node of a header pattern: its long form written the SCPI way (`VOLTage`: the
/// capitals are the short form) and whether it may be left out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    long: &'static str,
    optional: bool,
}

/// A node that must be given.
pub(crate) const fn req(long: &'static str) -> Node {
    Node {
        long,
        optional: false,
    }
}

/// A node that may be left out (`[:LEVel]`).
pub(crate) const fn opt(long: &'static str) -> Node {
    Node {
        long,
        optional: true,
    }
}

impl Node {
    fn matches(&self, token: &str) -> bool {
        let short: String = self
            .long
            .chars()
            .filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '*')
            .collect();
        token == short || token.eq_ignore_ascii_case(self.long)
    }
}

/// One command of a line: `VOLT:LEV 17.5`, `MEAS:CURR?`, `*IDN?`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Command<'a> {
    /// Header nodes in upper case.
    nodes: Vec<String>,
    pub query: bool,
    pub arg: Option<&'a str>,
}

impl<'a> Command<'a> {
    pub fn parse(text: &'a str) -> Command<'a> {
        let text = text.trim();
        let (header, rest) = match text.find(char::is_whitespace) {
            Some(i) => (&text[..i], text[i..].trim()),
            None => (text, ""),
        };
        let (header, query) = match header.strip_suffix('?') {
            Some(h) => (h, true),
            None => (header, false),
        };
        let nodes = header
            .trim_start_matches(':')
            .split(':')
            .map(str::to_ascii_uppercase)
            .collect();
        Command {
            nodes,
            query,
            arg: (!rest.is_empty()).then_some(rest),
        }
    }

    /// Whether the header matches `pattern` (query mark and parameters aside).
    pub fn is(&self, pattern: &[Node]) -> bool {
        fn walk(tokens: &[String], pattern: &[Node]) -> bool {
            match (tokens.split_first(), pattern.split_first()) {
                (None, None) => true,
                (None, Some(_)) => pattern.iter().all(|n| n.optional),
                (Some(_), None) => false,
                (Some((t, trest)), Some((n, prest))) => {
                    (n.matches(t) && walk(trest, prest)) || (n.optional && walk(tokens, prest))
                }
            }
        }
        walk(&self.nodes, pattern)
    }

    /// A query without parameters (`Err` when parameters were given).
    pub fn plain_query(&self) -> Result<(), ScpiError> {
        match self.arg {
            Some(_) => Err(ScpiError::PARAMETER_NOT_ALLOWED),
            None => Ok(()),
        }
    }

    /// The numeric parameter, with an optional unit suffix (`17.5`, `17.5V`, `1.75e1 v`).
    pub fn number(&self, unit: &str) -> Result<f64, ScpiError> {
        let arg = self.arg.ok_or(ScpiError::MISSING_PARAMETER)?;
        let mut text = arg.trim();
        if !unit.is_empty() && text.len() >= unit.len() {
            let split = text.len() - unit.len();
            if text.is_char_boundary(split) && text[split..].eq_ignore_ascii_case(unit) {
                text = text[..split].trim_end();
            }
        }
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or(ScpiError::DATA_TYPE)
    }

    /// A boolean parameter: `ON`/`1` or `OFF`/`0`.
    pub fn boolean(&self) -> Result<bool, ScpiError> {
        let arg = self.arg.ok_or(ScpiError::MISSING_PARAMETER)?;
        match arg.trim().to_ascii_uppercase().as_str() {
            "ON" | "1" => Ok(true),
            "OFF" | "0" => Ok(false),
            _ => Err(ScpiError::ILLEGAL_VALUE),
        }
    }
}

/// Runs every `;`-separated command of a line through `exec`; errors go to `error`.
/// Returns the replies of the queries, joined by `;`, or `None` when there were none.
pub(crate) fn run_line(
    line: &str,
    mut error: impl FnMut(ScpiError),
    mut exec: impl FnMut(&Command<'_>) -> Result<Option<String>, ScpiError>,
) -> Option<String> {
    let mut replies = Vec::new();
    for text in line.split(';').map(str::trim).filter(|t| !t.is_empty()) {
        let cmd = Command::parse(text);
        match exec(&cmd) {
            Ok(Some(r)) => replies.push(r),
            Ok(None) => {}
            Err(e) => error(e),
        }
    }
    (!replies.is_empty()).then(|| replies.join(";"))
}

const IDN: &[Node] = &[req("*IDN")];
const CLS: &[Node] = &[req("*CLS")];
const OPC: &[Node] = &[req("*OPC")];
const SYST_ERR: &[Node] = &[req("SYSTem"), req("ERRor"), opt("NEXT")];

/// The commands every simulated SCPI instrument answers alike: `*IDN?` (`model` names the
/// instrument), `*CLS`, `*OPC?` and `SYST:ERR?`. `None` when `cmd` is none of them.
pub(crate) fn common(
    world: &super::world::World,
    instrument: super::world::Instrument,
    model: &str,
    cmd: &Command<'_>,
) -> Option<Result<Option<String>, ScpiError>> {
    if cmd.is(IDN) && cmd.query {
        return Some(cmd.plain_query().map(|_| {
            Some(format!(
                "printrig,{model},{},{}",
                world.spec().name,
                crate::VERSION
            ))
        }));
    }
    if cmd.is(CLS) && !cmd.query {
        world.clear_errors(instrument);
        return Some(Ok(None));
    }
    if cmd.is(OPC) && cmd.query {
        return Some(Ok(Some("1".into())));
    }
    if cmd.query && cmd.is(SYST_ERR) {
        return Some(cmd.plain_query().map(|_| Some(world.pop_error(instrument))));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const VOLT: &[Node] = &[
        opt("SOURce"),
        req("VOLTage"),
        opt("LEVel"),
        opt("IMMediate"),
        opt("AMPLitude"),
    ];

    #[test]
    fn long_short_and_optional_nodes_match() {
        for text in [
            "VOLT 17.5",
            "volt 17.5",
            "VOLTAGE 17.5",
            "voltage:level 17.5",
            ":SOUR:VOLT:LEV:IMM 17.5",
            "source:voltage:lev:imm:ampl 17.5V",
        ] {
            let c = Command::parse(text);
            assert!(c.is(VOLT), "{text}");
            assert_eq!(c.number("V"), Ok(17.5), "{text}");
            assert!(!c.query);
        }
        for text in ["VOL 1", "VOLT:LEVX 1", "CURR 1", "SOUR 1", "VOLT:LEV:LEV 1"] {
            assert!(!Command::parse(text).is(VOLT), "{text}");
        }
        let q = Command::parse("VOLT?");
        assert!(q.query && q.is(VOLT) && q.plain_query().is_ok());
        assert_eq!(
            Command::parse("VOLT? 3").plain_query(),
            Err(ScpiError::PARAMETER_NOT_ALLOWED)
        );
        assert!(Command::parse("*IDN?").is(&[req("*IDN")]));
    }

    #[test]
    fn parameters_and_errors() {
        assert_eq!(
            Command::parse("VOLT").number("V"),
            Err(ScpiError::MISSING_PARAMETER)
        );
        assert_eq!(
            Command::parse("VOLT abc").number("V"),
            Err(ScpiError::DATA_TYPE)
        );
        assert_eq!(
            Command::parse("VOLT nan").number("V"),
            Err(ScpiError::DATA_TYPE)
        );
        assert_eq!(Command::parse("OUTP on").boolean(), Ok(true));
        assert_eq!(Command::parse("OUTP 0").boolean(), Ok(false));
        assert_eq!(
            Command::parse("OUTP maybe").boolean(),
            Err(ScpiError::ILLEGAL_VALUE)
        );
        // Multi-byte input never splits inside a character.
        assert_eq!(
            Command::parse("VOLT 1é").number("V"),
            Err(ScpiError::DATA_TYPE)
        );
    }

    #[test]
    fn queue_overflows_into_minus_350() {
        let mut q = ErrorQueue::default();
        assert_eq!(q.pop(), NO_ERROR);
        for _ in 0..QUEUE_LEN + 5 {
            q.push(ScpiError::UNDEFINED_HEADER);
        }
        let mut last = String::new();
        for _ in 0..QUEUE_LEN {
            last = q.pop();
        }
        assert_eq!(last, "-350,\"Queue overflow\"");
        assert_eq!(q.pop(), NO_ERROR);
    }

    #[test]
    fn lines_with_several_commands() {
        let mut errors = Vec::new();
        let out = run_line(
            "A?; B; C?",
            |e| errors.push(e),
            |c| {
                if c.is(&[req("A")]) {
                    Ok(Some("1".into()))
                } else if c.is(&[req("C")]) {
                    Ok(Some("3".into()))
                } else {
                    Err(ScpiError::UNDEFINED_HEADER)
                }
            },
        );
        assert_eq!(out.as_deref(), Some("1;3"));
        assert_eq!(errors, vec![ScpiError::UNDEFINED_HEADER]);
        assert_eq!(run_line("  ", |_| {}, |_| Ok(None)), None);
    }
}
