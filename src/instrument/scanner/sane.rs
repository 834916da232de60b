//! A scanner driven through SANE's `scanimage`: one page per call, written under its final
//! name only when complete.
//!
//! Owns: the `scanimage` argv and environment, the temp-file-then-rename of its output,
//! and telling a jam (exit code 6, "jammed") from other failures. Must not: read or judge
//! the image (analysis does), or retry a scan.

use super::Scanner;
use crate::instrument::exec::{self, Finished};
use crate::instrument::{InstrumentError, Result};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::process::Command;
use tracing::{info, warn};

/// scanimage's exit code for `SANE_STATUS_JAMMED`.
pub const EXIT_JAMMED: i32 = 6;

static PART_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A SANE scanner.
#[derive(Debug, Clone)]
pub struct SaneScanner {
    label: String,
    sane_device: String,
    /// Dots per inch.
    pub resolution: u32,
    /// `Gray`, `Color`, `Lineart` (the backend's names).
    pub mode: String,
    /// `png`, `pnm`, `tiff` or `jpeg`; also the file's extension.
    pub format: String,
    /// The `scanimage` program to run.
    pub program: PathBuf,
    /// Bound on one scan.
    pub timeout: Duration,
    /// Arguments appended after the standard ones (backend options, test fault injection).
    pub extra_args: Vec<String>,
    /// Environment added for `scanimage` (`SANE_CONFIG_DIR`, …).
    pub env: Vec<(String, String)>,
}

impl SaneScanner {
    /// The scanner `device`, known in messages as `"<name> (sane:<device>)"`: 600 dpi,
    /// `Gray`, png, `scanimage` from `PATH`, 120 s per page.
    pub fn new(name: &str, device: &str) -> Self {
        SaneScanner {
            label: format!("{name} (sane:{device})"),
            sane_device: device.to_string(),
            resolution: 600,
            mode: "Gray".to_string(),
            format: "png".to_string(),
            program: PathBuf::from("scanimage"),
            timeout: Duration::from_secs(120),
            extra_args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// The SANE device name (`scanimage -L` lists them; `test` for the test backend). It
    /// is fixed at construction because the messages name it.
    pub fn sane_device(&self) -> &str {
        &self.sane_device
    }

    pub fn with_resolution(mut self, dpi: u32) -> Self {
        self.resolution = dpi;
        self
    }

    pub fn with_mode(mut self, mode: &str) -> Self {
        self.mode = mode.to_string();
        self
    }

    pub fn with_format(mut self, format: &str) -> Self {
        self.format = format.to_string();
        self
    }

    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn with_extra_args(mut self, args: Vec<String>) -> Self {
        self.extra_args = args;
        self
    }

    pub fn with_env(mut self, env: Vec<(String, String)>) -> Self {
        self.env = env;
        self
    }

    /// The arguments passed to `scanimage`.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "-d".to_string(),
            self.sane_device.clone(),
            "--mode".to_string(),
            self.mode.clone(),
            "--resolution".to_string(),
            self.resolution.to_string(),
            format!("--format={}", self.format),
        ];
        args.extend(self.extra_args.iter().cloned());
        args
    }

    fn io(&self, detail: String) -> InstrumentError {
        InstrumentError::Io {
            device: self.label.clone(),
            detail,
        }
    }

    fn judge(&self, finished: Finished) -> Result<()> {
        let jammed = finished.code == Some(EXIT_JAMMED)
            || finished.stderr.to_ascii_lowercase().contains("jammed");
        if jammed {
            let tail = finished.stderr_tail();
            return Err(InstrumentError::Jam {
                device: self.label.clone(),
                detail: if tail.is_empty() {
                    format!("scanimage exited with code {EXIT_JAMMED}")
                } else {
                    tail
                },
            });
        }
        finished.into_result(&self.label, "scan").map(|_| ())
    }
}

/// The longest pre-flight waits for `scanimage` to open the device.
const PREFLIGHT_LIMIT: Duration = Duration::from_secs(30);

#[async_trait]
impl Scanner for SaneScanner {
    fn device(&self) -> &str {
        &self.label
    }

    /// `scanimage` can be started and opens the device (`--all-options` lists its
    /// options without scanning).
    async fn check(&mut self) -> Result<String> {
        let program = self.program.to_string_lossy().into_owned();
        exec::find_program(&self.label, "scan", std::slice::from_ref(&program))?;
        let mut cmd = Command::new(&self.program);
        cmd.args(["--device-name", &self.sane_device, "--all-options"])
            .stdout(Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let limit = self.timeout.min(PREFLIGHT_LIMIT);
        exec::run_prepared(&self.label, "open the scanner", &program, cmd, limit)
            .await?
            .into_result(&self.label, "open the scanner")?;
        Ok(format!("SANE device {} opens", self.sane_device))
    }

    async fn scan(&mut self, dest_dir: &Path, stem: &str) -> Result<PathBuf> {
        if self.format.is_empty() || !self.format.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(self.io(format!("unusable scan format {:?}", self.format)));
        }
        if stem.is_empty() || stem.contains('/') {
            return Err(self.io(format!("unusable file stem {stem:?}")));
        }
        let final_path = dest_dir.join(format!("{stem}.{}", self.format));
        let part = dest_dir.join(format!(
            ".{stem}.{}.part-{}-{}",
            self.format,
            std::process::id(),
            PART_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let file = tokio::fs::File::create(&part).await.map_err(|e| {
            match crate::util::fsio::WriteFault::storage(&part, &e) {
                Some(fault) => InstrumentError::Storage {
                    device: self.label.clone(),
                    fault,
                },
                None => self.io(format!("cannot create {}: {e}", part.display())),
            }
        })?;
        let file = file.into_std().await;

        let args = self.args();
        let program = self.program.to_string_lossy().into_owned();
        let mut cmd = Command::new(&self.program);
        cmd.args(&args).stdout(Stdio::from(file));
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        info!(device = %self.label, program = %program, args = ?args, dest = %final_path.display(), "scanning");
        let outcome =
            match exec::run_prepared(&self.label, "scan", &program, cmd, self.timeout).await {
                Ok(finished) => self.judge(finished),
                Err(e) => Err(e),
            };
        if let Err(e) = outcome {
            warn!(device = %self.label, error = %e, "scan failed");
            remove_quietly(&part).await;
            return Err(e);
        }
        let size = match tokio::fs::metadata(&part).await {
            Ok(m) => m.len(),
            Err(e) => {
                remove_quietly(&part).await;
                return Err(self.io(format!("cannot read {}: {e}", part.display())));
            }
        };
        if size == 0 {
            remove_quietly(&part).await;
            return Err(self.io(format!(
                "scanimage exited 0 but wrote an empty image (0 bytes) for {}",
                final_path.display()
            )));
        }
        if let Err(e) = tokio::fs::rename(&part, &final_path).await {
            remove_quietly(&part).await;
            return Err(self.io(format!(
                "cannot move the scan to {}: {e}",
                final_path.display()
            )));
        }
        info!(device = %self.label, path = %final_path.display(), bytes = size, "scan written");
        Ok(final_path)
    }
}

async fn remove_quietly(path: &Path) {
    if let Err(e) = tokio::fs::remove_file(path).await {
        if e.kind() != std::io::ErrorKind::NotFound {
            warn!(path = %path.display(), error = %e, "cannot remove a partial scan");
        }
    }
}
