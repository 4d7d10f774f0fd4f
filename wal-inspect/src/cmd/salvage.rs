//! `db salvage`: renders [`etcd_snap::salvage`].

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::exit::Exit;

#[derive(Serialize)]
struct SalvageJson<'a> {
    path: &'a Path,
    #[serde(flatten)]
    report: &'a etcd_snap::salvage::DbSalvage,
    /// The command that installs the result (for a member's db).
    next: Option<String>,
}

/// The data dir of a member's db (`<data>/member/snap/db`).
fn data_dir_of(db: &Path) -> Option<&Path> {
    let snap = db.parent()?;
    let member = snap.parent()?;
    (db.file_name()? == "db" && snap.file_name()? == "snap" && member.file_name()? == "member")
        .then(|| member.parent())
        .flatten()
}

/// Run `db salvage`: 0 nothing lost, 1 records lost (the new db holds the rest), 3 OUT
/// exists or a live etcd holds the db.
pub fn run(path: &Path, out_file: &Path, json: bool, out: &mut dyn Write) -> anyhow::Result<Exit> {
    let db = etcd_snap::resolve_db_path(path)?;
    if out_file.exists() {
        eprintln!(
            "wal-inspect: {}: exists already; give a new file",
            out_file.display()
        );
        return Ok(Exit::Refused);
    }
    // A db an etcd is writing would be copied mid-transaction: refuse, as `db extract` does.
    if let Some(h) = etcd_member::live::holders(std::slice::from_ref(&db)).first() {
        eprintln!(
            "wal-inspect: refusing: {} is locked ({}) by a running process (pids {:?}); stop etcd first",
            h.file.display(),
            h.lock,
            h.pids
        );
        return Ok(Exit::Refused);
    }
    let r = etcd_snap::salvage::salvage_db(&db, out_file)?;
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    // Only a db that holds a consistent index can be installed (repair --from checks it).
    let next = data_dir_of(&abs(&db))
        .filter(|_| r.consistent_index.is_some())
        .map(|d| {
            format!(
                "wal-inspect repair {} --from {}",
                etcd_member::runbook::shell_quote(&d.display().to_string()),
                etcd_member::runbook::shell_quote(&abs(out_file).display().to_string())
            )
        });
    let exit = if r.copy.lost_anything() {
        Exit::Damage
    } else {
        Exit::Clean
    };
    if json {
        crate::output::json_line(
            out,
            &SalvageJson {
                path: &db,
                report: &r,
                next: next.clone(),
            },
        )?;
        return Ok(exit);
    }
    writeln!(
        out,
        "{}: read through meta page {} (txid {}{})",
        db.display(),
        r.copy.meta,
        r.copy.txid,
        if r.copy.meta_valid {
            ""
        } else {
            ", whose checksum fails: bbolt refuses it, its fields were used"
        }
    )?;
    for b in &r.copy.buckets {
        writeln!(
            out,
            "  bucket {}: {} copied{}{}",
            b.name,
            b.copied,
            if b.dropped > 0 {
                format!(", {} dropped (out of order)", b.dropped)
            } else {
                String::new()
            },
            if b.lost.is_empty() {
                String::new()
            } else {
                format!(", {} range(s) lost", b.lost.len())
            }
        )?;
    }
    if r.lost.is_empty() {
        writeln!(out, "nothing lost")?;
    } else {
        writeln!(out, "{}:", crate::paint::bad("lost"))?;
        for l in &r.lost {
            let what = if l.bucket == "key" {
                "revisions"
            } else {
                "keys"
            };
            writeln!(
                out,
                "  {} {what} {} up to {} (page {}: {})",
                l.bucket,
                l.from.as_deref().unwrap_or("(start)"),
                l.to.as_deref().unwrap_or("(end)"),
                l.page,
                l.why
            )?;
        }
    }
    writeln!(
        out,
        "wrote {} ({} bytes): consistent index {}, term {}, revision {}",
        out_file.display(),
        r.copy.size,
        r.consistent_index
            .map_or("none (the meta bucket was lost)".into(), |c| c.to_string()),
        r.term.map_or("-".into(), |t| t.to_string()),
        r.revision.map_or("-".into(), |v| v.to_string())
    )?;
    if let Some(n) = &next {
        writeln!(out, "install it with: {n}")?;
        writeln!(
            out,
            "  (a single-member cluster; for a member of a larger one, rejoin it instead: a salvaged db differs from its peers')"
        )?;
    }
    Ok(exit)
}
