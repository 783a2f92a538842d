//! Moving a sector's sealed file and cache into a persist store, safely re-runnable.
//!
//! A crash can stop a move anywhere, and the step is then run again. So: the destination is built
//! under a temporary name and renamed into place (a reader never sees half a file), the source is
//! removed only after the destination is complete, and a source that is already gone while the
//! destination exists means a previous run finished the move.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Move `file` and `dir` to `dest_file` and `dest_dir`.
pub fn move_sector_files(file: &Path, dir: &Path, dest_file: &Path, dest_dir: &Path) -> Result<()> {
    let src_present = file.exists() || dir.exists();
    if !src_present {
        if dest_file.is_file() && dest_dir.is_dir() {
            return Ok(());
        }
        bail!(
            "sector files are neither in the location ({}, {}) nor in the store ({}, {})",
            file.display(),
            dir.display(),
            dest_file.display(),
            dest_dir.display()
        );
    }
    if dir.exists() {
        move_dir(dir, dest_dir)
            .with_context(|| format!("moving {} to {}", dir.display(), dest_dir.display()))?;
    } else if !dest_dir.is_dir() {
        bail!("cache directory {} is missing", dir.display());
    }
    if file.exists() {
        move_file(file, dest_file)
            .with_context(|| format!("moving {} to {}", file.display(), dest_file.display()))?;
    } else if !dest_file.is_file() {
        bail!("sealed file {} is missing", file.display());
    }
    Ok(())
}

fn tmp_name(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    dest.with_file_name(name)
}

fn move_file(src: &Path, dest: &Path) -> Result<()> {
    fs::create_dir_all(dest.parent().context("destination has no parent")?)?;
    match fs::rename(src, dest) {
        Ok(()) => return sync_parent(dest),
        Err(e) if e.raw_os_error() == Some(18) => {} // EXDEV: another filesystem, copy instead
        Err(e) => return Err(e.into()),
    }
    let tmp = tmp_name(dest);
    fs::copy(src, &tmp)?;
    fs::File::open(&tmp)?.sync_all()?;
    fs::rename(&tmp, dest)?;
    sync_parent(dest)?;
    fs::remove_file(src)?;
    Ok(())
}

fn move_dir(src: &Path, dest: &Path) -> Result<()> {
    fs::create_dir_all(dest.parent().context("destination has no parent")?)?;
    if dest.exists() {
        // A previous run copied it but did not remove the source: the source is authoritative.
        fs::remove_dir_all(dest)?;
    }
    match fs::rename(src, dest) {
        Ok(()) => return sync_parent(dest),
        Err(e) if e.raw_os_error() == Some(18) => {}
        Err(e) => return Err(e.into()),
    }
    let tmp = tmp_name(dest);
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    copy_dir(src, &tmp)?;
    fs::rename(&tmp, dest)?;
    sync_parent(dest)?;
    fs::remove_dir_all(src)?;
    Ok(())
}

fn copy_dir(src: &Path, dest: &Path) -> io::Result<()> {
    fs::create_dir_all(dest)?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let to = dest.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &to)?;
        } else {
            fs::copy(entry.path(), &to)?;
            fs::File::open(&to)?.sync_all()?;
        }
    }
    fs::File::open(dest)?.sync_all()
}

fn sync_parent(p: &Path) -> Result<()> {
    if let Some(parent) = p.parent() {
        fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_is_rerunnable() {
        let t = tempfile::tempdir().unwrap();
        let (f, d) = (t.path().join("loc/sealed/s"), t.path().join("loc/cache/s"));
        fs::create_dir_all(&d).unwrap();
        fs::create_dir_all(f.parent().unwrap()).unwrap();
        fs::write(&f, b"sealed").unwrap();
        fs::write(d.join("p_aux"), b"aux").unwrap();
        let (df, dd) = (
            t.path().join("store/sealed/s"),
            t.path().join("store/cache/s"),
        );
        move_sector_files(&f, &d, &df, &dd).unwrap();
        assert_eq!(fs::read(&df).unwrap(), b"sealed");
        assert_eq!(fs::read(dd.join("p_aux")).unwrap(), b"aux");
        assert!(!f.exists() && !d.exists());
        // Second run after a crash that happened after the move: still fine.
        move_sector_files(&f, &d, &df, &dd).unwrap();
        // Nothing anywhere: a clear error.
        let e = move_sector_files(&f, &d, &t.path().join("x"), &t.path().join("y")).unwrap_err();
        assert!(e.to_string().contains("neither in the location"), "{e}");
    }
}
