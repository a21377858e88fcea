//! `mesos-replay inspect`: the timeline, the decoded JSON lines, and bad
//! sessions.

use mesos_codec::api::Encoding;
use mesos_codec::json::{json_to_protobuf, message_type};
use mesos_codec::session::{Close, End, EntryKind, Event, Header, Party, Request, Response, Source, Summary, Writer};
use mesos_replay::inspect::{InspectError, Style, inspect};

use test_support::seed;

/// A short session: SUBSCRIBE, its stream (one JSON event, one protobuf
/// event), an ACCEPT, the stream's close and the end.
fn session() -> Vec<u8> {
    let mut writer = Writer::new();
    let mut file = Header::new(Source::Proxy, "2026-11-24T21:30:00Z").to_line();
    let json = |name: &str| Summary {
        name: Some(name.to_owned().into()),
        format: Some(Encoding::Json),
        framework_id: Some("test13".into()),
    };
    let kinds = vec![
        EntryKind::Request(Request {
            method: "POST".into(),
            path: "/api/v1/scheduler".into(),
            body: seed("01-register.json"),
            summary: json("SUBSCRIBE"),
            ..Request::default()
        }),
        EntryKind::Response(Response {
            request: Some(0),
            status: 200,
            stream: true,
            format: Some(Encoding::Json),
            ..Response::default()
        }),
        EntryKind::Event(Event {
            stream: 1,
            record: seed("event-02-offers.json").trim_ascii_end().to_vec(),
            chunks: Some(vec![100, 1127]),
            summary: json("OFFERS"),
        }),
        EntryKind::Event(Event {
            stream: 1,
            record: json_to_protobuf(message_type("scheduler.Event").unwrap(), &seed("event-04-heartbeat.json"))
                .unwrap(),
            chunks: None,
            summary: Summary { name: Some("HEARTBEAT".into()), format: Some(Encoding::Protobuf), framework_id: None },
        }),
        EntryKind::Request(Request {
            method: "POST".into(),
            path: "/api/v1/scheduler".into(),
            body: seed("07-kill_task.json"),
            summary: json("KILL"),
            ..Request::default()
        }),
        EntryKind::Response(Response {
            request: Some(4),
            status: 400,
            body: b"Framework cannot be found".to_vec(),
            ..Response::default()
        }),
        EntryKind::Close(Close { stream: Some(1), by: Party::Master, reason: None }),
        EntryKind::End(End { entries: 7, complete: true }),
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        file.extend(writer.entry(i as u64 * 250_000_000, 1, kind).to_line());
    }
    file
}

fn run(input: &[u8], style: Style) -> (String, mesos_replay::inspect::Summary) {
    let mut out = Vec::new();
    let summary = inspect(input, &mut out, style).unwrap();
    (String::from_utf8(out).unwrap(), summary)
}

#[test]
fn timeline_shows_time_direction_type_ids_and_status() {
    let (text, summary) = run(&session(), Style::Timeline { colour: false });
    assert_eq!(summary.entries, 8);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "     0.000000  #0  conn 1  →  SUBSCRIBE  framework=test13");
    assert_eq!(lines[1], "     0.250000  #1  conn 1  ←  200  (event stream)");
    assert_eq!(
        lines[2],
        "     0.500000  #2  conn 1  ⇐  OFFERS  framework=test13 offers=b5e0c23f-237e-4398-816f-ad1a4aa7d3f3-O4,b5e0c23f-237e-4398-816f-ad1a4aa7d3f3-O5 agents=b5e0c23f-237e-4398-816f-ad1a4aa7d3f3-S1,b5e0c23f-237e-4398-816f-ad1a4aa7d3f3-S0  chunks=[100, 1127]"
    );
    assert_eq!(lines[3], "     0.750000  #3  conn 1  ⇐  HEARTBEAT");
    assert!(
        lines[4].ends_with("→  KILL  framework=test13 agents=b5e0c23f-237e-4398-816f-ad1a4aa7d3f3-S1 tasks=00020"),
        "{}",
        lines[4]
    );
    assert_eq!(lines[5], "     1.250000  #5  conn 1  ←  400  Framework cannot be found");
    assert_eq!(lines[6], "     1.500000  #6  conn 1  ×  stream closed by master");
    assert_eq!(lines[7], "     1.750000  #7  conn 1  ■  end of session (7 entries, complete)");
}

