//! `etcd-member` as an embedder sees it: an integration test is its own crate, so only the
//! documented public API is reachable here. On every damaged fixture of both suites (real
//! etcd 3.4.23, 3.5.1, 3.5.35, 3.6.16 and 3.7.3 data with one damage each), `inspect` for the
//! release that wrote it must predict what that real etcd did (the case's recorded
//! verdict) and a finding must name the ground-truth file (and record, for WAL damage) —
//! the facts `wal-inspect verify --json` is held to, from the library alone.

use etcd_member::release::EtcdVersion;
use etcd_member::{Options, Outcome, inspect};

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Starts => "starts",
        Outcome::RepairsTail => "repairs_tail",
        Outcome::Refuses => "refuses",
    }
}

#[test]
fn every_damaged_fixture_through_the_public_api() {
    let mut checked = 0;
    for name in testdata::all_cases() {
        let case = testdata::Case::load(&name).unwrap();
        if case.member_rel().is_none() {
            continue; // `snapshot save` files: not a member dir
        }
        let (dir, case) = testdata::case(&name).unwrap();
        let member = case.member_dir(dir.path()).unwrap();
        let release: EtcdVersion = case.etcd_version().parse().unwrap();
        let options = Options {
            etcd_version: Some(release),
            ..Options::default()
        };
        let ins = inspect(&member, &options).unwrap();
        assert_eq!(
            outcome_name(ins.outcome()),
            case.expected_outcome(),
            "{name}: outcome on etcd {release}"
        );
        // Not damage for the release that wrote it (a 3.5 dir with two learners or custom
        // v2 content starts on 3.5): nothing to name.
        if case.expected_outcome() == "starts" && ins.findings().is_empty() {
            checked += 1;
            continue;
        }
        // A renamed segment is reported under the name it has now.
        let file = case.ground_truth()["renamed_to"]
            .as_str()
            .unwrap_or(case.file());
        let hit = ins
            .findings()
            .iter()
            .find(|f| f.file == file)
            .unwrap_or_else(|| panic!("{name}: no finding names {file}"));
        if let (Some(off), Some(ord)) = (case.record_offset(), case.ordinal()) {
            assert_eq!(hit.location.offset(), Some(off), "{name}: {}", hit.place());
            assert_eq!(hit.location.ordinal(), Some(ord), "{name}: {}", hit.place());
        }
        // Serialized, a finding is `verify --json`'s object, its location keys always there.
        let v = serde_json::to_value(hit).unwrap();
        for k in [
            "type",
            "kind",
            "file",
            "offset",
            "ordinal",
            "record_type",
            "index",
            "term",
        ] {
            assert!(v.get(k).is_some(), "{name}: {k} missing in {v}");
        }
        checked += 1;
    }
    assert!(checked >= 90, "only {checked} cases");
}
