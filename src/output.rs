//! Atomic file writes: a reader of the output folder sees either the old file or the new one,
//! never half of one (temp file in the same folder + fsync + rename). Many files at once:
//! [`stage`] each, then [`commit_staged`] (one filesystem sync, then the renames).

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

/// Write `bytes` to `path` atomically, creating parent folders.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_beside(path, bytes)?;
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("moving the finished file into place at {}", path.display()))?;
    Ok(())
}

/// A file written beside its destination, closed, not yet moved into place: many of them are
/// made durable by one filesystem sync ([`commit_staged`]) instead of one `fsync` each (tens of
/// thousands of report copies in a large merge).
pub struct Staged {
    tmp: Tmp,
    path: std::path::PathBuf,
}

enum Tmp {
    /// Written by us: needs a sync before its rename.
    Written(tempfile::TempPath),
    /// A hard link to a file already written (its data is the source's): removed if dropped
    /// before its rename.
    Linked(LinkPath),
}

struct LinkPath(Option<std::path::PathBuf>);

impl Drop for LinkPath {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Stages a copy of the file `src` (whose content is `bytes`) at `path`: a hard link when both
/// are on one filesystem (no data written; the source is never changed in place, since every
/// write here replaces files by rename), else a written copy as [`stage`] makes. `None` when
/// `path` is already that very file (a merge re-run into the same folder).
pub fn stage_copy(src: &Path, bytes: &[u8], path: &Path) -> Result<Option<Staged>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(a), Ok(b)) = (std::fs::metadata(src), std::fs::metadata(path)) {
            if a.dev() == b.dev() && a.ino() == b.ino() {
                return Ok(None);
            }
        }
    }
    if let (Some(dir), Some(name)) = (path.parent(), path.file_name()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating folder {}", dir.display()))?;
        // Unique per call: the same destination may be staged twice (two inputs of one id).
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let link = dir.join(format!(
            ".tmp-link-{}-{n}-{}.tmp",
            std::process::id(),
            name.to_string_lossy()
        ));
        let _ = std::fs::remove_file(&link);
        if std::fs::hard_link(src, &link).is_ok() {
            return Ok(Some(Staged {
                tmp: Tmp::Linked(LinkPath(Some(link))),
                path: path.to_path_buf(),
            }));
        }
    }
    stage(path, bytes).map(Some)
}

/// Writes `bytes` into a temporary file beside `path` (creating parent folders), with the
/// permissions `write_atomic` gives; [`commit_staged`] syncs and moves it into place. The file
/// is closed (no descriptor held per staged file); dropping a `Staged` removes it.
pub fn stage(path: &Path, bytes: &[u8]) -> Result<Staged> {
    let tmp = temp_beside(path, bytes)?;
    #[cfg(not(target_os = "linux"))]
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    Ok(Staged {
        tmp: Tmp::Written(tmp.into_temp_path()),
        path: path.to_path_buf(),
    })
}

/// Makes staged files durable and moves each into place, in order (the guarantee of
/// `write_atomic`: a file's data is on disk before its rename). On Linux one `syncfs` per
/// folder's filesystem after all are written; elsewhere `stage` synced each file.
pub fn commit_staged(staged: Vec<Staged>) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let mut synced: std::collections::HashSet<&Path> = std::collections::HashSet::new();
        for s in &staged {
            let Tmp::Written(tmp) = &s.tmp else { continue };
            let dir = tmp.parent().unwrap_or_else(|| Path::new("."));
            if !synced.insert(dir) {
                continue;
            }
            let f = std::fs::File::open(dir)
                .with_context(|| format!("opening folder {}", dir.display()))?;
            // SAFETY: `f` is an open descriptor for the duration of the call.
            if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
                return Err(std::io::Error::last_os_error())
                    .with_context(|| format!("syncing the files written in {}", dir.display()));
            }
        }
    }
    for s in staged {
        let path = s.path;
        let moved = match s.tmp {
            Tmp::Written(tmp) => tmp.persist(&path).map_err(|e| e.error),
            Tmp::Linked(mut link) => match link.0.take() {
                Some(p) => std::fs::rename(&p, &path).inspect_err(|_| {
                    let _ = std::fs::remove_file(&p);
                }),
                None => Ok(()),
            },
        };
        moved.with_context(|| {
            format!("moving the finished file into place at {}", path.display())
        })?;
    }
    Ok(())
}

/// A temporary file beside `path` holding `bytes` (not synced), with the permissions of the
/// file it will replace, else rw-r--r--.
fn temp_beside(path: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating folder {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    // tempfile creates 0600 files; outputs are meant to be read by others (a web server, a
    // colleague), so keep the permissions of the file being replaced, else rw-r--r--.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644);
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting permissions of {}", path.display()))?;
    }
    tmp.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(tmp)
}

/// Serialize `value` as pretty JSON with a trailing newline and write it atomically.
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Removes the files of `dir` whose name without extension is not in `keep`: results of earlier
/// runs over other inputs, which would otherwise sit beside this run's. A missing folder is
/// nothing to clean.
pub fn remove_files_not_in(dir: &Path, keep: &std::collections::BTreeSet<&str>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        if stem.is_some_and(|s| !keep.contains(s.as_str())) {
            tracing::info!("removing {} (not among this run's inputs)", path.display());
            let _ = std::fs::remove_file(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_existing_file_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn staged_copies_land_in_place_and_leave_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("shard/a.json");
        write_atomic(&src, b"report").unwrap();
        let dest = dir.path().join("out/reports/a.json");
        let other = dir.path().join("out/reports/b.json");
        write_atomic(&dest, b"old").unwrap();
        let staged = vec![
            stage_copy(&src, b"report", &dest).unwrap().unwrap(),
            stage(&other, b"written").unwrap(),
        ];
        // Nothing is in place before the commit.
        assert_eq!(std::fs::read(&dest).unwrap(), b"old");
        assert!(!other.exists());
        commit_staged(staged).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"report");
        assert_eq!(std::fs::read(&other).unwrap(), b"written");
        // A re-run finds the same file in place: nothing to do, nothing left behind.
        assert!(stage_copy(&src, b"report", &dest).unwrap().is_none());
        // Dropped before the commit: the temporary files go.
        drop(stage_copy(&src, b"report", &dir.path().join("out/reports/c.json")).unwrap());
        drop(stage(&dir.path().join("out/reports/d.json"), b"x").unwrap());
        let mut names: Vec<_> = std::fs::read_dir(dest.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["a.json", "b.json"]);
        // The source is untouched.
        assert_eq!(std::fs::read(&src).unwrap(), b"report");
    }

    #[cfg(unix)]
    #[test]
    fn new_files_are_readable_by_others_and_replaced_files_keep_their_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("digest.md");
        write_atomic(&p, b"one").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), 0o644);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(mode(&p), 0o640);
    }
}
