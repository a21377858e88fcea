//! `mesos-proxy import` of every fixture capture (`fixtures/captures/`)
//! against its expected output in `fixtures/expect/import/`: the session
//! files it writes (`<capture>/`) and what it prints and exits with
//! (`<capture>.txt`). `UPDATE_EXPECT=1 cargo test -p mesos-proxy --test tests
//! -- golden::` rewrites them (see `test_support::expect`). The sessions
//! written there are the inputs of mesos-replay's `inspect` and `diff`
//! expectations.

use std::process::Command;

use test_support::expect::{self, assert_eq_file, normalize};

/// The one normalization of import's output: the temporary output
/// directory and the tool's version (in the session header's `tool`).
fn normalized(text: &str, out: &std::path::Path) -> String {
    let tool = format!("\"tool\":\"mesos-tape {}\"", env!("CARGO_PKG_VERSION"));
    normalize(text, &[(out.to_str().unwrap(), "<OUT>"), (&tool, "\"tool\":\"mesos-tape <VERSION>\"")])
}

fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().file_name().into_string().unwrap()).collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

#[test]
fn import_writes_the_expected_sessions_and_says_the_expected_things() {
    let captures = test_support::fixture("captures");
    let mut names = names_in(&captures);
    names.retain(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"));
    assert_eq!(names.len(), 7, "{names:?}");
    for capture in names {
        let stem = capture.rsplit_once('.').unwrap().0.to_owned();
        let out = test_support::temp_dir(&format!("golden-import-{stem}"));
        // Run where the capture is, so that its name prints without a path.
        let output = Command::new(env!("CARGO_BIN_EXE_mesos-proxy"))
            .current_dir(&captures)
            .args(["import", &capture, "--out"])
            .arg(&out)
            .output()
            .unwrap();
        let said = format!(
            "exit status: {}\n--- stdout\n{}--- stderr\n{}",
            output.status.code().unwrap(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        );
        assert_eq_file(&expect::path(&format!("import/{stem}.txt")), &normalized(&said, &out));

        let expected_dir = expect::path(&format!("import/{stem}"));
        let written = names_in(&out);
        assert!(!written.is_empty(), "{capture}: no session written");
        if expect::updating() {
            let _ = std::fs::remove_dir_all(&expected_dir);
        } else {
            assert_eq!(written, names_in(&expected_dir), "{capture}: the session files written");
        }
        for name in written {
            let session = std::fs::read_to_string(out.join(&name)).unwrap();
            assert_eq_file(&expected_dir.join(&name), &normalized(&session, &out));
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}
