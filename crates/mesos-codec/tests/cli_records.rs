//! `mesos-codec records`, run as a user runs it: the real binary, real files
//! and pipes, exit statuses as DESIGN.md gives them.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mesos-codec"))
}

use test_support::fixture;

fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child =
        bin().args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // The command may exit (a usage error) before reading its input.
    let _ = child.stdin.take().unwrap().write_all(input);
    child.wait_with_output().unwrap()
}

fn lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn splits_the_seed_stream_into_its_events() {
    let out = bin().args(["records"]).arg(fixture("seed/events.recordio")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let records = lines(&out);
    assert_eq!(records.len(), 8);
    let subscribed = std::fs::read_to_string(fixture("seed/walkthrough/event-01-subscribed.json")).unwrap();
    assert_eq!(records[0]["offset"], 0);
    assert_eq!(records[0]["length"], subscribed.trim_end().len());
    assert_eq!(records[0]["data"], subscribed.trim_end());
    assert_eq!(records[3]["data"], r#"{"type":"HEARTBEAT"}"#);
    // Offsets chain: each record starts where the previous one ended.
    let stream = std::fs::read(fixture("seed/events.recordio")).unwrap();
    for r in &records {
        let at = r["offset"].as_u64().unwrap() as usize;
        let len = r["length"].as_u64().unwrap() as usize;
        let header = format!("{len}\n");
        assert_eq!(&stream[at..at + header.len()], header.as_bytes());
        assert_eq!(&stream[at + header.len()..at + header.len() + len], r["data"].as_str().unwrap().as_bytes());
    }
}

#[test]
fn reads_standard_input_with_and_without_dash() {
    for args in [&["records"][..], &["records", "-"]] {
        let out = run_stdin(args, b"6\nhello!0\n1\n 13\n13 characters");
        assert!(out.status.success());
        let data: Vec<_> = lines(&out).iter().map(|r| r["data"].as_str().unwrap().to_owned()).collect();
        assert_eq!(data, ["hello!", "", " ", "13 characters"]);
    }
}

#[test]
fn non_utf8_records_are_base64() {
    let out = run_stdin(&["records"], b"3\n\xff\x00a2\nok");
    assert!(out.status.success());
    let records = lines(&out);
    assert_eq!(records[0], serde_json::json!({"offset": 0, "length": 3, "data_b64": "/wBh"}));
    assert_eq!(records[1], serde_json::json!({"offset": 5, "length": 2, "data": "ok"}));
}

#[test]
fn bad_size_exits_1_naming_the_offset_after_printing_what_came_before() {
    let out = run_stdin(&["records"], b"2\nok0x10\nabc");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(lines(&out).len(), 1, "records before the error are kept");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("byte 5: invalid character 'x' in a record size"), "{stderr}");
    assert!(stderr.contains("standard input"), "{stderr}");
}

#[test]
fn truncated_stream_exits_1() {
    let out = run_stdin(&["records"], b"5\nabcde5\nfgh");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(lines(&out).len(), 1);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("byte 7: the stream ended inside a record: 3 of its 5 data bytes received"), "{stderr}");
}

#[test]
fn max_record_size_is_enforced() {
    let out = run_stdin(&["records", "--max-record-size", "4"], b"4\nfour5\nfive!");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(lines(&out).len(), 1);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("byte 6: record size of at least 5 bytes is over the maximum record size of 4 bytes"),
        "{stderr}"
    );
}

#[test]
fn missing_file_exits_1_and_bad_usage_exits_2() {
    let out = bin().args(["records", "/nonexistent/stream"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open /nonexistent/stream"));
    let out = bin().args(["records", "--max-record-size", "lots"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin().args(["no-such-command"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
