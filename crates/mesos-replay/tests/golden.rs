//! `mesos-replay inspect` and `mesos-replay diff` on fixture sessions (the
//! sessions `mesos-proxy import` writes from the fixture captures, kept in
//! `fixtures/expect/import/<capture>/`), against their expected output in
//! `fixtures/expect/inspect/` and `fixtures/expect/diff/`.
//! `UPDATE_EXPECT=1 cargo test -p mesos-replay --test tests -- golden::`
//! rewrites them (see `test_support::expect`).
//!
//! Both run where the sessions are, with relative paths, so that what they
//! print names no temporary or absolute path: nothing is normalized.

use std::path::{Path, PathBuf};
use std::process::Command;

use test_support::expect::{self, assert_eq_file};

/// The fixture captures' names (without extension), sorted.
fn captures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(test_support::fixture("captures"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|n| n.rsplit_once('.').map(|(stem, _)| stem.to_owned()))
        .collect();
    names.sort();
    names
}

/// The one session imported from `capture`, relative to `fixtures/expect/import`.
fn session(capture: &str) -> PathBuf {
    let dir = expect::path("import").join(capture);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (mesos-proxy's golden test writes it)", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    Path::new(capture).join(files.pop().unwrap().file_name().unwrap())
}

/// Runs `mesos-replay args` in `fixtures/expect/import`: its exit status
/// and what it printed.
fn run(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_mesos-replay"))
        .current_dir(expect::path("import"))
        .args(args)
        .output()
        .unwrap();
    format!(
        "exit status: {}\n--- stdout\n{}--- stderr\n{}",
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn inspect_prints_the_expected_timelines() {
    let captures = captures();
    assert_eq!(captures.len(), 7, "{captures:?}");
    for capture in &captures {
        let session = session(capture);
        let session = session.to_str().unwrap();
        assert_eq_file(&expect::path(&format!("inspect/{capture}.txt")), &run(&["inspect", session]));
    }
    let walkthrough = session("walkthrough");
    assert_eq_file(
        &expect::path("inspect/walkthrough.json.txt"),
        &run(&["inspect", "--json", walkthrough.to_str().unwrap()]),
    );
}

#[test]
fn diff_prints_the_expected_differences() {
    let walkthrough = session("walkthrough");
    let walkthrough = walkthrough.to_str().unwrap();
    for capture in captures().iter().filter(|c| *c != "walkthrough") {
        let other = session(capture);
        let other = other.to_str().unwrap();
        assert_eq_file(&expect::path(&format!("diff/walkthrough-{capture}.txt")), &run(&["diff", walkthrough, other]));
    }
    let gap = session("gap");
    assert_eq_file(
        &expect::path("diff/walkthrough-gap-rebind.txt"),
        &run(&["diff", "--rebind-master-ids", walkthrough, gap.to_str().unwrap()]),
    );
}
