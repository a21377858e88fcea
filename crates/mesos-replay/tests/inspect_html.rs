//! `mesos-replay inspect --html`: the page's data (the browser's side is
//! the root package's `tests/inspect_html.rs`, in headless Chromium).

use std::process::Command;

use serde_json::Value;
use test_support::expect;

const WALKTHROUGH: &str = "walkthrough/test13-20261124T230156.521Z.session.jsonl";

/// The JSON data of a page (gzipped, in base64).
fn data(page: &str) -> Value {
    use base64::Engine as _;
    use std::io::Read as _;
    let start = page.find("<script type=\"text/plain\" id=\"data\" data-encoding=\"gzip base64\">").unwrap();
    let rest = &page[start..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    let gz = base64::engine::general_purpose::STANDARD.decode(&rest[..rest.find("</script>").unwrap()]).unwrap();
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut json).unwrap();
    serde_json::from_slice(&json).unwrap()
}

fn draw(args: &[&str]) -> (std::process::Output, String) {
    let dir = test_support::temp_dir("inspect-html");
    let page = dir.join("out.html");
    let out = Command::new(env!("CARGO_BIN_EXE_mesos-replay"))
        .current_dir(expect::path("import"))
        .args(["inspect", "--html"])
        .arg(&page)
        .args(args)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&page).unwrap_or_default();
    std::fs::remove_dir_all(&dir).unwrap();
    (out, text)
}

#[test]
fn the_page_holds_the_entries_the_story_and_the_report() {
    let dir = test_support::temp_dir("inspect-html-report");
    let report = dir.join("report.json");
    // A divergence at the ACCEPT (line 7 of the file: seq 5).
    std::fs::write(
        &report,
        r#"{"session":"x/test13-20261124T230156.521Z.session.jsonl","divergences":[{"kind":"fields","type":"ACCEPT","line":7,"path":"$.accept.filters","message":"differs"},{"kind":"unexpected","type":"REVIVE","message":"not recorded"}]}"#,
    )
    .unwrap();
    let (out, page) = draw(&["--report", report.to_str().unwrap(), WALKTHROUGH]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("29 entries, 1 tasks, 2 offers drawn in"));
    let data = data(&page);
    assert_eq!(data["entries"]["seq"].as_array().unwrap().len(), 29);
    assert_eq!(data["entries"]["label"][7], "UPDATE TASK_STARTING");
    assert_eq!(data["entries"]["link"][6], 5, "the 202 answers the ACCEPT");
    let task = &data["tasks"][0];
    let states: Vec<&str> = task["updates"].as_array().unwrap().iter().map(|u| u["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["TASK_STARTING", "TASK_RUNNING", "TASK_KILLED"]);
    assert_eq!(task["updates"][2]["ack"], Value::Null, "TASK_KILLED was never acknowledged");
    assert_eq!(task["kills"][0], serde_json::json!([19, 202]));
    let outcomes: Vec<&str> =
        data["offers"].as_array().unwrap().iter().map(|o| o["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["accepted", "declined"]);
    assert_eq!(data["divergences"][0]["e"], 5);
    assert_eq!(data["divergences"][0]["text"], "fields: ACCEPT: $.accept.filters: differs");
    assert_eq!(data["divergences"][1]["e"], Value::Null);
    assert!(
        !page.contains("http://") && !page.contains("https://") && !page.contains("src="),
        "nothing from elsewhere"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn several_sessions_are_drawn_on_one_clock_and_bad_ones_named() {
    let real = test_support::fixture("sessions/real-master/walkthrough.session.jsonl");
    let (out, page) = draw(&[WALKTHROUGH, real.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let both = data(&page);
    assert_eq!(both["sessions"].as_array().unwrap().len(), 2);
    assert_eq!(both["entries"]["seq"].as_array().unwrap().len(), 58);
    // The walkthrough was recorded on 2026-11-24, the real master's on
    // 2026-12-05: every entry of the second comes after the first's.
    let rows = both["rows"]["entry"].as_array().unwrap();
    assert_eq!(rows.first().unwrap(), 0);
    assert!(both["entries"]["t"][29].as_f64().unwrap() > 900_000_000.0, "days later, in ms");

    // The gap the importer noted is on the page, at its place.
    let (out, page) = draw(&["gap/test13-20261124T230156.521Z.session.jsonl"]);
    assert!(out.status.success());
    let gap = data(&page);
    assert!(gap["notes"][0]["text"].as_str().unwrap().starts_with("gap in the capture: bytes 540..1685"));
    let e = gap["notes"][0]["e"].as_u64().unwrap() as usize;
    assert_eq!(gap["entries"]["kind"].as_str().unwrap().as_bytes()[e], b'n');
    assert_eq!(gap["entries"]["link"][e], 1, "it refers to the stream's answer");

    let dir = test_support::temp_dir("inspect-html-bad");
    let bad = dir.join("bad.session.jsonl");
    let mut text = std::fs::read_to_string(expect::path("import").join(WALKTHROUGH)).unwrap();
    text.push_str("{\"seq\":7,\"t_ns\":0,\"conn\":1,\"kind\":\"note\",\"message\":\"m\"}\n");
    std::fs::write(&bad, text).unwrap();
    let (out, page) = draw(&[WALKTHROUGH, bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(page.is_empty(), "no page written");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.session.jsonl: line 31: entries out of order: seq 7, expected 29"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// No input makes `--html`, `--summary` or a filter panic: the walkthrough's
/// session cut anywhere, or with a byte changed, is drawn, told and filtered,
/// or refused with an error.
#[test]
fn damaged_sessions_are_refused_or_drawn_never_a_panic() {
    use mesos_replay::inspect::filter::Filter;
    use mesos_replay::inspect::html::{SessionInput, write_html};
    use mesos_replay::inspect::{Style, inspect_with};
    let whole = std::fs::read(expect::path("import").join(WALKTHROUGH)).unwrap();
    let filter = Filter { agents: vec!["x".into()], tasks: vec!["00012".into()], ..Filter::default() };
    let mut variants: Vec<Vec<u8>> = (0..whole.len()).step_by(61).map(|cut| whole[..cut].to_vec()).collect();
    for at in (0..whole.len()).step_by(53) {
        for byte in [b'"', b'{', b'9', 0xff] {
            let mut changed = whole.clone();
            changed[at] = byte;
            variants.push(changed);
        }
    }
    for bytes in &variants {
        let _ = write_html(vec![SessionInput { name: "s".into(), input: &bytes[..] }], None, &mut Vec::new());
        let _ = inspect_with(&bytes[..], &mut Vec::new(), Style::Summary, &Filter::default(), None);
        let _ = inspect_with(&bytes[..], &mut Vec::new(), Style::Timeline { colour: false }, &filter, None);
    }
}
