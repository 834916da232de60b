//! Scanners: produce an image file of the page (SANE `scanimage`, hot folder), and the
//! one place that turns a station's `[station.scanner]` table into a driver ([`build`]).

pub mod hotfolder;
pub mod sane;

pub use hotfolder::HotFolder;
pub use sane::SaneScanner;

use super::{not_running, secs, Result};
use crate::plan::ScannerSpec;
use async_trait::async_trait;
use std::path::{Path, PathBuf};

#[async_trait]
pub trait Scanner: Send {
    fn device(&self) -> &str;
    /// Proves the scanner can be used, before a run starts (pre-flight): its folder is
    /// there, its program can be started. Returns what was checked.
    async fn check(&mut self) -> Result<String>;
    /// Scans one page into `dest_dir` under `stem` (the extension is the backend's) and
    /// returns the file's path. A jam is `InstrumentError::Jam`, a rig error.
    async fn scan(&mut self, dest_dir: &Path, stem: &str) -> Result<PathBuf>;
    /// Called before a job is sent: whatever the scanner holds now is not this job's page
    /// (a hot folder forgets files left by an earlier attempt). Scanners that scan on
    /// demand have nothing to do.
    async fn arm(&mut self) -> Result<()> {
        Ok(())
    }
}

/// The driver for a station's scanner table.
pub fn build(name: &str, spec: &ScannerSpec) -> Result<Box<dyn Scanner>> {
    let device = format!("{name} scanner");
    Ok(match spec {
        ScannerSpec::Sane {
            device: sane_device,
            resolution,
            mode,
            format,
            scanimage,
            timeout_s,
        } => Box::new(
            SaneScanner::new(&device, sane_device)
                .with_resolution(*resolution)
                .with_mode(mode)
                .with_format(format)
                .with_program(scanimage)
                .with_timeout(secs(*timeout_s)),
        ),
        ScannerSpec::Hotfolder {
            dir,
            settle_s,
            timeout_s,
        } => Box::new(HotFolder::new(
            &device,
            dir.clone(),
            secs(*settle_s),
            secs(*timeout_s),
        )?),
        ScannerSpec::Sim { .. } => return Err(not_running(&device)),
    })
}
