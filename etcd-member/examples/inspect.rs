//! Embedding `etcd-member`: what etcd will do with a data dir, every finding, and the repair
//! plan, through the documented API only (the README's "Embedding" section).
//!
//! ```sh
//! cargo run -p etcd-member --example inspect -- /var/lib/etcd
//! cargo run -p etcd-member --example inspect          # a bundled damaged etcd 3.5.1 dir
//! ```

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A path from the command line, else a real etcd 3.5.1 data dir with one flipped byte.
    let (_keep, data_dir): (Option<tempfile::TempDir>, PathBuf) = match std::env::args_os().nth(1) {
        Some(p) => (None, PathBuf::from(p)),
        None => {
            let (dir, _case) = testdata::case("v35-wal-flip-entry-mid")?;
            let path = dir.path().join("data/m1");
            (Some(dir), path)
        }
    };
    report(&data_dir)
}

fn report(data_dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let inspection = etcd_member::inspect(data_dir, &etcd_member::Options::default())?;
    match inspection.outcome() {
        etcd_member::Outcome::Starts if inspection.wedged() => {
            println!("etcd starts, but every write will time out")
        }
        outcome => println!("etcd: {outcome:?}"),
    }
    for f in inspection.findings() {
        // Decisive first; the JSON is exactly `wal-inspect verify --json`'s finding object.
        println!("{}: {}{}: {}", f.kind, f.file, f.place(), f.message);
        println!("  {}", serde_json::to_string(f)?);
    }
    let plan = etcd_member::repair::plan(data_dir, &etcd_member::Options::default())?;
    println!(
        "repair plan (read-only): {}: {}",
        plan.plan.kind.as_str(),
        plan.plan.summary
    );
    Ok(())
}
