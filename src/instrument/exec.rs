//! Running a station's own commands: the `exec` backends of power, chamber and supply,
//! and `scanimage` for the SANE scanner.
//!
//! Owns: substituting `{placeholders}` (`{volts}`, `{celsius}`, `{what}`, `{level}`) in an
//! argv, spawning it without a shell (stdin closed), the timeout (the program is killed
//! when it passes), capturing stdout and stderr, and turning failures into
//! [`InstrumentError`]s that name the device. Must not: go through a shell, interpret what
//! a command prints beyond a number, or retry.
//!
//! Each program runs in a process group of its own. When it passes its timeout, and when
//! it exits, the whole group is stopped (SIGTERM, SIGKILL after half a second): a process
//! it started in the background neither outlives it nor, by holding its output open,
//! turns an answer into "no answer". A program dropped unfinished (its case cancelled) is
//! killed with its group. Its output is what it wrote before it exited.

use super::{InstrumentError, Result};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
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
/// is closed, stderr captured and the process group set here) and waits for it, at most
/// `timeout`. `program` names it in errors. A program that cannot be started is an `Io`
/// error; one still running at the timeout is stopped with its whole process group and
/// reported as `Timeout`; any exit is `Ok`, with what the program wrote before it exited.
pub async fn run_prepared(
    device: &str,
    what: &str,
    program: &str,
    mut cmd: Command,
    timeout: Duration,
) -> Result<Finished> {
    cmd.stdin(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| InstrumentError::Io {
        device: device.to_string(),
        detail: if e.kind() == std::io::ErrorKind::NotFound {
            format!("cannot {what}: program `{program}` not found")
        } else {
            format!("cannot {what}: cannot start `{program}`: {e}")
        },
    })?;
    // The group is the program's own pid (`process_group(0)`); it outlives the program
    // while any process it started is alive.
    let group = child
        .id()
        .and_then(|pid| i32::try_from(pid).ok())
        .map(Group::new);
    let out_task = child.stdout.take().map(capture);
    let err_task = child.stderr.take().map(capture);
    let deadline = tokio::time::Instant::now() + timeout;

    let status = match tokio::time::timeout_at(deadline, child.wait()).await {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => {
            if let Some(g) = &group {
                g.stop(Some(&mut child)).await;
            }
            return Err(InstrumentError::Io {
                device: device.to_string(),
                detail: format!("cannot {what}: waiting for `{program}` failed: {e}"),
            });
        }
        Err(_) => {
            warn!(
                device,
                what, program, "command timed out: stopping it and its process group"
            );
            if let Some(g) = &group {
                g.stop(Some(&mut child)).await;
            }
            // Reaped, bounded: SIGKILL has reached it by now.
            if let Err(e) = child.kill().await {
                warn!(device, program, error = %e, "could not kill the command");
            }
            return Err(InstrumentError::Timeout {
                device: device.to_string(),
                what: format!("{what} (`{program}`, stopped with the processes it started)"),
                timeout,
            });
        }
    };

    // The program is gone; a process it started may still hold its output open. What
    // the program wrote is in the pipes already: stop the rest of its group, then read
    // to the end, for at most DRAIN (a process that left the group can hold a pipe open
    // for ever).
    if let Some(g) = &group {
        let left = g.stop(None).await;
        if left {
            debug!(
                device,
                what, program, "stopped processes the command left running"
            );
        }
    }
    let drain = tokio::time::Instant::now() + DRAIN;
    let (stdout, out_whole) = collect(out_task, drain).await;
    let (stderr, err_whole) = collect(err_task, drain).await;
    if !(out_whole && err_whole) {
        warn!(
            device,
            what,
            program,
            "a process outside the command's group still holds its output open: using what it wrote"
        );
    }
    let finished = Finished {
        code: status.code(),
        signal: status.signal(),
        stdout,
        stderr,
    };
    debug!(device, what, program, code = ?finished.code, "command finished");
    Ok(finished)
}

/// How long the output of a program that exited is read after its process group was
/// stopped (all it wrote is in the pipe by then; this only bounds a pipe held open by a
/// process that left the group).
const DRAIN: Duration = Duration::from_secs(1);

/// How long a process group is given to end after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_millis(500);

/// A program's process group, stopped when it is dropped unstopped (the run that waited
/// for it was cancelled).
struct Group {
    pgid: i32,
    stopped: std::sync::atomic::AtomicBool,
}

impl Group {
    fn new(pgid: i32) -> Group {
        Group {
            pgid,
            stopped: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether any process of the group is still there (zombies included).
    fn alive(&self) -> bool {
        // SAFETY: kill with signal 0 sends nothing; it only checks the group exists.
        unsafe { libc::kill(-self.pgid, 0) == 0 }
    }

    fn signal(&self, sig: i32) {
        // SAFETY: a plain syscall on the group this runner created; an absent group is
        // ESRCH, which is what "already gone" means here.
        unsafe {
            libc::kill(-self.pgid, sig);
        }
    }

    /// SIGTERM to the whole group, then SIGKILL to what is left after [`GRACE`]. Returns
    /// whether there was anything to stop.
    /// `leader`: the program itself when it has not been waited for yet (it is reaped
    /// here, so that it does not count as alive once it ended).
    async fn stop(&self, mut leader: Option<&mut tokio::process::Child>) -> bool {
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if !self.alive() {
            return false;
        }
        self.signal(libc::SIGTERM);
        let until = tokio::time::Instant::now() + GRACE;
        loop {
            if let Some(l) = leader.as_deref_mut() {
                let _ = l.try_wait();
            }
            if !self.alive() || tokio::time::Instant::now() >= until {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if self.alive() {
            self.signal(libc::SIGKILL);
        }
        true
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if !self.stopped.load(std::sync::atomic::Ordering::SeqCst) {
            self.signal(libc::SIGKILL);
        }
    }
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

/// Reads a stream to its end into a shared buffer (at most [`MAX_CAPTURE`] kept), so
/// what was read is there even when the reading is cut short.
fn capture<R: AsyncRead + Unpin + Send + 'static>(mut r: R) -> Capture {
    let kept = Arc::new(Mutex::new(Vec::new()));
    let into = kept.clone();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 8192];
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let mut kept = into.lock().unwrap_or_else(|p| p.into_inner());
                    let room = MAX_CAPTURE.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
    });
    Capture { kept, task }
}

/// A stream being read.
struct Capture {
    kept: Arc<Mutex<Vec<u8>>>,
    task: JoinHandle<()>,
}

/// What a stream gave until its end or `until`, whichever is first, and whether it
/// ended.
async fn collect(c: Option<Capture>, until: tokio::time::Instant) -> (String, bool) {
    let Some(Capture { kept, mut task }) = c else {
        return (String::new(), true);
    };
    let whole = tokio::time::timeout_at(until, &mut task).await.is_ok();
    if !whole {
        task.abort();
    }
    let kept = kept.lock().unwrap_or_else(|p| p.into_inner());
    (String::from_utf8_lossy(&kept).into_owned(), whole)
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
