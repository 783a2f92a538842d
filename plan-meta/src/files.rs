//! Plan files on disk: reading and checking them, and naming them in messages.
//!
//! Messages name a plan file relative to the workspace root (`plans/sealer.plan`) so that the
//! same error reads the same from any crate, any checkout and any build directory.

use crate::model::Plan;
use crate::{diagnostics, parse_and_validate, render};
use std::path::{Component, Path, PathBuf};
use std::{env, fs};

/// Where the generated flow document lives, relative to the workspace root.
pub const DOCS_FILE: &str = "docs/task-status-flow.md";
/// Where the plan files live, relative to the workspace root.
pub const PLANS_DIR: &str = "plans";
/// The command that rewrites [`DOCS_FILE`] from the plan files.
pub const REGENERATE_DOCS: &str =
    "cargo run -p venus-runtime --bin venus-worker -- plan docs --write";

/// The nearest directory, `start` or one of its ancestors, whose `Cargo.toml` has a
/// `[workspace]` table.
pub fn workspace_root(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        let is_workspace = manifest
            .lines()
            .any(|line| line.trim_start().starts_with("[workspace]"));
        is_workspace.then(|| dir.to_path_buf())
    })
}

/// `path` relative to the workspace root found from `start` (see [`workspace_root`]), with `/`
/// separators; `None` when there is no workspace or `path` is outside it.
pub fn display_path_from(path: &Path, start: &Path) -> Option<String> {
    let root = workspace_root(start)?;
    let root = fs::canonicalize(&root).unwrap_or(root);
    let path = fs::canonicalize(path).ok()?;
    let relative = path.strip_prefix(&root).ok()?;
    let parts: Vec<String> = relative
        .components()
        .map(|c| match c {
            Component::Normal(part) => part.to_string_lossy().into_owned(),
            other => other.as_os_str().to_string_lossy().into_owned(),
        })
        .collect();
    Some(parts.join("/"))
}

/// How messages name `path`: relative to the workspace root of the crate being built or run
/// (`CARGO_MANIFEST_DIR`, else the current directory), or as given when outside a workspace.
pub fn display_path(path: &Path) -> String {
    let start = env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| env::current_dir().ok());
    start
        .and_then(|start| display_path_from(path, &start))
        .unwrap_or_else(|| path.display().to_string())
}

/// Reads, parses and validates a plan file. The error is every problem of the file rendered as
/// the `plan!` macro reports it (see [`crate::Diagnostic::render`]).
pub fn check_file(path: &Path) -> Result<Plan, String> {
    let shown = display_path(path);
    let src =
        fs::read_to_string(path).map_err(|e| format!("error: cannot read `{shown}`: {e}\n"))?;
    parse_and_validate(&src).map_err(|errors| diagnostics::render_all(&errors, &src, &shown))
}

/// Every `*.plan` file of `dir`, checked, named by file stem and sorted by name. The error holds
/// the problems of every file that has some.
pub fn load_dir(dir: &Path) -> Result<Vec<(String, Plan)>, String> {
    let entries = fs::read_dir(dir)
        .map_err(|e| format!("error: cannot read `{}`: {e}\n", display_path(dir)))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "plan"))
        .collect();
    paths.sort();
    let mut plans = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match check_file(&path) {
            Ok(plan) => plans.push((name, plan)),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(plans)
    } else {
        Err(errors.join("\n"))
    }
}

/// The content of [`DOCS_FILE`] for the workspace at `root`, rendered from its [`PLANS_DIR`].
pub fn task_status_flow_doc(root: &Path) -> Result<String, String> {
    let plans = load_dir(&root.join(PLANS_DIR))?;
    Ok(render::task_status_flow_md(&plans))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_path_buf()
    }

    #[test]
    fn the_workspace_of_this_crate() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(workspace_root(here), Some(repo()));
    }

    #[test]
    fn plan_paths_are_shown_relative_to_the_workspace() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let plan = here.join("../plans/sealer.plan");
        assert_eq!(
            display_path_from(&plan, here).as_deref(),
            Some("plans/sealer.plan")
        );
        assert_eq!(display_path(&plan), "plans/sealer.plan");
    }

    #[test]
    fn outside_the_workspace_the_path_is_kept() {
        let outside = env::temp_dir().join("no-such-dir/x.plan");
        assert_eq!(
            display_path_from(&outside, Path::new(env!("CARGO_MANIFEST_DIR"))),
            None
        );
        assert_eq!(display_path(&outside), outside.display().to_string());
    }

    #[test]
    fn check_file_renders_every_error_with_the_shown_path() {
        let dir = env::temp_dir().join(format!("plan-meta-check-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.plan");
        fs::write(&path, "State::Empty => {\n    Event::A => State::Nope,\n    Event::A => State::Finished,\n},\n").unwrap();
        let err = check_file(&path).unwrap_err();
        let shown = path.display().to_string();
        assert!(err.contains(&format!("--> {shown}:2:17")), "{err}");
        assert!(err.contains(&format!("--> {shown}:3:5")), "{err}");
        assert!(check_file(&dir.join("missing.plan"))
            .unwrap_err()
            .starts_with("error: cannot read"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_dir_reads_the_real_plans() {
        let plans = load_dir(&repo().join(PLANS_DIR)).unwrap();
        let names: Vec<&str> = plans.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["sealer", "snapup"]);
    }
}
