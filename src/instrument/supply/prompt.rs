//! Consumables changed by hand: ask the operator on the terminal and wait for Enter.
//!
//! Owns: the wording of the request, detecting that nobody can answer (stdin is not a
//! terminal: CI, a nightly job) and the bound on the wait. Must not: block a runtime
//! thread on stdin (one reader thread serves every prompt) or wait without a bound.

use super::{Consumable, Supply};
use crate::instrument::{InstrumentError, Result};
use async_trait::async_trait;
use std::io::{BufRead, IsTerminal};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::{mpsc, Mutex};
use tracing::{info, warn};

/// Lines typed on stdin, read by one thread for the whole process (a blocking read cannot
/// be cancelled, so it must not belong to one prompt).
type Lines = Mutex<mpsc::UnboundedReceiver<std::io::Result<String>>>;

static STDIN_LINES: OnceLock<Lines> = OnceLock::new();

fn stdin_lines() -> &'static Lines {
    STDIN_LINES.get_or_init(|| {
        let (tx, rx) = mpsc::unbounded_channel();
        let spawned = std::thread::Builder::new()
            .name("rig-stdin".to_string())
            .spawn(move || {
                let stdin = std::io::stdin();
                loop {
                    let mut line = String::new();
                    match stdin.lock().read_line(&mut line) {
                        Ok(0) => break,
                        Ok(_) => {
                            if tx.send(Ok(line)).is_err() {
                                break;
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            break;
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            warn!(error = %e, "cannot start the stdin reader: prompts will fail");
        }
        Mutex::new(rx)
    })
}

/// Asks an operator to change ink or paper.
pub struct PromptSupply {
    device: String,
    timeout: Duration,
}

impl PromptSupply {
    /// An operator at this terminal, known as `"<name> (operator)"`, who has `timeout` to
    /// confirm each change.
    pub fn new(name: &str, timeout: Duration) -> Self {
        PromptSupply {
            device: format!("{name} (operator)"),
            timeout,
        }
    }
}

#[async_trait]
impl Supply for PromptSupply {
    fn device(&self) -> &str {
        &self.device
    }

    /// An operator can only answer on a terminal.
    async fn check(&mut self) -> Result<String> {
        if !std::io::stdin().is_terminal() {
            return Err(InstrumentError::NoOperator {
                device: self.device.clone(),
                what: "setting ink and paper levels".to_string(),
            });
        }
        Ok("the operator, asked on this terminal".to_string())
    }

    async fn set_level(&mut self, what: Consumable, level: f64) -> Result<()> {
        let task = format!("setting {} to {:.0} %", what.name(), level * 100.0);
        if !std::io::stdin().is_terminal() {
            return Err(InstrumentError::NoOperator {
                device: self.device.clone(),
                what: task,
            });
        }
        let lines = stdin_lines();
        let mut rx = lines.lock().await;
        // Enter pressed before the question is not an answer to it.
        while let Ok(stale) = rx.try_recv() {
            if stale.is_err() {
                break;
            }
        }
        info!(device = %self.device, what = what.name(), level, "asking the operator");
        eprintln!(
            "\n[{}] Please bring the {} to {:.0} % ({}), then press Enter (waiting up to {:.0} s).",
            self.device,
            what.name(),
            level * 100.0,
            describe(what, level),
            self.timeout.as_secs_f64()
        );
        match tokio::time::timeout(self.timeout, rx.recv()).await {
            Ok(Some(Ok(_))) => {
                info!(device = %self.device, what = what.name(), level, "operator confirmed");
                Ok(())
            }
            Ok(Some(Err(e))) => Err(InstrumentError::Io {
                device: self.device.clone(),
                detail: format!("cannot read the operator's answer: {e}"),
            }),
            Ok(None) => Err(InstrumentError::NoOperator {
                device: self.device.clone(),
                what: format!("{task} (stdin closed)"),
            }),
            Err(_) => Err(InstrumentError::Timeout {
                device: self.device.clone(),
                what: format!("the operator to confirm {task}"),
                timeout: self.timeout,
            }),
        }
    }
}

fn describe(what: Consumable, level: f64) -> &'static str {
    match (what, level) {
        (_, l) if l <= 0.0 => "empty",
        (_, l) if l >= 1.0 => "full",
        (Consumable::Paper, _) => "a partly used roll",
        (Consumable::Ink, _) => "a partly used cartridge",
    }
}
