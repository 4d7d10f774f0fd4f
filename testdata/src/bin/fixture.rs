//! Unpack a fixture where a person can look at it.
//!
//! ```text
//! cargo run -p testdata --bin fixture -- case  <case>   <dest>   # damaged copy (edits applied)
//! cargo run -p testdata --bin fixture -- clean <config> <dest>   # clean copy
//! cargo run -p testdata --bin fixture -- list
//! ```
//! `<dest>` must not exist yet; it is replaced only when the command is re-run with the
//! same destination under `target/` (examples live there).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fixture: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    match args {
        [cmd] if cmd == "list" => {
            println!("configs: {}", testdata::configs().join(" "));
            println!("cases:   {}", testdata::cases().join(" "));
            let ext = |all: Vec<String>, default: Vec<String>| {
                all.into_iter()
                    .filter(|n| !default.contains(n))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            println!(
                "extended configs (built releases, cross-release data): {}",
                ext(testdata::all_configs(), testdata::configs())
            );
            println!(
                "extended cases: {}",
                ext(testdata::all_cases(), testdata::cases())
            );
            Ok(())
        }
        [cmd, name, dest] if cmd == "case" || cmd == "clean" => {
            let dest = PathBuf::from(dest);
            prepare(&dest)?;
            let parent = dest
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
            // Build the copy beside its destination so that a rename moves it into place.
            let parent =
                std::fs::canonicalize(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
            let dir = tempfile::Builder::new()
                .prefix(".fixture-")
                .tempdir_in(&parent)
                .map_err(|e| e.to_string())?;
            let made = if cmd == "case" {
                testdata::case(name).map(|(d, _)| d)
            } else {
                testdata::clean(name)
            }
            .map_err(|e| format!("{name}: {e}"))?;
            copy_dir(made.path(), dir.path())?;
            let kept = dir.keep();
            std::fs::rename(&kept, &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
            println!("{}", dest.display());
            Ok(())
        }
        _ => Err("usage: fixture case <case> <dest> | clean <config> <dest> | list".into()),
    }
}

/// Remove an earlier example at `dest`, but only below a `target` directory.
fn prepare(dest: &Path) -> Result<(), String> {
    if !dest.exists() {
        return Ok(());
    }
    if dest.components().any(|c| c.as_os_str() == "target") {
        std::fs::remove_dir_all(dest).map_err(|e| format!("{}: {e}", dest.display()))
    } else {
        Err(format!(
            "{} exists; choose a new destination",
            dest.display()
        ))
    }
}

fn copy_dir(src: &Path, dst: &Path) -> Result<(), String> {
    let err = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    std::fs::create_dir_all(dst).map_err(|e| err(dst, e))?;
    for entry in std::fs::read_dir(src).map_err(|e| err(src, e))? {
        let entry = entry.map_err(|e| err(src, e))?;
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        if entry.file_type().map_err(|e| err(&from, e))?.is_dir() {
            copy_dir(&from, &to)?;
        } else {
            std::fs::copy(&from, &to).map_err(|e| err(&from, e))?;
        }
    }
    Ok(())
}
