//! File-system helpers that hold under what a lab leaves lying around: atomic writes
//! (temp file beside the target, fsync, rename; a reader never sees half a file and a crash
//! leaves the old file or the new one), written through to a special file or symlink the
//! user named instead of replacing it; reads of regular files only, bounded in size and
//! never blocking on a FIFO or device; and the check that a path inside a run directory
//! passes through no symlink.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// Writes `bytes` to `path` atomically (temp file in the same directory, fsync, rename,
/// fsync of the directory). Parent directories are created.
///
/// What is at `path` is never replaced unless it is a regular file: a symlink the user
/// named is followed and its target written (atomically when that is a regular file or
/// does not exist yet); a FIFO or a device node is written through, in place; a directory
/// is an error.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            let target = resolve_link(path)?;
            match fs::metadata(&target) {
                Ok(t) if !t.is_file() => write_through(&target, &t, bytes),
                _ => replace(&target, bytes),
            }
        }
        Ok(m) if !m.is_file() => write_through(path, &m, bytes),
        _ => replace(path, bytes),
    }
}

/// Where a symlink points (relative targets taken from the link's folder), followed to
/// the end of a chain of links (at most 40, like the kernel).
fn resolve_link(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let t = fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if t.is_relative() => dir.join(t),
                    _ => t,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{}: too many levels of symbolic links", path.display()),
    ))
}

/// Writes into a FIFO or device node in place (never replacing the node itself).
fn write_through(path: &Path, meta: &fs::Metadata, bytes: &[u8]) -> io::Result<()> {
    let ft = meta.file_type();
    if !(ft.is_fifo() || ft.is_char_device() || ft.is_block_device()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is not a regular file, FIFO or device (a directory or socket): not written",
                path.display()
            ),
        ));
    }
    let mut f = OpenOptions::new().write(true).open(path)?;
    f.write_all(bytes)?;
    f.flush()
}

/// Temp file beside `path`, fsync, rename over it, fsync of the directory.
fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}{TMP_MARK}{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        // A temp file is always new: never written through a link or FIFO left in its place.
        let _ = fs::remove_file(&tmp);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Ok(d) = File::open(&dir) {
            // Directory fsync is best effort: some file systems refuse it.
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// What a temp file of [`write_atomic`] has in its name before the writer's pid:
/// `.<name>.tmp-<pid>`.
pub const TMP_MARK: &str = ".tmp-";

/// The pid of the writer of a temp file of [`write_atomic`] from the file's name
/// (`.<name>.tmp-<pid>`); `None` for any other name.
pub fn temp_writer(file_name: &std::ffi::OsStr) -> Option<u32> {
    let name = file_name.to_str()?;
    let (head, pid) = name.rsplit_once(TMP_MARK)?;
    if head.len() < 2 || !head.starts_with('.') {
        return None;
    }
    if pid.is_empty() || pid.len() > 10 || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok().filter(|&p| p > 0)
}

/// Whether process `pid` is running (it may belong to another user).
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether a failed write failed for want of room or of a writable disk: the file system
/// is full (`ENOSPC`) or read-only (`EROFS`), the user's quota is used up (`EDQUOT`), or
/// the file would pass the process's file size limit (`EFBIG`). Such a failure says
/// nothing about the printer or the scan being written; writing anything else fails too.
pub fn is_storage_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull
            | io::ErrorKind::ReadOnlyFilesystem
            | io::ErrorKind::QuotaExceeded
            | io::ErrorKind::FileTooLarge
    ) || matches!(
        e.raw_os_error(),
        Some(libc::ENOSPC | libc::EROFS | libc::EDQUOT | libc::EFBIG)
    )
}

/// A file of the rig's own that could not be written: the path and the system's word for
/// why (`File too large (os error 27)`). A run stops on one at once (see `run`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot write {}: {detail}", path.display())]
pub struct WriteFault {
    pub path: PathBuf,
    pub detail: String,
}

impl WriteFault {
    pub fn new(path: &Path, e: &io::Error) -> WriteFault {
        WriteFault {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }
    }

