//! Scanners: produce an image file of the page (SANE `scanimage`, hot folder).

pub mod hotfolder;
pub mod sane;

pub use hotfolder::HotFolder;
pub use sane::SaneScanner;

use super::Result;
use async_trait::async_trait;
use std::path::{Path, PathBuf};

#[async_trait]
pub trait Scanner: Send {
    fn device(&self) -> &str;
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
