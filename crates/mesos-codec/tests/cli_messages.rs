//! `mesos-codec decode` and `encode`, run as a user runs them.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mesos-codec"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The command may exit (a usage error) before reading its input.
    let _ = child.stdin.take().unwrap().write_all(input);
    child.wait_with_output().unwrap()
}

use test_support::seed;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn encode_to_protobuf_then_decode_gives_mesos_json() {
    let pb = run(&["encode", "--type", "scheduler.Call", "--format", "protobuf"], &seed("07-kill_task.json"));
    assert!(pb.status.success(), "{}", stderr(&pb));
    let json = run(&["decode", "--type", "scheduler.Call"], &pb.stdout);
    assert!(json.status.success(), "{}", stderr(&json));
    assert_eq!(
        String::from_utf8(json.stdout).unwrap(),
        "{\"framework_id\":{\"value\":\"test13\"},\"type\":\"KILL\",\"kill\":{\"task_id\":{\"value\":\"00020\"},\"agent_id\":{\"value\":\"b5e0c23f-237e-4398-816f-ad1a4aa7d3f3-S1\"}}}\n"
    );
    // --format protobuf forces the input encoding.
    let forced = run(&["decode", "--type", "scheduler.Call", "--format", "protobuf"], &pb.stdout);
    assert!(forced.status.success());
}

#[test]
fn decode_reads_json_too_and_normalizes_it() {
    let out = run(&["decode", "--type", "mesos.v1.Filters"], b"{}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "{\"refuse_seconds\":5.0}\n");
}

#[test]
fn recordio_streams_both_ways() {
    let stream = std::fs::read(format!("{}/../../fixtures/seed/events.recordio", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let json_lines = run(&["decode", "--type", "scheduler.Event", "--recordio"], &stream);
    assert!(json_lines.status.success(), "{}", stderr(&json_lines));
    let text = String::from_utf8(json_lines.stdout.clone()).unwrap();
    let types: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types, ["SUBSCRIBED", "OFFERS", "UPDATE", "HEARTBEAT", "OFFERS", "OFFERS", "OFFERS", "UPDATE"]);
    // JSON lines → a protobuf RecordIO stream → the same JSON lines.
    let pb_stream =
        run(&["encode", "--type", "scheduler.Event", "--format", "protobuf", "--recordio"], &json_lines.stdout);
    assert!(pb_stream.status.success(), "{}", stderr(&pb_stream));
    let again = run(&["decode", "--type", "scheduler.Event", "--recordio"], &pb_stream.stdout);
    assert_eq!(again.stdout, json_lines.stdout);
}

#[test]
fn encode_accepts_one_pretty_document() {
    let out = run(&["encode", "--type", "FrameworkID", "--format", "json"], b"{\n  \"value\": \"x\"\n}\n");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "{\"value\":\"x\"}\n");
}

#[test]
fn several_protobuf_messages_need_recordio() {
    let out =
        run(&["encode", "--type", "FrameworkID", "--format", "protobuf"], b"{\"value\":\"a\"}\n{\"value\":\"b\"}\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("add --recordio"), "{}", stderr(&out));
}

#[test]
fn bad_json_exits_1_with_the_path() {
    let out = run(
        &["encode", "--type", "scheduler.Call", "--format", "protobuf", "--recordio"],
        b"{\"type\":\"KILL\"}\n{\"type\":\"KILL\",\"kill\":{\"task_id\":{}}}\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("message 1: bad JSON at line 2, column 35: kill.task_id: missing required fields: value"),
        "{err}"
    );
}

#[test]
fn bad_protobuf_exits_1_with_the_offset() {
    let out =
        run(&["decode", "--type", "scheduler.Event", "--format", "protobuf"], &[0x08, 0x01, 0x12, 0x05, 0x0a, 0x03]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("bad protobuf: byte 2, (top level): truncated message"), "{}", stderr(&out));
    // Value.type (required) = 99, a number Value.Type does not define: proto2
    // leaves the field unset, so the required field is missing.
    let out = run(&["decode", "--type", "mesos.v1.Value", "--format", "protobuf"], &[0x08, 99]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("byte 0, (top level): missing required field"), "{}", stderr(&out));
}

#[test]
fn bad_record_in_a_stream_names_the_record_after_printing_the_good_ones() {
    let mut stream = Vec::new();
    stream.extend_from_slice(b"20\n{\"type\":\"HEARTBEAT\"}");
    stream.extend_from_slice(b"10\n{\"type\":1}");
    let out = run(&["decode", "--type", "scheduler.Event", "--recordio"], &stream);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "{\"type\":\"HEARTBEAT\"}\n");
    assert!(stderr(&out).contains("record 1 (byte 23): bad JSON: type: enums are read as names"), "{}", stderr(&out));
}

#[test]
fn unknown_protobuf_fields_warn_on_stderr() {
    let out = run(&["decode", "--type", "scheduler.Event", "--format", "protobuf"], &[0x08, 0x08, 0xb8, 0x3e, 0x07]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("unknown field number 999"), "{}", stderr(&out));
}

#[test]
fn unknown_type_exits_1_and_missing_format_exits_2() {
    let out = run(&["decode", "--type", "scheduler.Nope"], b"{}");
    assert_eq!(out.status.code(), Some(1));
    let out = run(&["encode", "--type", "scheduler.Call"], b"{}");
    assert_eq!(out.status.code(), Some(2));
}
