//! `mesos-replay inspect`'s filters, `--summary` and `--follow`, on the
//! walkthrough's session (imported from its capture, of the simulated
//! master) and on one recorded through the proxy in front of a real Mesos
//! 1.11.0 master (`fixtures/sessions/real-master/`, see
//! `fixtures/README.md`), against `fixtures/expect/inspect/*.filters.txt`.
//! `UPDATE_EXPECT=1 cargo test -p mesos-replay --test tests -- inspect_filters::`
//! rewrites them.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use test_support::expect::{self, assert_eq_file};

const WALKTHROUGH: &str = "walkthrough/test13-20261124T230156.521Z.session.jsonl";
const REAL: &str = "real-master/walkthrough.session.jsonl";

fn replay() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mesos-replay"))
}

/// Each command's line, exit status, stdout and stderr, run in `dir`.
fn transcript(dir: &Path, commands: &[&[&str]]) -> String {
    let mut text = String::new();
    for args in commands {
        let output = replay().current_dir(dir).arg("inspect").args(*args).output().unwrap();
        text.push_str(&format!(
            "$ mesos-replay inspect {}\nexit status: {}\n{}{}\n",
            args.join(" "),
            output.status.code().unwrap(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        ));
    }
    text
}

#[test]
fn filters_and_summary_of_the_walkthrough() {
    let o1 = "238275bc-38fc-4e91-9aa9-3731cb192414-O1";
    let s1 = "238275bc-38fc-4e91-9aa9-3731cb192414-S1";
    let text = transcript(
        &expect::path("import"),
        &[
            &["--summary", WALKTHROUGH],
            &["--task", "00012", "--type", "update", WALKTHROUGH],
            &["--offer", o1, WALKTHROUGH],
            &["--agent", s1, WALKTHROUGH],
            &["--framework", "test13", "--type", "ACCEPT", "--type", "KILL", WALKTHROUGH],
            &["--since", "0.06", "--until", "0.07s", WALKTHROUGH],
            &["--since", "2026-11-24T23:01:56.600Z", WALKTHROUGH],
            &["--summary", "--task", "00012", "--until", "0.06", WALKTHROUGH],
            &["--json", "--type", "KILL", WALKTHROUGH],
            &["--task", "no-such-task", WALKTHROUGH],
            &["--since", "yesterday", WALKTHROUGH],
            &["--summary", "--type", "UPDATE", WALKTHROUGH],
        ],
    );
    assert_eq_file(&expect::path("inspect/walkthrough.filters.txt"), &text);
}

#[test]
fn filters_and_summary_of_a_session_recorded_against_the_real_master() {
    let dir = test_support::fixture("sessions");
    let session = dir.join(REAL);
    let text = std::fs::read_to_string(&session).unwrap();
    // The ids the real master chose, read from the session.
    let find = |key: &str| -> String {
        let at = text.find(key).unwrap_or_else(|| panic!("{key} not in {}", session.display()));
        let rest = &text[at + key.len()..];
        rest[..rest.find("\\\"").unwrap()].to_owned()
    };
    let offer = find(r#"\"offer_ids\":[{\"value\":\""#);
    let agent = find(r#"\"agent_id\":{\"value\":\""#);
    let text = transcript(
        &dir,
        &[
            &["--summary", REAL],
            &["--task", "00012", REAL],
            &["--offer", &offer, REAL],
            &["--agent", &agent, "--type", "UPDATE", REAL],
            &["--type", "ACKNOWLEDGE", REAL],
            &["--until", "1", REAL],
        ],
    );
    assert_eq_file(&expect::path("inspect/real-master-walkthrough.filters.txt"), &text);
}

/// `--follow` prints what is written so far, waits, and goes on with what
/// is appended (a line torn mid-write included) until the end entry.
#[test]
fn follow_reads_a_session_while_it_is_written() {
    let whole = std::fs::read(expect::path("import").join(WALKTHROUGH)).unwrap();
    let dir = test_support::temp_dir("inspect-follow");
    let path = dir.join("growing.session.jsonl");
    // The header and 10 entries, and half of the 12th line.
    let cut = whole.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(10).unwrap().0 + 1;
    let torn = cut + 40;
    std::fs::write(&path, &whole[..torn]).unwrap();
    let mut child = replay().args(["inspect", "--follow"]).arg(&path).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for _ in 0..10 {
        seen.push(lines.next().unwrap().unwrap());
    }
    // Only now, with the first ten printed, the rest comes.
    let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(&whole[torn..]).unwrap();
    drop(file);
    seen.extend(lines.map(Result::unwrap));
    assert!(child.wait().unwrap().success(), "it stops by itself at the end entry");
    let all = replay().args(["inspect"]).arg(&path).output().unwrap();
    assert_eq!(seen.join("\n") + "\n", String::from_utf8(all.stdout).unwrap());
    assert_eq!(seen.len(), 29);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--follow` goes on into the next part when the recorder cuts the
/// session (`--rotate-size`/`--rotate-age`): the next part's header names
/// the one before it.
#[test]
fn follow_reads_on_into_the_next_part_of_a_rotated_session() {
    let whole = std::fs::read(expect::path("import").join(WALKTHROUGH)).unwrap();
    let dir = test_support::temp_dir("inspect-follow-parts");
    let (first, second) = ("f1-20261124T213000.000Z.session.jsonl", "f1-20261124T220000.000Z.session.jsonl");
    let header_end = whole.iter().position(|&b| b == b'\n').unwrap();
    let cut = whole.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(10).unwrap().0 + 1;
    std::fs::write(dir.join(first), &whole[..cut]).unwrap();
    // Should it never see the next part, it would wait for ever: coreutils'
    // `timeout` stops it after 30 s, and the test fails instead of hanging.
    let mut child = std::process::Command::new("timeout")
        .arg("30")
        .arg(env!("CARGO_BIN_EXE_mesos-replay"))
        .args(["inspect", "--follow"])
        .arg(dir.join(first))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for _ in 0..10 {
        seen.push(lines.next().unwrap().unwrap());
    }
    // The recorder cuts the session: the rest goes to a part of its own.
    let header = &whole[..header_end - 1]; // without its closing brace
    let mut part = header.to_vec();
    part.extend_from_slice(format!(",\"part\":2,\"previous\":\"{first}\"}}\n").as_bytes());
    part.extend_from_slice(&whole[cut..]);
    std::fs::write(dir.join(second), &part).unwrap();
    seen.extend(lines.map(Result::unwrap));
    assert!(child.wait().unwrap().success(), "it stops by itself at the end entry");
    std::fs::write(dir.join("whole.session.jsonl"), &whole).unwrap();
    let all = replay().args(["inspect"]).arg(dir.join("whole.session.jsonl")).output().unwrap();
    assert_eq!(seen.join("\n") + "\n", String::from_utf8(all.stdout).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn follow_takes_one_session_and_html_takes_no_filters() {
    let dir = expect::path("import");
    let out = replay().current_dir(&dir).args(["inspect", "--follow", WALKTHROUGH, WALKTHROUGH]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--follow follows one session, not 2"));
    let out =
        replay().current_dir(&dir).args(["inspect", "--html", "x.html", "--task", "t", WALKTHROUGH]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(!dir.join("x.html").exists());
}

/// Two frameworks that chose the same task id: two tasks, each with its own
/// updates and acknowledgements.
#[test]
fn tasks_are_told_per_framework() {
    let line = |s: &str| format!("{s}\n");
    let call = |seq: u64, conn: u64, name: &str, framework: &str, body: &str| {
        let t = seq * 1000;
        let body = serde_json::to_string(body).unwrap();
        line(&format!(
            r#"{{"seq":{seq},"t_ns":{t},"conn":{conn},"kind":"request","method":"POST","path":"/api/v1/scheduler","headers":[],"body":{body},"call":"{name}","format":"json","framework_id":"{framework}"}}"#
        ))
    };
    let answer = |seq: u64, conn: u64, request: u64, status: u16, stream: bool| {
        let t = seq * 1000;
        line(&format!(
            r#"{{"seq":{seq},"t_ns":{t},"conn":{conn},"kind":"response","request":{request},"status":{status},"headers":[],"stream":{stream}}}"#
        ))
    };
    let update = |seq: u64, stream: u64, state: &str, uuid: &str| {
        let t = seq * 1000;
        let record = serde_json::to_string(&format!(
            r#"{{"type":"UPDATE","update":{{"status":{{"task_id":{{"value":"t1"}},"state":"{state}","uuid":"{uuid}"}}}}}}"#
        ))
        .unwrap();
        line(&format!(
            r#"{{"seq":{seq},"t_ns":{t},"conn":{stream},"kind":"event","stream":{stream},"record":{record},"event":"UPDATE","format":"json"}}"#
        ))
    };
    let subscribe = |f: &str| {
        format!(
            r#"{{"type":"SUBSCRIBE","framework_id":{{"value":"{f}"}},"subscribe":{{"framework_info":{{"user":"u","name":"{f}","id":{{"value":"{f}"}}}}}}}}"#
        )
    };
    let session = [
        line(r#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"proxy","started_at":"2026-12-05T10:00:00Z"}"#),
        call(0, 1, "SUBSCRIBE", "f1", &subscribe("f1")),
        answer(1, 1, 0, 200, true),
        call(2, 3, "SUBSCRIBE", "f2", &subscribe("f2")),
        answer(3, 3, 2, 200, true),
        update(4, 1, "TASK_RUNNING", "AAAA"),
        update(5, 3, "TASK_FAILED", "BBBB"),
        call(6, 5, "ACKNOWLEDGE", "f1", r#"{"type":"ACKNOWLEDGE","framework_id":{"value":"f1"},"acknowledge":{"agent_id":{"value":"S0"},"task_id":{"value":"t1"},"uuid":"AAAA"}}"#),
        answer(7, 5, 6, 202, false),
    ]
    .concat();
    let mut out = Vec::new();
    let style = mesos_replay::inspect::Style::Summary;
    let filter = mesos_replay::inspect::filter::Filter::default();
    mesos_replay::inspect::inspect_with(session.as_bytes(), &mut out, style, &filter, None).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("  t1 of f1: TASK_RUNNING 0.000 #4 (acked 0.000, 202)\n"), "{text}");
    assert!(text.contains("  t1 of f2: TASK_FAILED 0.000 #5 (not acked)\n"), "{text}");
    assert!(text.contains("unacknowledged updates: 1\n  t1 of f2 TASK_FAILED uuid=BBBB sent 0.000 #5\n"), "{text}");
}