    /// The fault of a write of `path` that failed with `e`, when `e` says the disk is full
    /// or cannot be written ([`is_storage_full`]); `None` for any other failure.
    pub fn storage(path: &Path, e: &io::Error) -> Option<WriteFault> {
        is_storage_full(e).then(|| WriteFault::new(path, e))
    }
}

/// Opens a regular file for reading without following a symlink at its last component and
/// without blocking on a FIFO or device (which are refused, as are directories).
pub fn open_regular(path: &Path) -> io::Result<File> {
    open_file(path, false)
}

/// Opens a regular file for reading (following a symlink at its last component when
/// `follow`) without blocking on a FIFO or device, which are refused.
fn open_file(path: &Path, follow: bool) -> io::Result<File> {
    let flags = if follow {
        libc::O_NONBLOCK
    } else {
        libc::O_NOFOLLOW | libc::O_NONBLOCK
    };
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                io::Error::new(io::ErrorKind::InvalidInput, "a symbolic link, not followed")
            } else {
                e
            }
        })?;
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file ({})", kind_of(&m.file_type())),
        ));
    }
    Ok(f)
}

/// A word for a kind of file: `directory`, `symlink`, `FIFO`, `device`, `socket`, `file`.
pub fn kind_of(ft: &fs::FileType) -> &'static str {
    if ft.is_dir() {
        "directory"
    } else if ft.is_symlink() {
        "symlink"
    } else if ft.is_fifo() {
        "FIFO"
    } else if ft.is_char_device() || ft.is_block_device() {
        "device"
    } else if ft.is_socket() {
        "socket"
    } else {
        "file"
    }
}

/// A path planted where a run directory must hold only its own folders and files.
#[derive(Debug, thiserror::Error)]
#[error("{path} is a {kind}: a run directory holds no links or special files there (remove it; nothing was written through it)")]
pub struct Planted {
    pub path: PathBuf,
    pub kind: &'static str,
}

/// Checks that `rel` (relative to `dir`, without `..`) passes through no symlink: every
/// part of it that exists below `dir` is a directory, and the last one, if it exists, a
/// directory or a regular file. What a run writes or deletes under `dir` then stays in it.
pub fn check_inside(dir: &Path, rel: &Path) -> Result<(), Planted> {
    let mut p = dir.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for (i, c) in parts.iter().enumerate() {
        match c {
            Component::Normal(n) => p.push(n),
            Component::CurDir => continue,
            _ => {
                return Err(Planted {
                    path: dir.join(rel),
                    kind: "path leaving the run directory",
                })
            }
        }
        let Ok(m) = fs::symlink_metadata(&p) else {
            return Ok(()); // nothing further exists yet
        };
        let ft = m.file_type();
        let last = i + 1 == parts.len();
        if ft.is_dir() || (last && ft.is_file()) {
            continue;
        }
        return Err(Planted {
            path: p,
            kind: kind_of(&ft),
        });
    }
    Ok(())
}

