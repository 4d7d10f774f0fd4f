//! `verify --etcd-version X.Y.Z` against what each real etcd release did on the same bytes:
//! every damaged case of both suites, for every release that was run on it (3.4.23, 3.5.1,
//! 3.5.35, 3.6.16, 3.7.3; testdata/cases/*.json `etcd_verdicts`), must get that release's
//! outcome, wedge and error text. And without `--etcd-version`, `by_release` in the summary
//! says the same for each release.

use serde_json::Value;

use crate::util;

/// etcd names the db by the `--data-dir` it was given; the generator gave a relative one.
fn normalise(error: &str) -> String {
    let e = error.strip_prefix("panic: ").unwrap_or(error);
    match (e.find("database file ("), e.find("member/snap/db")) {
        (Some(a), Some(b)) if a < b => format!("{}{}", &e[..a + "database file (".len()], &e[b..]),
        _ => e.to_owned(),
    }
}

#[test]
fn every_release_verdict_on_every_case() {
    let mut checked = 0;
    let mut releases_seen = std::collections::BTreeSet::new();
    for name in testdata::all_cases() {
        let case = testdata::Case::load(&name).unwrap();
        if case.member_rel().is_none() {
            continue;
        }
        let (dir, case) = testdata::case(&name).unwrap();
        let data = case.data_dir(dir.path()).unwrap();
        let mut versions: Vec<String> = case
            .verdict_releases()
            .into_iter()
            .map(str::to_owned)
            .collect();
        if versions.is_empty() {
            versions.push(case.etcd_version().to_owned());
        }
        // Without a release: the by_release list of the summary.
        let out = util::run(&[
            "verify".to_owned(),
            "--json".to_owned(),
            data.display().to_string(),
        ]);
        let lines = util::json_lines(&out, Some("verify"));
        let plain = lines
            .iter()
            .find(|l| l["type"] == "summary")
            .unwrap()
            .clone();
        for version in versions {
            let want = case.expected_outcome_of(&version).unwrap();
            let verdict = case.verdict_of(&version).unwrap();
            let out = util::run(&[
                "verify".to_owned(),
                "--json".to_owned(),
                format!("--etcd-version={version}"),
                data.display().to_string(),
            ]);
            let lines = util::json_lines(&out, Some("verify"));
            let s = lines.iter().find(|l| l["type"] == "summary").unwrap();
            assert_eq!(s["etcd_version"], version.as_str(), "{name}");
            assert_eq!(s["etcd_outcome"], want, "{name} on etcd {version}: {s}");
            if let Some(w) = verdict["wedged"].as_bool() {
                assert_eq!(s["wedged"], w, "{name} on etcd {version}: wedged");
            }
            if want == "refuses" {
                if let Some(said) = case.etcd_error_of(&version) {
                    let ours = s["etcd_error"].as_str().unwrap_or("");
                    assert_eq!(
                        normalise(ours),
                        normalise(said),
                        "{name} on etcd {version}: error text"
                    );
                }
            }
            let listed: Vec<&Value> = plain["by_release"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["release"] == version.as_str())
                .collect();
            if let Some(r) = listed.first() {
                assert_eq!(r["etcd_outcome"], want, "{name}: by_release {version}");
                assert_eq!(
                    r["etcd_error"], s["etcd_error"],
                    "{name}: by_release {version}"
                );
            }
            releases_seen.insert(version);
            checked += 1;
        }
    }
    assert!(checked >= 130, "only {checked} verdicts checked");
    assert_eq!(
        releases_seen.into_iter().collect::<Vec<_>>(),
        ["3.4.23", "3.5.1", "3.5.35", "3.6.16", "3.7.3"]
    );
}

#[test]
fn a_version_that_is_not_a_release_is_bad_input() {
    for bad in ["3.5", "3.8.0", "latest"] {
        let out = util::run(&["verify", "--etcd-version", bad, "/nonexistent"]);
        assert_eq!(out.code, 2, "{bad}: {}", out.stderr);
        assert!(out.stderr.contains("X.Y.Z"), "{bad}: {}", out.stderr);
    }
}

