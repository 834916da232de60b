//! The station's scanner: pages that come out of the printer are numbered in the order
//! they come out, scanned with the station's settings and written to the scan folder as
//! `scan-NNNN.png` (atomically: temp file + rename).
//!
//! Owns the page queue and the scan worker. The scan itself runs on the blocking pool,
//! behind a queue shared by the process's simulated scanners, so the printer's links keep
//! answering meanwhile. The queue holds at most [`TRAY_PAGES`] pages waiting or being
//! scanned: a printer that has cut that many waits for room before it takes more of its
//! job ([`ScanQueue::is_full`], [`ScanQueue::room`]), so a job of any length holds a few
//! pages in memory, never all of them. It must not panic on a scan or write failure: it
//! logs it and goes on with the next page (a write that fails on a full or read-only disk
//! is also said to whoever watches the station's storage).

use super::world::World;
use crate::scanfile::{write_gray_png, ImageFileError};
use crate::sim::scanner::{scan, ScanSettings};
use crate::util::compute::ComputeGate;
use crate::util::fsio::WriteFault;
use image::GrayImage;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{mpsc, watch, Notify};

pub(crate) type Page = (u64, GrayImage);

/// Pages out of the printer and not yet scanned (waiting, or being scanned) from which the
/// printer waits before it takes more of its job.
pub(crate) const TRAY_PAGES: usize = 2;

/// Where the printer drops its pages. Cloned into every printer session.
#[derive(Debug, Clone)]
pub(crate) struct ScanQueue {
    tx: Arc<Mutex<Option<mpsc::UnboundedSender<Page>>>>,
    tray: Arc<Tray>,
}

/// Pages queued and not yet scanned, and who waits for one to be.
#[derive(Debug, Default)]
pub(crate) struct Tray {
    pages: AtomicUsize,
    scanned: Notify,
}

impl Tray {
    /// A page was scanned (or lost): room for another.
    fn done(&self) {
        let _ = self
            .pages
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        self.scanned.notify_waiters();
    }
}

impl ScanQueue {
    pub fn new() -> (ScanQueue, Receiver) {
        let (tx, rx) = mpsc::unbounded_channel();
        let tray = Arc::new(Tray::default());
        (
            ScanQueue {
                tx: Arc::new(Mutex::new(Some(tx))),
                tray: tray.clone(),
            },
            Receiver { rx, tray },
        )
    }

    /// [`TRAY_PAGES`] pages wait to be scanned: the printer should take no more of its
    /// job until one is. Never full once the station stops.
    pub fn is_full(&self) -> bool {
        let open = self.tx.lock().unwrap_or_else(|e| e.into_inner()).is_some();
        open && self.tray.pages.load(Ordering::SeqCst) >= TRAY_PAGES
    }

    /// Waits until the queue is not full.
    pub async fn room(&self) {
        loop {
            let scanned = self.tray.scanned.notified();
            tokio::pin!(scanned);
            scanned.as_mut().enable();
            if !self.is_full() {
                return;
            }
            scanned.await;
        }
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
                self.tray.pages.fetch_add(1, Ordering::SeqCst);
                if tx.send((number, page)).is_err() {
                    self.tray.done();
                    tracing::error!(page = number, "scanner gone: page lost");
                }
            }
            None => tracing::warn!("station stopped: page not scanned"),
        }
    }

    /// No more pages: the worker ends once the queued ones are written.
    pub fn close(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.tray.scanned.notify_waiters();
    }
}

/// The scan worker's end of the queue.
#[derive(Debug)]
pub(crate) struct Receiver {
    rx: mpsc::UnboundedReceiver<Page>,
    tray: Arc<Tray>,
}

#[cfg(test)]
impl Receiver {
    /// The next page, taken off the tray at once (as if scanned).
    pub async fn recv(&mut self) -> Option<Page> {
        let page = self.rx.recv().await;
        if page.is_some() {
            self.tray.done();
        }
        page
    }

    /// Takes every queued page off the queue but leaves them on the tray, as a scanner
    /// still busy with them would; how many.
    pub fn take_unscanned(&mut self) -> usize {
        let mut n = 0;
        while self.rx.try_recv().is_ok() {
            n += 1;
        }
        n
    }

    /// `n` pages taken with [`Receiver::take_unscanned`] are scanned.
    pub fn scanned(&self, n: usize) {
        for _ in 0..n {
            self.tray.done();
        }
    }

    /// A page already queued, if any, taken off the tray at once.
    pub fn try_recv(&mut self) -> Result<Page, mpsc::error::TryRecvError> {
        let page = self.rx.try_recv();
        if page.is_ok() {
            self.tray.done();
        }
        page
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
    queue: Receiver,
    world: Arc<World>,
    storage: watch::Sender<Option<WriteFault>>,
) {
    let Receiver { mut rx, tray } = queue;
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
        let outcome = work.await;
        tray.done();
        match outcome {
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
