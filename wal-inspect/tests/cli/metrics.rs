//! `verify --metrics-file`: the file is Prometheus' text exposition format, checked by a
//! strict parser written from the format's specification (metric and label name grammar,
//! `# HELP`/`# TYPE` before a family's samples, one `TYPE` per family, label-value escapes,
//! float values, no duplicate series); the damage gauge differs between a clean and a
//! damaged data dir; the write leaves no temporary file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::util;

fn is_name(s: &str, colon: bool) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || (colon && f == ':'))
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || (colon && x == ':'))
}

/// Parse `{a="x",b="y"}` (escapes `\\`, `\"`, `\n` only) into pairs.
fn labels(s: &str) -> Result<Vec<(String, String)>, String> {
    let inner = s
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .ok_or("labels not in braces")?;
    let mut out = Vec::new();
    let mut chars = inner.chars().peekable();
    while chars.peek().is_some() {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if !is_name(&name, false) {
            return Err(format!("bad label name {name:?}"));
        }
        if chars.next() != Some('"') {
            return Err("label value not quoted".into());
        }
        let mut value = String::new();
        loop {
            match chars.next().ok_or("unterminated label value")? {
                '"' => break,
                '\\' => match chars.next().ok_or("dangling escape")? {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    e => return Err(format!("bad escape \\{e}")),
                },
                '\n' => return Err("raw newline in label value".into()),
                c => value.push(c),
            }
        }
        out.push((name, value));
        match chars.next() {
            None => break,
            Some(',') => {}
            Some(c) => return Err(format!("unexpected {c:?} after a label")),
        }
    }
    Ok(out)
}

/// Every sample, by `name{labels}`, after checking the whole text.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut typed: BTreeSet<String> = BTreeSet::new();
    let mut helped: BTreeSet<String> = BTreeSet::new();
    let mut samples = BTreeMap::new();
    assert!(text.ends_with('\n'), "the text must end with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, _) = rest.split_once(' ').expect("HELP text");
            assert!(is_name(name, true), "{line}");
            assert!(helped.insert(name.to_owned()), "second HELP: {line}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, ty) = rest.split_once(' ').expect("TYPE kind");
            assert!(is_name(name, true), "{line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&ty),
                "{line}"
            );
            assert!(typed.insert(name.to_owned()), "second TYPE: {line}");
        } else if line.starts_with('#') || line.is_empty() {
            panic!("unexpected line {line:?}");
        } else {
            let (series, value) = line.rsplit_once(' ').expect("a value");
            let (name, labs) = match series.find('{') {
                Some(i) => series.split_at(i),
                None => (series, ""),
            };
            assert!(is_name(name, true), "{line}");
            assert!(typed.contains(name), "sample before its TYPE: {line}");
            if !labs.is_empty() {
                let l = labels(labs).unwrap_or_else(|e| panic!("{e}: {line}"));
                let names: BTreeSet<&String> = l.iter().map(|(n, _)| n).collect();
                assert_eq!(names.len(), l.len(), "duplicate label: {line}");
            }
            let v: f64 = value.parse().unwrap_or_else(|_| panic!("value: {line}"));
            assert!(
                samples.insert(series.to_owned(), v).is_none(),
                "duplicate series: {line}"
            );
        }
    }
    samples
}

fn metrics_of(data: &Path, out_dir: &Path) -> BTreeMap<String, f64> {
    let file = out_dir.join("etcd.prom");
    let out = util::run(&[
        "verify".to_owned(),
        data.display().to_string(),
        format!("--metrics-file={}", file.display()),
    ]);
    assert!(out.code <= 1, "{}", out.stderr);
    let leftovers: Vec<_> = std::fs::read_dir(out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy() != "etcd.prom")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    parse(&std::fs::read_to_string(&file).unwrap())
}

fn value(m: &BTreeMap<String, f64>, prefix: &str) -> f64 {
    let hits: Vec<f64> = m
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(hits.len(), 1, "{prefix}: {m:?}");
    hits[0]
}

#[test]
fn metrics_file_is_valid_exposition_and_tells_damage_apart() {
    let out_dir = tempfile::tempdir().unwrap();
    let clean = testdata::pristine("v35-single").unwrap();
    let m = metrics_of(&clean.join("data/m1"), out_dir.path());
    assert_eq!(value(&m, "wal_inspect_damaged{"), 0.0);
    let outcome = |m: &BTreeMap<String, f64>, o: &str| -> f64 {
        m.iter()
            .filter(|(k, _)| k.starts_with("wal_inspect_etcd_outcome{"))
            .filter(|(k, _)| k.contains(&format!("outcome=\"{o}\"")))
            .map(|(_, v)| *v)
            .sum()
    };
    assert_eq!(
        (
            outcome(&m, "starts"),
            outcome(&m, "repairs_tail"),
            outcome(&m, "refuses")
        ),
        (1.0, 0.0, 0.0)
    );
    assert!(value(&m, "wal_inspect_last_index{") > 0.0);

    let (dir, case) = testdata::case("v35-wal-flip-entry-mid").unwrap();
    let m = metrics_of(&case.data_dir(dir.path()).unwrap(), out_dir.path());
    assert_eq!(value(&m, "wal_inspect_damaged{"), 1.0);
    assert_eq!(value(&m, "wal_inspect_findings{"), 1.0);
    assert!(
        m.keys().any(|k| k.contains("kind=\"crc_mismatch\"")),
        "{m:?}"
    );
    assert_eq!(
        (
            outcome(&m, "starts"),
            outcome(&m, "repairs_tail"),
            outcome(&m, "refuses")
        ),
        (0.0, 0.0, 1.0)
    );
}

#[test]
fn the_strict_parser_rejects_what_prometheus_rejects() {
    for bad in [
        "m 1\n",                                 // sample before TYPE
        "# TYPE m gauge\nm{a=\"x} 1\n",          // unterminated value
        "# TYPE m gauge\nm{a=\"\\q\"} 1\n",      // bad escape
        "# TYPE m gauge\nm{1a=\"x\"} 1\n",       // bad label name
        "# TYPE m gauge\nm one\n",               // not a number
        "# TYPE m gauge\nm 1\nm 2\n",            // duplicate series
        "# TYPE m gauge\n# TYPE m gauge\nm 1\n", // second TYPE
        "# TYPE m gauge\nm 1",                   // no final newline
    ] {
        let r = std::panic::catch_unwind(|| parse(bad));
        assert!(r.is_err(), "accepted {bad:?}");
    }
}