/// `--upgrade-to 3.6` on a 3.5 dir with custom v2 content and on one with two learners: an
/// `upgrade_blocker` finding with the text real etcd 3.6.16 printed on a copy of the same
/// dir; 3.7 ignores the v2 store (starts) but refuses the learners too.
#[test]
fn upgrade_to_names_the_blocker_with_etcds_text() {
    for (name, line, blocked) in [
        ("v35-v2store-custom", "3.6", true),
        ("v35-v2store-custom", "3.7", false),
        ("v35-learners-two", "3.6", true),
        ("v35-learners-two", "3.7", true),
    ] {
        let (dir, case) = testdata::case(name).unwrap();
        let data = case.data_dir(dir.path()).unwrap();
        let out = util::run(&[
            "verify".to_owned(),
            "--json".to_owned(),
            format!("--upgrade-to={line}"),
            data.display().to_string(),
        ]);
        let lines = util::json_lines(&out, Some("verify"));
        let s = lines.iter().find(|l| l["type"] == "summary").unwrap();
        let release = s["etcd_version"].as_str().unwrap().to_owned();
        assert!(release.starts_with(line), "{name}: {release}");
        let want = case.expected_outcome_of(&release).unwrap();
        assert_eq!(s["etcd_outcome"], want, "{name} → {line}");
        let blockers: Vec<&Value> = lines
            .iter()
            .filter(|l| l["kind"] == "upgrade_blocker")
            .collect();
        assert_eq!(!blockers.is_empty(), blocked, "{name} → {line}: {lines:?}");
        if blocked {
            assert_eq!(out.code, 1, "{name}");
            assert_eq!(blockers[0]["decisive"], true, "{name}");
            assert_eq!(
                blockers[0]["etcd_error"].as_str(),
                case.etcd_error_of(&release),
                "{name} → {line}: etcd {release}'s own words"
            );
        }
    }
}

/// One record as a comparable line: what both `etcd-dump-logs --raw` and `dump --raw
/// --json` say about it (type; CRC value; member and cluster ID; snapshot index and term;
/// entry index, term and type; HardState term, vote and commit).
fn theirs(line: &str) -> Option<String> {
    let num = |key: &str| -> u64 {
        line.split(key)
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let (kind, rest) = line.split_once(": ").or_else(|| line.split_once(':'))?;
    let rest = rest.split(" Data:").next().unwrap_or(rest);
    Some(match kind {
        "CRC" => format!("crc {}", rest.trim()),
        "Metadata" => format!("metadata {} {}", num("NodeID:"), num("ClusterID:")),
        "Snapshot" => format!("snapshot {} {}", num("index:"), num("term:")),
        "Entry" => {
            let ty = rest
                .split("Type:")
                .nth(1)
                .and_then(|t| t.split_whitespace().next())
                .unwrap_or("EntryNormal");
            format!("entry {} {} {ty}", num("Index:"), num("Term:"))
        }
        "HardState" => format!("state {} {} {}", num("term:"), num("vote:"), num("commit:")),
        _ => return None,
    })
}

fn ours(v: &Value) -> Option<String> {
    let dec = |h: &Value| u64::from_str_radix(h.as_str().unwrap_or("0"), 16).unwrap_or(0);
    Some(match v["record_type"].as_str()? {
        "crc" => format!("crc {}", dec(&v["crc"])),
        "metadata" => format!(
            "metadata {} {}",
            dec(&v["metadata"]["node_id"]),
            dec(&v["metadata"]["cluster_id"])
        ),
        "snapshot" => format!(
            "snapshot {} {}",
            v["snapshot"]["index"], v["snapshot"]["term"]
        ),
        "entry" => format!(
            "entry {} {} {}",
            v["entry"]["index"],
            v["entry"]["term"],
            v["entry"]["entry_type"].as_str()?
        ),
        "state" => format!(
            "state {} {} {}",
            v["hard_state"]["term"],
            dec(&v["hard_state"]["vote"]),
            v["hard_state"]["commit"]
        ),
        _ => return None,
    })
}

/// `dump --raw` lists the same records as etcd 3.6's own `etcd-dump-logs --raw` on the WALs
/// etcd 3.6.16 wrote (single with snapshots, rolled segments, cluster members, a removed
/// member): same order, types, CRCs, IDs, indexes, terms, entry types, HardStates. Opt-in:
/// `etcd-dump-logs` is built by `scripts/install-etcd.sh 3.6`.
#[test]
#[ignore = "needs scripts/install-etcd.sh 3.6"]
fn dump_raw_equals_etcd_dump_logs_raw_v36() {
    if !testdata::require_release("3.6") {
        return;
    }
    let tool = testdata::etcd_bin("3.6", "etcd-dump-logs");
    for config in [
        "v36-single",
        "v36-rollover",
        "v36-cluster3",
        "v36-removed-member",
    ] {
        let dir = testdata::clean(config).unwrap();
        let meta = testdata::config_meta(config).unwrap();
        for m in meta["members"].as_array().unwrap() {
            let data = dir.path().join(m["data_dir"].as_str().unwrap());
            let out = std::process::Command::new(&tool)
                .arg("--raw")
                .arg(&data)
                .output()
                .unwrap();
            assert!(out.status.success(), "{config}: {out:?}");
            let want: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(theirs)
                .collect();
            let ours_out = util::run(&[
                "dump".to_owned(),
                "--raw".to_owned(),
                "--json".to_owned(),
                data.display().to_string(),
            ]);
            let got: Vec<String> = util::json_lines(&ours_out, Some("dump"))
                .iter()
                .filter(|l| l["type"] == "record")
                .filter_map(ours)
                .collect();
            assert!(want.len() > 10, "{config}: {} records", want.len());
            assert_eq!(got.len(), want.len(), "{config}: record count");
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                assert_eq!(a, b, "{config} {}: record {i}", data.display());
            }
            eprintln!("{config} {}: {} records equal", m["name"], want.len());
        }
    }
}