#[test]
fn colours_only_when_asked() {
    let (plain, _) = run(&session(), Style::Timeline { colour: false });
    assert!(!plain.contains('\x1b'));
    let (coloured, _) = run(&session(), Style::Timeline { colour: true });
    assert!(coloured.contains("\x1b[36;1mSUBSCRIBE\x1b[0m"));
    assert!(coloured.contains("\x1b[31;1m400\x1b[0m"));
}

#[test]
fn json_lines_carry_every_entry_with_its_message_decoded() {
    let (text, _) = run(&session(), Style::Json);
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 8);
    assert_eq!(lines[0]["kind"], "request");
    assert_eq!(lines[0]["message"]["subscribe"]["framework_info"]["user"], "root");
    // The protobuf record (bytes 08 08, which happen to be UTF-8), decoded to Mesos JSON.
    assert_eq!(lines[3]["format"], "protobuf");
    assert_eq!(lines[3]["record"], "\u{8}\u{8}");
    assert_eq!(lines[3]["message"], serde_json::json!({"type": "HEARTBEAT"}));
    assert_eq!(lines[2]["message"]["offers"]["offers"][1]["hostname"], "slave0");
    assert!(lines[5].get("message").is_none(), "a 400's text body is not a message");
}

#[test]
fn bad_sessions_name_the_line() {
    let mut file = session();
    file.extend_from_slice(b"{\"seq\":99,\"t_ns\":0,\"conn\":1,\"kind\":\"note\",\"message\":\"m\"}\n");
    let err = inspect(&file[..], &mut Vec::new(), Style::Json).unwrap_err();
    assert!(matches!(err, InspectError::Read(mesos_replay::messages::ReadError::Session(_))));
    assert_eq!(err.to_string(), "line 10: entries out of order: seq 99, expected 8");
}

#[test]
fn a_torn_last_line_is_reported_after_everything_before_it() {
    let mut file = session();
    file.extend_from_slice(b"{\"seq\":8,\"t_ns\":");
    let (text, summary) = run(&file, Style::Timeline { colour: false });
    assert_eq!(text.lines().count(), 8);
    assert_eq!(summary.torn.map(|t| t.line), Some(10));
}

#[test]
fn the_command_prints_the_timeline_and_exits_1_naming_the_line_of_a_bad_session() {
    let dir = std::env::temp_dir().join(format!("mesos-tape-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.session.jsonl");
    std::fs::write(&good, session()).unwrap();
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_mesos-replay")).arg("inspect").arg(&good).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 8);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mesos-replay"))
        .args(["inspect", "--json"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 8);

    let mut torn = session();
    torn.extend_from_slice(b"{\"seq\":8,");
    let torn_path = dir.join("torn.session.jsonl");
    std::fs::write(&torn_path, torn).unwrap();
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_mesos-replay")).arg("inspect").arg(&torn_path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 8, "everything before the torn line is printed");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 10: torn last line"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let garbage = dir.join("garbage.session.jsonl");
    std::fs::write(&garbage, b"not a session\n").unwrap();
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_mesos-replay")).arg("inspect").arg(&garbage).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 1: not JSON"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 18: an empty file (a recorder that could not write anything) was
/// inspected as an empty session, exit 0.
#[test]
fn an_empty_file_is_not_a_session() {
    let mut out = Vec::new();
    let err = mesos_replay::inspect::inspect(&b""[..], &mut out, Style::Json).unwrap_err();
    assert!(err.to_string().contains("no header line"), "{err}");
}
