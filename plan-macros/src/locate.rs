//! Finding the plan file of a `plan!` call and naming it in messages.

use std::env;
use std::path::{Path, PathBuf};
use syn::LitStr;

pub(crate) struct PlanFile {
    /// Absolute path, for reading and for `include_bytes!`.
    pub path: PathBuf,
    /// How messages and `PlanMeta::file` name it: relative to the workspace root of the
    /// invoking crate (`plans/sealer.plan`), else as written in the call.
    pub display: String,
    /// The file stem: the plan's name.
    pub name: String,
}

impl PlanFile {
    /// Resolves the written path against the invoking crate's `CARGO_MANIFEST_DIR`, then against
    /// the directory of the calling source file: trybuild (and any generated crate) builds a
    /// call whose manifest is elsewhere, where only the source-relative path works.
    pub(crate) fn find(lit: &LitStr, caller: Option<PathBuf>) -> syn::Result<PlanFile> {
        let written = lit.value();
        let manifest_dir = env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
        let mut candidates = Vec::new();
        if let Some(dir) = &manifest_dir {
            candidates.push(dir.join(&written));
        }
        if let Some(dir) = caller.as_deref().and_then(Path::parent) {
            let dir = if dir.is_relative() {
                env::current_dir()
                    .map(|cwd| cwd.join(dir))
                    .unwrap_or_else(|_| dir.to_path_buf())
            } else {
                dir.to_path_buf()
            };
            candidates.push(dir.join(&written));
        }
        let Some(found) = candidates.iter().find(|p| p.is_file()) else {
            // No absolute path in the message: it would differ between machines and builds.
            return Err(syn::Error::new(
                lit.span(),
                format!(
                    "plan file `{written}` not found: the path is relative to the directory of the invoking crate's Cargo.toml (or of this source file)"
                ),
            ));
        };
        let path = found.canonicalize().unwrap_or_else(|_| found.clone());
        let display = manifest_dir
            .and_then(|dir| plan_meta::display_path_from(&path, &dir))
            .unwrap_or(written);
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(PlanFile {
            path,
            display,
            name,
        })
    }
}