/// `repair --etcd-version X.Y.Z` says what that release does now (`etcd_now`), as
/// `verify --etcd-version` and that release's real etcd did, on the cases where releases
/// differ.
#[test]
fn repair_plans_for_the_release_asked_for() {
    let mut checked = 0;
    let mut all_nows = std::collections::BTreeSet::new();
    for name in [
        "v35-wal-record-malformed",
        "v35-roll-last-empty",
        "v35-roll-len-huge-middle",
        "v35-roll-len-beyond-file",
    ] {
        let (dir, case) = testdata::case(name).unwrap();
        let data = case.data_dir(dir.path()).unwrap().display().to_string();
        let mut nows = std::collections::BTreeSet::new();
        for version in case.verdict_releases() {
            let want = case.expected_outcome_of(version).unwrap();
            let out = util::run(&[
                "repair".to_owned(),
                "--json".to_owned(),
                format!("--etcd-version={version}"),
                data.clone(),
            ]);
            let plan = util::json_lines(&out, Some("repair"))
                .into_iter()
                .find(|l| l["type"] == "plan")
                .unwrap();
            let now = plan["etcd_now"].as_str().unwrap().to_owned();
            let prefix = match want {
                "refuses" => "refuses to start",
                "repairs_tail" => "repairs its tail",
                _ => "starts",
            };
            assert!(
                now.starts_with(prefix),
                "{name} on {version}: {now} (etcd: {want})"
            );
            if want == "refuses" {
                let said = case.etcd_error_of(version).unwrap_or_default();
                assert!(
                    normalise(&now).contains(&normalise(said)),
                    "{name} on {version}: {now} vs etcd's {said}"
                );
            }
            nows.insert(now);
            all_nows.insert(prefix);
            checked += 1;
        }
        // The same bytes, what each release does: not one sentence for all five.
        assert!(nows.len() > 1, "{name}: {nows:?}");
    }
    assert!(checked >= 16, "{checked}");
    assert!(all_nows.len() > 1, "{all_nows:?}");
}
