//! Running a station's own commands: the `exec` backends of power, chamber and supply,
//! and `scanimage` for the SANE scanner.
//!
//! Owns: substituting `{placeholders}` (`{volts}`, `{celsius}`, `{what}`, `{level}`) in an
//! argv, spawning it without a shell (stdin closed), the timeout (the program is killed
//! when it passes), capturing stdout and stderr, and turning failures into
//! [`InstrumentError`]s that name the device. Must not: go through a shell, interpret what
//! a command prints beyond a number, or retry.
//!
//! Only the program itself is killed on a timeout; a program that starts children of its
//! own must pass the signal on (or `exec` the last one, as `sh -c` does).

use super::{InstrumentError, Result};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

/// The most output kept from one stream; the rest is read and dropped.
const MAX_CAPTURE: usize = 1024 * 1024;

/// How many lines of stderr an error carries.
const STDERR_LINES: usize = 5;

/// A program that ran to its end.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// The exit code, `None` when a signal ended it.
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// Standard output, when it was captured (lossy UTF-8, at most 1 MiB).
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The last few non-empty lines of stderr, joined with `" | "`.
    pub fn stderr_tail(&self) -> String {
        stderr_tail(&self.stderr)
    }

    /// `Ok(stdout)` for exit code 0, else a `Command` error with the code and the end of
    /// stderr.
    pub fn into_result(self, device: &str, what: &str) -> Result<String> {
        if self.success() {
            return Ok(self.stdout);
        }
        let mut detail = self.stderr_tail();
        if detail.is_empty() {
            detail = match self.signal {
                Some(sig) => format!("killed by signal {sig}"),
                None => "nothing on stderr".to_string(),
            };
        }
        Err(InstrumentError::Command {
            device: device.to_string(),
            what: what.to_string(),
            code: self.code,
            detail,
        })
    }
}

/// Replaces every `{name}` of `vars` in each argument. Unknown placeholders stay as they
/// are.
pub fn substitute(argv: &[String], vars: &[(&str, String)]) -> Vec<String> {
    argv.iter()
        .map(|arg| {
            vars.iter().fold(arg.clone(), |acc, (name, value)| {
                acc.replace(&format!("{{{name}}}"), value)
            })
        })
        .collect()
}

/// Where the program of a station's command (`argv[0]`) would be started from: a path to
/// an executable file, or the first executable of that name on `PATH`. For pre-flight:
/// an error names the device and the action, before anything is run.
pub fn find_program(device: &str, what: &str, argv: &[String]) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let Some(program) = argv.first() else {
        return Err(InstrumentError::Io {
            device: device.to_string(),
            detail: format!("no command configured to {what}"),
        });
    };
    let runnable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let found = if program.contains('/') {
        let p = PathBuf::from(program);
        runnable(&p).then_some(p)
    } else {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join(program))
                .find(|p| runnable(p))
        })
    };
    found.ok_or_else(|| InstrumentError::Io {
        device: device.to_string(),
        detail: if program.contains('/') {
            format!("cannot {what}: `{program}` is not an executable file")
        } else {
            format!("cannot {what}: program `{program}` not found on PATH")
        },
    })
}

/// Runs `argv` (after substitution) with stdin closed, stdout captured; `what` names the
/// action in errors (`"switch on"`). Returns stdout when the exit code is 0.
pub async fn run(
    device: &str,
    what: &str,
    argv: &[String],
    vars: &[(&str, String)],
    timeout: Duration,
) -> Result<String> {
    let argv = substitute(argv, vars);
    let Some((program, args)) = argv.split_first() else {
        return Err(InstrumentError::Io {
            device: device.to_string(),
            detail: format!("no command configured to {what}"),
        });
    };
    let mut cmd = Command::new(program);
    cmd.args(args).stdout(Stdio::piped());
    debug!(device, what, argv = ?argv, "running command");
    run_prepared(device, what, program, cmd, timeout)
        .await?
        .into_result(device, what)
}