/// Reads a whole regular file of at most `limit` bytes: a larger file, a directory, a FIFO
/// or a device is refused before anything is read (a read cannot hang on a FIFO). A
/// symlink the user named is followed (unlike [`open_regular`]).
pub fn read_bounded(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = open_file(path, true)?;
    let meta = file.metadata()?;
    if meta.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} bytes, more than the {limit} bytes allowed", meta.len()),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // A file that grew since: read no more than the limit and one byte to tell.
    io::Read::read_to_end(&mut io::Read::take(file, limit + 1), &mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("more than the {limit} bytes allowed"),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces_without_leaving_temp_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("sub/out.txt");
        write_atomic(&p, b"one").expect("first write");
        write_atomic(&p, b"two").expect("second write");
        assert_eq!(fs::read(&p).expect("read"), b"two");
        let names: Vec<_> = fs::read_dir(dir.path().join("sub"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_symlink_named_as_output_is_followed_and_stays_a_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("real.json");
        std::fs::write(&target, "old").expect("write");
        let link = dir.path().join("out.json");
        std::os::unix::fs::symlink("real.json", &link).expect("link");
        write_atomic(&link, b"new").expect("write through the link");
        assert!(fs::symlink_metadata(&link)
            .expect("lstat")
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&target).expect("read"), b"new");
        // A dangling link: its target is made.
        let dangling = dir.path().join("d.json");
        std::os::unix::fs::symlink("made.json", &dangling).expect("link");
        write_atomic(&dangling, b"made").expect("write");
        assert_eq!(
            fs::read(dir.path().join("made.json")).expect("read"),
            b"made"
        );
    }

    #[test]
    fn devices_and_fifos_are_written_through_never_replaced() {
        write_atomic(Path::new("/dev/null"), b"gone").expect("/dev/null takes it");
        let e = write_atomic(Path::new("/dev/full"), b"x").expect_err("/dev/full is full");
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
        for dev in ["/dev/null", "/dev/full"] {
            let m = fs::symlink_metadata(dev).expect("lstat");
            assert!(m.file_type().is_char_device(), "{dev} is still a device");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().expect("utf8")).expect("c path");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read(&fifo).expect("read the FIFO"))
        };
        write_atomic(&fifo, b"through").expect("write into the FIFO");
        assert_eq!(reader.join().expect("reader"), b"through");
        assert!(fs::symlink_metadata(&fifo)
            .expect("lstat")
            .file_type()
            .is_fifo());
        assert!(
            write_atomic(dir.path(), b"x").is_err(),
            "a directory is refused"
        );
    }

    #[test]
    fn reads_refuse_fifos_and_links_where_asked_and_bound_the_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().expect("utf8")).expect("c path");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        // No writer: a blocking open would hang here.
        assert!(read_bounded(&fifo, 10).is_err());
        assert!(open_regular(&fifo).is_err());
        let f = dir.path().join("f");
        fs::write(&f, "0123456789").expect("write");
        assert_eq!(read_bounded(&f, 10).expect("fits"), b"0123456789");
        assert!(read_bounded(&f, 9).is_err());
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&f, &link).expect("link");
        assert!(read_bounded(&link, 10).is_ok(), "a named link is followed");
        assert!(open_regular(&link).is_err(), "open_regular never follows");
    }

    #[test]
    fn temp_files_are_told_by_their_name_and_a_full_disk_by_its_errno() {
        use std::ffi::OsStr;
        assert_eq!(temp_writer(OsStr::new(".scan.png.tmp-4242")), Some(4242));
        assert_eq!(temp_writer(OsStr::new(".a.tmp-1.tmp-77")), Some(77));
        for other in [
            "scan.png.tmp-4242",
            ".tmp-4242",
            ".scan.png.tmp-",
            ".scan.png.tmp-42a",
            ".scan.png.tmp--42",
            ".scan.png.tmp-99999999999",
            ".scan.png.tmp-0",
            ".scan.png.part-4242-1",
        ] {
            assert_eq!(temp_writer(OsStr::new(other)), None, "{other}");
        }
        assert!(process_alive(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let pid = child.id();
        child.wait().expect("reaped");
        assert!(!process_alive(pid), "a reaped child is not running");

        for errno in [libc::ENOSPC, libc::EROFS, libc::EDQUOT, libc::EFBIG] {
            let e = io::Error::from_raw_os_error(errno);
            assert!(is_storage_full(&e), "{e}");
            let f = WriteFault::storage(Path::new("/r/scan.png"), &e).expect("a fault");
            assert!(
                f.to_string().starts_with("cannot write /r/scan.png: "),
                "{f}"
            );
        }
        for errno in [libc::EACCES, libc::EIO, libc::ENOENT] {
            let e = io::Error::from_raw_os_error(errno);
            assert!(!is_storage_full(&e), "{e}");
        }
        let e = write_atomic(Path::new("/dev/full"), b"x").expect_err("full");
        assert!(is_storage_full(&e), "{e}");
    }

    #[test]
    fn a_path_through_a_planted_link_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        let run = dir.path();
        fs::create_dir_all(run.join("cases/a")).expect("mkdir");
        std::os::unix::fs::symlink(outside.path(), run.join("cases/b")).expect("link");
        assert!(check_inside(run, Path::new("cases/a/attempt-1/scan.png")).is_ok());
        let e = check_inside(run, Path::new("cases/b/attempt-1")).expect_err("link");
        assert_eq!(e.path, run.join("cases/b"));
        assert!(e.to_string().contains("is a symlink"), "{e}");
        assert!(check_inside(run, Path::new("../x")).is_err());
    }
}
