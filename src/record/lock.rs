//! The lock of a run directory: one process at a time runs, resumes, merges into it or
//! rewrites its reports.
//!
//! An OS file lock (`flock`) on `.rig.lock` inside the directory, held as long as the
//! [`RunLock`] lives and released by the kernel when the process ends, however it ends (a
//! `kill -9` leaves no stale lock). The file also says who holds it (pid, host, start
//! time), which a refused second process names. Owns the lock file; it must not decide
//! whether a run may resume.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The lock file's name in a run directory (a dot file: not in the manifest).
pub const LOCK: &str = ".rig.lock";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{dir} is in use by another rig process ({holder}): wait for it to finish, or stop it first")]
    Held { dir: PathBuf, holder: String },
    #[error("cannot lock {path}")]
    Io { path: PathBuf, source: io::Error },
}

/// Held for a whole run, resume, merge or report rebuild; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    path: PathBuf,
    previous: Option<u32>,
}

impl RunLock {
    /// Takes the lock of run directory `dir`, or says who holds it.
    pub fn acquire(dir: &Path) -> Result<RunLock, LockError> {
        let path = dir.join(LOCK);
        let io_err = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        // Never through a symlink planted in the lock's place.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
            .map_err(io_err)?;
        if !file.metadata().map_err(io_err)?.is_file() {
            return Err(io_err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            )));
        }
        let mut text = String::new();
        match file.try_lock() {
            Ok(()) => {
                // The last holder (gone: the lock was free) said who it was.
                let _ = (&mut file).take(4096).read_to_string(&mut text);
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let _ = (&mut file).take(4096).read_to_string(&mut text);
                let holder = holder_of(&text);
                return Err(LockError::Held {
                    dir: dir.to_path_buf(),
                    holder,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(e)),
        }
        let previous = pid_of(&text);
        let info = format!(
            "pid {}\nstarted {}\n",
            std::process::id(),
            crate::util::clock::now_rfc3339_precise()
        );
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(info.as_bytes()))
            .and_then(|_| file.sync_data())
            .map_err(io_err)?;
        Ok(RunLock {
            _file: file,
            path,
            previous,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pid of the process that held the lock before this one, as its lock file said:
    /// a process of this directory that has ended (or let go), whatever runs under that
    /// pid now.
    pub fn previous_holder(&self) -> Option<u32> {
        self.previous
    }

    /// Who holds the lock of `dir` now, if anyone, without taking it or creating the lock
    /// file: `Some("pid 4242, started …")` while a rig process holds it.
    pub fn holder(dir: &Path) -> Option<String> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(dir.join(LOCK))
            .ok()?;
        if !file.metadata().ok()?.is_file() {
            return None;
        }
        match file.try_lock_shared() {
            Ok(()) => None,
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.take(4096).read_to_string(&mut text);
                Some(holder_of(&text))
            }
            Err(std::fs::TryLockError::Error(_)) => None,
        }
    }
}

/// The pid a lock file's text names.
fn pid_of(text: &str) -> Option<u32> {
    text.lines()
        .find_map(|l| l.strip_prefix("pid "))
        .and_then(|v| v.trim().parse().ok())
}

/// `pid 123, started 2026-…` from the lock file's text.
fn holder_of(text: &str) -> String {
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().to_string())
    };
    match (field("pid "), field("started ")) {
        (Some(pid), Some(t)) => format!("pid {pid}, started {t}"),
        (Some(pid), None) => format!("pid {pid}"),
        _ => "a process that has not said who it is yet".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid_until_it_lets_go() {
        let dir = tempfile::tempdir().expect("tmp");
        let first = RunLock::acquire(dir.path()).expect("first");
        let e = RunLock::acquire(dir.path()).expect_err("second");
        let m = e.to_string();
        assert!(
            m.contains(&format!("pid {}", std::process::id())) && m.contains("started 20"),
            "{m}"
        );
        assert_eq!(
            RunLock::holder(dir.path()).map(|h| h.contains(&format!("pid {}", std::process::id()))),
            Some(true)
        );
        drop(first);
        assert_eq!(RunLock::holder(dir.path()), None, "free");
        let again = RunLock::acquire(dir.path()).expect("free again");
        assert_eq!(again.previous_holder(), Some(std::process::id()));
        // Asking who holds a directory without a lock file creates none.
        let bare = tempfile::tempdir().expect("tmp");
        assert_eq!(RunLock::holder(bare.path()), None);
        assert!(!bare.path().join(LOCK).exists());
    }

    #[test]
    fn a_symlink_in_the_locks_place_is_not_followed() {
        let dir = tempfile::tempdir().expect("tmp");
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "keep").expect("write");
        let run = dir.path().join("run");
        std::fs::create_dir(&run).expect("mkdir");
        std::os::unix::fs::symlink(&outside, run.join(LOCK)).expect("link");
        assert!(RunLock::acquire(&run).is_err());
        assert_eq!(std::fs::read_to_string(&outside).expect("read"), "keep");
    }
}
