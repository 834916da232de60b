//! The station's scanner: pages that come out of the printer are numbered in the order
//! they come out, scanned with the station's settings and written to the scan folder as
//! `scan-NNNN.png` (atomically: temp file + rename).
//!
//! Owns the page queue and the scan worker. The scan itself runs on the blocking pool,
//! behind a queue shared by the process's simulated scanners, so the printer's links keep
//! answering meanwhile. It must not panic on a scan or write failure: it logs it and goes
//! on with the next page (a write that fails on a full or read-only disk is also said to
//! whoever watches the station's storage).

use super::world::World;
use crate::scanfile::{write_gray_png, ImageFileError};
use crate::sim::scanner::{scan, ScanSettings};
use crate::util::compute::ComputeGate;
use crate::util::fsio::WriteFault;
use image::GrayImage;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{mpsc, watch};

pub(crate) type Page = (u64, GrayImage);

/// Where the printer drops its pages. Cloned into every printer session.
#[derive(Debug, Clone)]
pub(crate) struct ScanQueue {
    tx: Arc<Mutex<Option<mpsc::UnboundedSender<Page>>>>,
}

impl ScanQueue {
    pub fn new() -> (ScanQueue, mpsc::UnboundedReceiver<Page>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            ScanQueue {
                tx: Arc::new(Mutex::new(Some(tx))),
            },
            rx,
        )
    }

    /// Queues a page that came out of the printer; numbers it.
    pub fn send(&self, world: &World, page: GrayImage) {
        let guard = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(tx) => {
                let number = world.next_page();
                tracing::info!(
                    page = number,
                    rows = page.height(),
                    "page out of the printer: scanning"
                );
                if tx.send((number, page)).is_err() {
                    tracing::error!(page = number, "scanner gone: page lost");
                }
            }
            None => tracing::warn!("station stopped: page not scanned"),
        }
    }

    /// No more pages: the worker ends once the queued ones are written.
    pub fn close(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// The queue in front of scanning and writing pages, shared by every simulated station in
/// this process: one scan per core at a time, first come first served, so many stations
/// on a small host take turns instead of all finishing their scans late together.
fn scanner_compute() -> &'static ComputeGate {
    static GATE: OnceLock<ComputeGate> = OnceLock::new();
    GATE.get_or_init(ComputeGate::per_core)
}

/// The path of page `number`'s scan.
pub(crate) fn scan_path(dir: &std::path::Path, number: u64) -> PathBuf {
    dir.join(format!("scan-{number:04}.png"))
}

/// Why a page's scan was not written.
enum Failed {
    /// The scan folder's disk is full or read-only: said to whoever watches the station.
    Storage(WriteFault),
    Other(String),
}

/// Scans and writes queued pages, in order, until the queue is closed and empty. A page
/// that cannot be written for want of room (a full or read-only disk) is said on
/// `storage`, so that a run stops at once instead of waiting for the scan.
pub(crate) async fn run(
    mut rx: mpsc::UnboundedReceiver<Page>,
    world: Arc<World>,
    storage: watch::Sender<Option<WriteFault>>,
) {
    while let Some((number, page)) = rx.recv().await {
        let spec = world.spec();
        let settings = ScanSettings {
            dpi: spec.config.scan_dpi,
            skew_deg: spec.config.scan_skew_deg,
            seed: spec.config.seed.wrapping_add(number),
            ..ScanSettings::default()
        };
        let path = scan_path(&spec.scan_dir, number);
        let shown = path.display().to_string();
        let work = scanner_compute().run(move || -> Result<(u32, u32), Failed> {
            let s = scan(&page, &settings).map_err(|e| Failed::Other(e.to_string()))?;
            write_gray_png(&path, &s.image).map_err(|e| match &e {
                ImageFileError::WriteFile { path, source } => {
                    match WriteFault::storage(path, source) {
                        Some(fault) => Failed::Storage(fault),
                        None => Failed::Other(e.to_string()),
                    }
                }
                _ => Failed::Other(e.to_string()),
            })?;
            Ok(s.image.dimensions())
        });
        match work.await {
            Ok(Ok((w, h))) => {
                tracing::info!(page = number, path = %shown, width = w, height = h, "scan written")
            }
            Ok(Err(Failed::Storage(fault))) => {
                tracing::error!(page = number, %fault, "scan not written: the disk is full or read-only");
                storage.send_if_modified(|f| {
                    let first = f.is_none();
                    if first {
                        *f = Some(fault);
                    }
                    first
                });
            }
            Ok(Err(Failed::Other(e))) => {
                tracing::error!(page = number, path = %shown, error = %e, "scan failed")
            }
            Err(e) => tracing::error!(page = number, error = %e, "scan task failed"),
        }
    }
    tracing::debug!("scanner stopped");
}
