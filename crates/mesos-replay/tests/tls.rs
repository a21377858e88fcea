//! `mesos-replay sim` and `serve` with TLS files that cannot be used: exit
//! status 1 and a message naming the flag, the file and what is wrong with
//! it (no panic). The TLS traffic itself is tested across the crates in
//! `tests/tls.rs`.

use std::process::Command;

#[test]
fn sim_and_serve_exit_1_on_bad_tls_files_naming_the_file() {
    let dir = test_support::temp_dir("bad");
    let (cert, key) = test_support::self_signed(&dir, "server");
    let (_, other_key) = test_support::self_signed(&dir, "other");
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "hello\n").unwrap();
    let session = dir.join("one.session.jsonl");
    let lines = concat!(
        r#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"sim","started_at":"t"}"#,
        "\n",
        r#"{"seq":0,"t_ns":0,"conn":1,"kind":"request","method":"POST","path":"/api/v1/scheduler","headers":[],"body":"{\"type\":\"TEARDOWN\"}"}"#,
        "\n",
        r#"{"seq":1,"t_ns":1,"conn":1,"kind":"response","request":0,"status":202,"headers":[]}"#,
        "\n",
    );
    std::fs::write(&session, lines).unwrap();
    let missing = dir.join("nope.key");
    let cases = [
        (vec![&garbage, &key], format!("--tls-cert {}: no certificate in it", garbage.display())),
        (vec![&cert, &other_key], format!("--tls-key {}: not the key of the certificate", other_key.display())),
        (vec![&cert, &missing], format!("--tls-key {}: cannot read it", missing.display())),
    ];
    for (files, expected) in &cases {
        let mut sim = Command::new(env!("CARGO_BIN_EXE_mesos-replay"));
        sim.args(["sim", "--listen", "127.0.0.1:0"]);
        let mut serve = Command::new(env!("CARGO_BIN_EXE_mesos-replay"));
        serve.arg("serve").arg(&session).args(["--listen", "127.0.0.1:0"]);
        for mut command in [sim, serve] {
            let output = command.arg("--tls-cert").arg(files[0]).arg("--tls-key").arg(files[1]).output().unwrap();
            let text = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{command:?}: {text}");
            assert!(text.contains(expected.as_str()), "{command:?}: expected {expected:?} in {text:?}");
            assert!(!text.contains("panicked"), "{text}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