/// Runs a prepared command (the caller sets its arguments, environment and stdout; stdin
/// is closed and stderr captured here) and waits for it, at most `timeout`. `program`
/// names it in errors. A program that cannot be started is an `Io` error; one still
/// running at the timeout is killed and reported as `Timeout`; any exit is `Ok`.
pub async fn run_prepared(
    device: &str,
    what: &str,
    program: &str,
    mut cmd: Command,
    timeout: Duration,
) -> Result<Finished> {
    cmd.stdin(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| InstrumentError::Io {
        device: device.to_string(),
        detail: if e.kind() == std::io::ErrorKind::NotFound {
            format!("cannot {what}: program `{program}` not found")
        } else {
            format!("cannot {what}: cannot start `{program}`: {e}")
        },
    })?;
    let pid = child.id();
    let out_task = child.stdout.take().map(capture);
    let err_task = child.stderr.take().map(capture);
    let deadline = tokio::time::Instant::now() + timeout;
    let timed_out = || InstrumentError::Timeout {
        device: device.to_string(),
        what: format!("{what} (`{program}`)"),
        timeout,
    };

    let status = match tokio::time::timeout_at(deadline, child.wait()).await {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => {
            abort(out_task);
            abort(err_task);
            return Err(InstrumentError::Io {
                device: device.to_string(),
                detail: format!("cannot {what}: waiting for `{program}` failed: {e}"),
            });
        }
        Err(_) => {
            warn!(device, what, program, pid, "command timed out: killing it");
            if let Err(e) = child.kill().await {
                warn!(device, program, error = %e, "could not kill the command");
            }
            abort(out_task);
            abort(err_task);
            return Err(timed_out());
        }
    };

    // The program is gone; a child it left behind may still hold the pipes open.
    let stdout = match collect(out_task, deadline).await {
        Some(s) => s,
        None => return Err(timed_out()),
    };
    let stderr = match collect(err_task, deadline).await {
        Some(s) => s,
        None => return Err(timed_out()),
    };
    let finished = Finished {
        code: status.code(),
        signal: status.signal(),
        stdout,
        stderr,
    };
    debug!(device, what, program, code = ?finished.code, "command finished");
    Ok(finished)
}

/// Parses a command's output as one number (the first token of its first non-empty
/// line); anything else is a `Protocol` error.
pub fn parse_number(device: &str, what: &str, stdout: &str) -> Result<f64> {
    let line = stdout.lines().map(str::trim).find(|l| !l.is_empty());
    line.and_then(super::scpi::parse_reading)
        .ok_or_else(|| InstrumentError::Protocol {
            device: device.to_string(),
            what: what.to_string(),
            reply: match line {
                Some(l) => format!("{l} (expected a number)"),
                None => "no output (expected a number)".to_string(),
            },
        })
}

/// The last few non-empty lines of `stderr`, joined with `" | "`.
pub fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let from = lines.len().saturating_sub(STDERR_LINES);
    lines[from..].join(" | ")
}

fn capture<R: AsyncRead + Unpin + Send + 'static>(mut r: R) -> JoinHandle<String> {
    tokio::spawn(async move {
        let mut kept = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = MAX_CAPTURE.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        String::from_utf8_lossy(&kept).into_owned()
    })
}

async fn collect(
    task: Option<JoinHandle<String>>,
    deadline: tokio::time::Instant,
) -> Option<String> {
    let Some(mut task) = task else {
        return Some(String::new());
    };
    match tokio::time::timeout_at(deadline, &mut task).await {
        Ok(Ok(s)) => Some(s),
        Ok(Err(_)) => Some(String::new()),
        Err(_) => {
            task.abort();
            None
        }
    }
}

fn abort(task: Option<JoinHandle<String>>) {
    if let Some(t) = task {
        t.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_every_placeholder() {
        let argv: Vec<String> = ["set", "{volts}", "--to={volts}V", "{other}"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let out = substitute(&argv, &[("volts", "12.5".to_string())]);
        assert_eq!(out, ["set", "12.5", "--to=12.5V", "{other}"]);
    }

    #[test]
    fn tails_stderr() {
        let text = "a\n\nb\nc\nd\ne\nf\n";
        assert_eq!(stderr_tail(text), "b | c | d | e | f");
        assert_eq!(stderr_tail(""), "");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("d", "read", "\n 21.5\n"), Ok(21.5));
        assert!(matches!(
            parse_number("d", "read", "warm"),
            Err(InstrumentError::Protocol { .. })
        ));
    }
}
