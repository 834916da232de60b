//! A scanner that drops its pages into a folder (a network scanner's SMB/FTP target, a
//! vendor tool's output folder): wait for a new image file to stop growing, then take it.
//!
//! Owns: telling new files from stale ones, the settle rule (size unchanged for `settle`),
//! and moving the file to its case's name (rename, or copy and remove across file
//! systems; a copy that fails on a full or read-only disk is a storage fault, not the
//! scanner's). Must not: open or judge the image, trigger the scanner, or take hidden and
//! non-image files (a scanner's temp files).

use super::Scanner;
use crate::instrument::{InstrumentError, Result};
use async_trait::async_trait;
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;
use tracing::{debug, info, warn};

/// The extensions taken (case-insensitive).
pub const IMAGE_EXTENSIONS: [&str; 6] = ["png", "pnm", "tiff", "tif", "jpg", "jpeg"];

static PART_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A hot folder watched by polling.
#[derive(Debug)]
pub struct HotFolder {
    label: String,
    dir: PathBuf,
    settle: Duration,
    timeout: Duration,
    poll: Duration,
    /// Names never to take while they stay in the folder: the files there at construction
    /// and any file taken but not removable.
    ignored: HashSet<OsString>,
}

struct Candidate {
    name: OsString,
    path: PathBuf,
    ext: String,
    len: u64,
}

impl HotFolder {
    /// Watches `dir`, known in messages as `"<name> (hot folder <dir>)"`. The image files
    /// already there are stale and never taken. A file is taken once its size has not
    /// changed for `settle`; `scan` gives up after `timeout`.
    pub fn new(
        name: &str,
        dir: impl Into<PathBuf>,
        settle: Duration,
        timeout: Duration,
    ) -> Result<Self> {
        let dir = dir.into();
        let label = format!("{name} (hot folder {})", dir.display());
        let mut folder = HotFolder {
            label,
            dir,
            settle,
            timeout,
            poll: (settle / 4).clamp(Duration::from_millis(10), Duration::from_millis(250)),
            ignored: HashSet::new(),
        };
        // A folder that cannot be listed yet is reported by `check` (pre-flight) and by
        // `scan`; `arm` forgets whatever it holds before each job anyway.
        match folder.list_sync() {
            Ok(stale) => {
                if !stale.is_empty() {
                    info!(device = %folder.label, files = stale.len(), "ignoring files already in the hot folder");
                }
                folder.ignored = stale.into_iter().collect();
            }
            Err(e) => info!(device = %folder.label, error = %e, "hot folder not readable yet"),
        }
        Ok(folder)
    }

    /// How often the folder is listed (default: a quarter of `settle`, 10–250 ms).
    pub fn with_poll(mut self, poll: Duration) -> Self {
        self.poll = poll.max(Duration::from_millis(1));
        self
    }

