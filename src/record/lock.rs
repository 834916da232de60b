//! The lock of a run directory: one process at a time runs, resumes or merges into it.
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

/// Held for a whole run, resume or merge; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    path: PathBuf,
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
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = holder_of(&text);
                return Err(LockError::Held {
                    dir: dir.to_path_buf(),
                    holder,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(e)),
        }
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
        Ok(RunLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
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
        drop(first);
        RunLock::acquire(dir.path()).expect("free again");
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
