//! `mesos-proxy record`'s TLS flags with files that cannot be used: exit
//! status 1 and a message naming the flag, the file and what is wrong with
//! it (no panic); flags missing their other half are usage errors (2).
//! The TLS traffic itself is tested across the crates in `tests/tls.rs`.

use std::path::Path;
use std::process::{Command, Output};

fn record(dir: &Path, master: &str, args: &[&Path], flags: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mesos-proxy"));
    command.args(["record", "--listen", "127.0.0.1:0", "--master", master, "--out"]).arg(dir.join("out"));
    for (flag, file) in flags.iter().zip(args) {
        command.arg(flag).arg(file);
    }
    command.output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn bad_certificate_and_key_files_exit_1_naming_the_file() {
    let dir = test_support::temp_dir("bad");
    let (cert, key) = test_support::self_signed(&dir, "server");
    let (_, other_key) = test_support::self_signed(&dir, "other");
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n").unwrap();
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let missing = dir.join("missing.pem");
    let master = "http://127.0.0.1:1";
    let listener = ["--tls-cert", "--tls-key"];
    let cases: Vec<(&str, Vec<&Path>, &[&str], String)> = vec![
        (master, vec![&missing, &key], &listener, format!("--tls-cert {}: cannot read it", missing.display())),
        (master, vec![&empty, &key], &listener, format!("--tls-cert {}: no certificate in it", empty.display())),
        (master, vec![&garbage, &key], &listener, format!("--tls-cert {}: not a readable PEM", garbage.display())),
        (master, vec![&cert, &cert], &listener, format!("--tls-key {}: no private key in it", cert.display())),
        (master, vec![&cert, &other_key], &listener, format!("--tls-key {}: not the key of", other_key.display())),
        (
            master,
            vec![&cert, &key, &empty],
            &["--tls-cert", "--tls-key", "--tls-client-ca"],
            format!("--tls-client-ca {}: no certificate in it", empty.display()),
        ),
        ("https://localhost:1", vec![&garbage], &["--master-ca"], format!("--master-ca {}", garbage.display())),
        (
            "https://localhost:1",
            vec![&cert, &other_key],
            &["--master-cert", "--master-key"],
            format!("--master-key {}: not the key of", other_key.display()),
        ),
        (master, vec![&cert], &["--master-ca"], "are for an https:// --master".to_owned()),
    ];
    for (master, files, flags, expected) in cases {
        let output = record(&dir, master, &files, flags);
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{flags:?} {files:?}: {text}");
        assert!(text.contains(&expected), "{flags:?} {files:?}: expected {expected:?} in {text:?}");
        assert!(!text.contains("panicked"), "{text}");
        assert!(output.stdout.is_empty(), "nothing listens: {}", String::from_utf8_lossy(&output.stdout));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn half_of_a_pair_is_a_usage_error() {
    let dir = test_support::temp_dir("usage");
    let (cert, key) = test_support::self_signed(&dir, "server");
    for (flags, files) in [
        (&["--tls-cert"][..], vec![cert.as_path()]),
        (&["--tls-key"], vec![key.as_path()]),
        (&["--tls-client-ca"], vec![cert.as_path()]),
        (&["--master-cert"], vec![cert.as_path()]),
        (&["--master-key"], vec![key.as_path()]),
    ] {
        let output = record(&dir, "https://localhost:1", &files, flags);
        assert_eq!(output.status.code(), Some(2), "{flags:?}: {}", stderr(&output));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn plain_http_to_the_tls_listener_is_answered_400_and_logged() {
    use std::io::{BufRead, Read, Write};
    let dir = test_support::temp_dir("start");
    let (cert, key) = test_support::self_signed(&dir, "server");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mesos-proxy"))
        .args(["record", "--listen", "127.0.0.1:0", "--master", "https://localhost:1", "--out"])
        .arg(dir.join("out"))
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg("--master-ca")
        .arg(&cert)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on ").expect("the listening line").to_owned();
    let mut socket = std::net::TcpStream::connect(&addr).unwrap();
    socket.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    socket.write_all(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).unwrap();
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = child.wait().unwrap();
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
    assert!(answer.contains("Connection: close\r\n"), "{answer}");
    assert!(
        answer.ends_with(
            "mesos-proxy: the plain HTTP request was sent to an HTTPS port: this port speaks TLS only (use https://)\n"
        ),
        "{answer}"
    );
    assert!(log.contains("WARN") && log.contains("plain HTTP request on the TLS listener"), "{log}");
    assert_eq!(status.code(), Some(0), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}