    /// Gives `scan` `timeout` to find a file.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn io(&self, detail: String) -> InstrumentError {
        InstrumentError::Io {
            device: self.label.clone(),
            detail,
        }
    }

    fn list_sync(&self) -> Result<Vec<OsString>> {
        let rd = std::fs::read_dir(&self.dir)
            .map_err(|e| self.io(format!("cannot list {}: {e}", self.dir.display())))?;
        Ok(rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .filter(|n| image_ext(n).is_some())
            .collect())
    }

    async fn list(&self) -> Result<Vec<Candidate>> {
        let mut rd = tokio::fs::read_dir(&self.dir)
            .await
            .map_err(|e| self.io(format!("cannot list {}: {e}", self.dir.display())))?;
        let mut out = Vec::new();
        loop {
            let entry = match rd.next_entry().await {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => return Err(self.io(format!("cannot list {}: {e}", self.dir.display()))),
            };
            let name = entry.file_name();
            let Some(ext) = image_ext(&name) else {
                continue;
            };
            // A file that vanished or is not a regular file is not a scan.
            let Ok(meta) = entry.metadata().await else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            out.push(Candidate {
                path: entry.path(),
                name,
                ext,
                len: meta.len(),
            });
        }
        Ok(out)
    }

    /// Moves `from` to `to`: a rename, or across file systems a copy to a temp name beside
    /// `to`, a rename and removing `from`. Returns whether `from` is gone.
    async fn take(&self, from: &Path, to: &Path) -> Result<bool> {
        match tokio::fs::rename(from, to).await {
            Ok(()) => return Ok(true),
            Err(e) if is_cross_device(&e) => {
                debug!(device = %self.label, "hot folder on another file system: copying");
            }
            Err(e) => {
                return Err(self.io(format!(
                    "cannot move {} to {}: {e}",
                    from.display(),
                    to.display()
                )))
            }
        }
        let part = to.with_file_name(format!(
            ".{}.part-{}-{}",
            to.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id(),
            PART_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        if let Err(e) = tokio::fs::copy(from, &part).await {
            let _ = tokio::fs::remove_file(&part).await;
            if let Some(fault) = crate::util::fsio::WriteFault::storage(to, &e) {
                return Err(InstrumentError::Storage {
                    device: self.label.clone(),
                    fault,
                });
            }
            return Err(self.io(format!(
                "cannot copy {} to {}: {e}",
                from.display(),
                part.display()
            )));
        }
        if let Err(e) = tokio::fs::rename(&part, to).await {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(self.io(format!("cannot move the copy to {}: {e}", to.display())));
        }
        match tokio::fs::remove_file(from).await {
            Ok(()) => Ok(true),
            Err(e) => {
                warn!(device = %self.label, file = %from.display(), error = %e, "copied the scan but cannot remove it from the hot folder");
                Ok(false)
            }
        }
    }
}

#[async_trait]
impl Scanner for HotFolder {
    fn device(&self) -> &str {
        &self.label
    }

    /// The folder is there and can be listed.
    async fn check(&mut self) -> Result<String> {
        self.list_sync()?;
        Ok(format!("hot folder {} is readable", self.dir.display()))
    }

    async fn arm(&mut self) -> Result<()> {
        let now = self.list_sync()?;
        if !now.is_empty() {
            info!(device = %self.label, files = now.len(), "files left in the hot folder are not this job's: ignoring them");
        }
        self.ignored.extend(now);
        Ok(())
    }

    async fn scan(&mut self, dest_dir: &Path, stem: &str) -> Result<PathBuf> {
        if stem.is_empty() || stem.contains('/') {
            return Err(self.io(format!("unusable file stem {stem:?}")));
        }
        let deadline = Instant::now() + self.timeout;
        // name → (size last seen, since when)
        let mut watched: HashMap<OsString, (u64, Instant)> = HashMap::new();
        info!(device = %self.label, "waiting for a scan in the hot folder");
        loop {
            let listing = self.list().await?;
            let now = Instant::now();
            let present: HashSet<&OsString> = listing.iter().map(|c| &c.name).collect();
            // A stale name that went away may come back as a new scan.
            self.ignored.retain(|n| present.contains(n));
            watched.retain(|n, _| present.contains(n));
            let mut ready: Option<(&Candidate, Instant)> = None;
            for c in listing.iter().filter(|c| !self.ignored.contains(&c.name)) {
                let seen = watched.entry(c.name.clone()).or_insert((c.len, now));
                if seen.0 != c.len {
                    *seen = (c.len, now);
                }
                let since = seen.1;
                if c.len > 0 && now.duration_since(since) >= self.settle {
                    let better = match ready {
                        None => true,
                        Some((r, r_since)) => (since, &c.name) < (r_since, &r.name),
                    };
                    if better {
                        ready = Some((c, since));
                    }
                }
            }
            if let Some((c, _)) = ready {
                let dest = dest_dir.join(format!("{stem}.{}", c.ext));
                info!(device = %self.label, file = %c.path.display(), bytes = c.len, dest = %dest.display(), "taking scan");
                let gone = self.take(&c.path, &dest).await?;
                if !gone {
                    self.ignored.insert(c.name.clone());
                }
                return Ok(dest);
            }
            if now >= deadline {
                let growing: Vec<String> = watched
                    .keys()
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect();
                let what = if growing.is_empty() {
                    format!("a new image file in {}", self.dir.display())
                } else {
                    format!(
                        "a new image file in {} ({} still changing or empty)",
                        self.dir.display(),
                        growing.join(", ")
                    )
                };
                warn!(device = %self.label, "no scan arrived in the hot folder");
                return Err(InstrumentError::Timeout {
                    device: self.label.clone(),
                    what,
                    timeout: self.timeout,
                });
            }
            tokio::time::sleep(self.poll.min(deadline.duration_since(now))).await;
        }
    }
}

/// The lower-case extension of an image file's name; `None` for hidden files, other
/// extensions and names that are not UTF-8.
fn image_ext(name: &std::ffi::OsStr) -> Option<String> {
    let name = name.to_str()?;
    if name.starts_with('.') {
        return None;
    }
    let (_, ext) = name.rsplit_once('.')?;
    let ext = ext.to_ascii_lowercase();
    IMAGE_EXTENSIONS.contains(&ext.as_str()).then_some(ext)
}

fn is_cross_device(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::CrossesDevices || e.raw_os_error() == Some(18)
}
