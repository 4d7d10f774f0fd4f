//! The CLI's tests, in one binary (one link step): `util` runs the binary and checks the
//! JSON conventions of every `--json` output; each other module covers one area.

mod util;

mod db_keys;
mod db_pages;
mod db_space;
mod dump;
mod golden;
mod hashkv;
mod json_docs;
mod k8s;
mod live_etcd;
mod members;
mod metrics;
mod recover;
pub(crate) mod rejoin;
mod releases;
mod repair;
mod restore;
mod robustness;
mod runbook;
mod terminal;
mod undo;
mod value_check;
mod verify_fixtures;
