//! `mesos-replay inspect --html` in a real browser: headless Chromium
//! (Debian's `chromium`, which `.ci/run` installs) loads the page of a
//! session recorded against a real Mesos 1.11.0 master
//! (`fixtures/sessions/real-master/`) and of a generated session of
//! 100 000 entries, from `file://`, runs its script, and the DOM it leaves
//! is checked: the entries counted, the sequence's rows, the task lanes, a
//! task's states in order. Each page and a screenshot of it are kept in
//! `target/inspect-html/` (CI keeps them as artifacts); the sizes and the
//! load times are printed (`--nocapture`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use mesos_codec::api::Encoding;
use mesos_codec::session::{EntryKind, Event, Header, Request, Response, Source, Summary, Writer};
use mesos_replay::inspect::html::{SessionInput, write_html};

fn out_dir() -> PathBuf {
    let dir = test_support::workspace().join("target/inspect-html");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn chromium() -> &'static str {
    let found = Command::new("chromium").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(found, "these tests need Chromium: apt-get install chromium (Debian's package; .ci/run installs it)");
    "chromium"
}

/// Chromium's arguments for a page: headless, no sandbox (CI runs as
/// root), a profile of its own, a large window.
fn browse(profile: &Path, args: &[&str], page: &Path, fragment: &str) -> std::process::Output {
    let url = format!("file://{}{fragment}", page.display());
    Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1600,1000"])
        // The page inflates its data asynchronously: the DOM is dumped, and
        // the screenshot taken, once nothing is left to run.
        .arg("--virtual-time-budget=60000")
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap()
}

/// The page's DOM after its script ran, and how long Chromium took; the
/// screenshot beside the page (`.png`), taken by the same run.
fn load(page: &Path, fragment: &str) -> (String, f64) {
    let profile = test_support::temp_dir("chromium");
    let shot = page.with_extension("png");
    let _ = std::fs::remove_file(&shot);
    let start = Instant::now();
    let out = browse(&profile, &["--dump-dom", &format!("--screenshot={}", shot.display())], page, fragment);
    let took = start.elapsed().as_secs_f64();
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && dom.contains("data-ready=\"1\""),
        "{}: {}",
        page.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shot.is_file(), "no screenshot: {}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&profile);
    (dom, took)
}

/// The value of `attribute` on the `<body>` element.
fn body_attribute(dom: &str, attribute: &str) -> String {
    let body = &dom[dom.find("<body").unwrap()..];
    let body = &body[..body.find('>').unwrap()];
    let key = format!("{attribute}=\"");
    let at = body.find(&key).unwrap_or_else(|| panic!("no {attribute} on {body}")) + key.len();
    body[at..at + body[at..].find('"').unwrap()].to_owned()
}

/// The `data-state`s of the lane of `task`, in DOM order.
fn states(dom: &str, task: &str) -> Vec<String> {
    let lane = format!("class=\"lane\" data-task=\"{task}\"");
    let Some(at) = dom.find(&lane) else { return Vec::new() };
    let rest = &dom[at + lane.len()..];
    let rest = &rest[..rest.find("class=\"lane\"").unwrap_or(rest.len())];
    rest.split("data-state=\"").skip(1).map(|s| s[..s.find('"').unwrap()].to_owned()).collect()
}

fn draw(name: &str, sessions: Vec<(String, Vec<u8>)>) -> PathBuf {
    let page = out_dir().join(format!("{name}.html"));
    let mut out = Vec::new();
    let inputs = sessions.into_iter().map(|(name, bytes)| SessionInput { name, input: std::io::Cursor::new(bytes) });
    let written = write_html(inputs.collect(), None, &mut out).unwrap();
    std::fs::write(&page, &out).unwrap();
    eprintln!(
        "{}: {} entries, {} tasks, {} offers, {} bytes",
        page.display(),
        written.entries,
        written.tasks,
        written.offers,
        written.bytes
    );
    page
}

#[test]
fn the_page_of_a_real_master_session_shows_its_lanes_and_entries() {
    let _turn = crate::support::one_at_a_time();
    let session = test_support::fixture("sessions/real-master/walkthrough.session.jsonl");
    let page =
        draw("real-master-walkthrough", vec![("walkthrough.session.jsonl".into(), std::fs::read(&session).unwrap())]);
    // Opened on entry 8, the TASK_STARTING update: its message is shown.
    let (dom, took) = load(&page, "#e=8");
    let entries = std::fs::read_to_string(&session).unwrap().lines().count() - 1;
    assert_eq!(body_attribute(&dom, "data-entries"), entries.to_string());
    assert_eq!(body_attribute(&dom, "data-tasks"), "1");
    assert_eq!(states(&dom, "00012"), ["TASK_STARTING", "TASK_RUNNING", "TASK_KILLED"]);
    assert!(dom.contains("class=\"row k-q toM\""), "the calls' rows are drawn");
    assert!(dom.contains("SUBSCRIBE"));
    assert!(dom.contains("data-agent="), "a lane per agent");
    let decoded = &dom[dom.find("id=\"decoded\"").unwrap()..];
    let decoded = &decoded[..decoded.find("</pre>").unwrap()];
    assert!(decoded.contains("\"state\": \"TASK_STARTING\""), "the entry's message: {decoded}");
    assert!(dom.contains("class=\"row k-e sel toF\""), "and its row selected");
    eprintln!(
        "{}: Chromium loaded it in {took:.2} s (the page's own count: {} ms to ready, script {} ms)",
        page.display(),
        body_attribute(&dom, "data-load-ms"),
        body_attribute(&dom, "data-script-ms")
    );
}

/// A session of `n` entries: a framework that takes one offer of two
/// (declining the other with a filter), launches a task on it (0.5 cpus),
/// acknowledges STARTING, RUNNING and FINISHED, kills every fifth task
/// instead (its TASK_KILLED left unacknowledged and sent again; the task
/// keeps its cpus) and hears heartbeats in between.
fn large_session(n: u64) -> Vec<u8> {
    let mut file = Header::new(Source::Proxy, "2026-12-05T10:00:00Z").to_line();
    let mut writer = Writer::new();
    let summary = |name: &str| Summary {
        name: Some(name.to_owned().into()),
        format: Some(Encoding::Json),
        framework_id: Some("big".into()),
    };
    let call = |name: &str, body: String| {
        EntryKind::Request(Request {
            method: "POST".into(),
            path: "/api/v1/scheduler".into(),
            body: body.into_bytes(),
            summary: summary(name),
            ..Request::default()
        })
    };
    let answer =
        |request: u64| EntryKind::Response(Response { request: Some(request), status: 202, ..Response::default() });
    let event = |name: &str, record: String| {
        EntryKind::Event(Event { stream: 1, record: record.into_bytes(), chunks: None, summary: summary(name) })
    };
    let mut t = 0u64;
    let written = std::cell::Cell::new(0u64);
    let mut push = |file: &mut Vec<u8>, kind: EntryKind, conn: u64| -> u64 {
        t += 7_000_000;
        let entry = writer.entry(t, conn, kind);
        file.extend(entry.to_line());
        written.set(entry.seq + 1);
        entry.seq
    };
    let subscribe = push(&mut file, call("SUBSCRIBE", r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"big","id":{"value":"big"}}},"framework_id":{"value":"big"}}"#.into()), 1);
    push(
        &mut file,
        EntryKind::Response(Response {
            request: Some(subscribe),
            status: 200,
            stream: true,
            format: Some(Encoding::Json),
            ..Response::default()
        }),
        1,
    );
    push(
        &mut file,
        event(
            "SUBSCRIBED",
            r#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"big"},"heartbeat_interval_seconds":15.0}}"#
                .into(),
        ),
        1,
    );
    let offer = |id: u64, agent: u64| {
        format!(
            r#"{{"id":{{"value":"O{id}"}},"framework_id":{{"value":"big"}},"agent_id":{{"value":"S{agent}"}},"hostname":"slave{agent}","resources":[{{"name":"cpus","type":"SCALAR","scalar":{{"value":2.0}},"role":"*"}},{{"name":"mem","type":"SCALAR","scalar":{{"value":996.0}},"role":"*"}}]}}"#
        )
    };
    let update = |task: u64, state: &str, uuid: u64| {
        format!(
            r#"{{"type":"UPDATE","update":{{"status":{{"task_id":{{"value":"task-{task}"}},"state":"{state}","agent_id":{{"value":"S{}"}},"uuid":"{}"}}}}}}"#,
            task % 2,
            uuid_b64(uuid)
        )
    };
    let ack = |task: u64, uuid: u64| {
        format!(
            r#"{{"type":"ACKNOWLEDGE","framework_id":{{"value":"big"}},"acknowledge":{{"agent_id":{{"value":"S{}"}},"task_id":{{"value":"task-{task}"}},"uuid":"{}"}}}}"#,
            task % 2,
            uuid_b64(uuid)
        )
    };
    let mut task = 0u64;
    let mut conn = 2u64;
    while written.get() < n - 30 {
        let (a, b) = (2 * task, 2 * task + 1);
        push(
            &mut file,
            event(
                "OFFERS",
                format!(
                    r#"{{"type":"OFFERS","offers":{{"offers":[{},{}]}}}}"#,
                    offer(a, task % 2),
                    offer(b, (task + 1) % 2)
                ),
            ),
            1,
        );
        let launch = format!(
            r#"{{"type":"ACCEPT","framework_id":{{"value":"big"}},"accept":{{"offer_ids":[{{"value":"O{a}"}}],"operations":[{{"type":"LAUNCH","launch":{{"task_infos":[{{"name":"t","task_id":{{"value":"task-{task}"}},"agent_id":{{"value":"S{}"}},"resources":[{{"name":"cpus","type":"SCALAR","scalar":{{"value":0.5}}}},{{"name":"mem","type":"SCALAR","scalar":{{"value":128.0}}}}],"command":{{"value":"sleep 30"}}}}]}}}}]}}}}"#,
            task % 2
        );
        let r = push(&mut file, call("ACCEPT", launch), conn);
        push(&mut file, answer(r), conn);
        let r = push(
            &mut file,
            call(
                "DECLINE",
                format!(
                    r#"{{"type":"DECLINE","framework_id":{{"value":"big"}},"decline":{{"offer_ids":[{{"value":"O{b}"}}],"filters":{{"refuse_seconds":5.0}}}}}}"#
                ),
            ),
            conn + 1,
        );
        push(&mut file, answer(r), conn + 1);
        for (i, state) in ["TASK_STARTING", "TASK_RUNNING"].into_iter().enumerate() {
            let uuid = task * 4 + i as u64;
            push(&mut file, event("UPDATE", update(task, state, uuid)), 1);
            let r = push(&mut file, call("ACKNOWLEDGE", ack(task, uuid)), conn + 2);
            push(&mut file, answer(r), conn + 2);
        }
        push(&mut file, event("HEARTBEAT", r#"{"type":"HEARTBEAT"}"#.into()), 1);
        push(&mut file, event("HEARTBEAT", r#"{"type":"HEARTBEAT"}"#.into()), 1);
        if !task.is_multiple_of(5) {
            push(&mut file, event("UPDATE", update(task, "TASK_FINISHED", task * 4 + 3)), 1);
            let r = push(&mut file, call("ACKNOWLEDGE", ack(task, task * 4 + 3)), conn + 2);
            push(&mut file, answer(r), conn + 2);
        }
        if task.is_multiple_of(5) {
            let kill = format!(
                r#"{{"type":"KILL","framework_id":{{"value":"big"}},"kill":{{"task_id":{{"value":"task-{task}"}},"agent_id":{{"value":"S{}"}}}}}}"#,
                task % 2
            );
            let r = push(&mut file, call("KILL", kill), conn + 3);
            push(&mut file, answer(r), conn + 3);
            push(&mut file, event("UPDATE", update(task, "TASK_KILLED", task * 4 + 2)), 1);
            push(&mut file, event("UPDATE", update(task, "TASK_KILLED", task * 4 + 2)), 1);
        }
        task += 1;
        conn += 4;
    }
    while written.get() < n {
        push(&mut file, event("HEARTBEAT", r#"{"type":"HEARTBEAT"}"#.into()), 1);
    }
    file
}

/// A status uuid: 16 bytes (8 zeros and `n`), in base64 as Mesos JSON has bytes.
fn uuid_b64(n: u64) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bytes = [0u8; 18];
    bytes[8..16].copy_from_slice(&n.to_be_bytes());
    let mut text: String = bytes
        .chunks(3)
        .flat_map(|c| {
            let v = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
            [18, 12, 6, 0].map(|shift| ALPHABET[(v >> shift & 63) as usize] as char)
        })
        .collect();
    text.truncate(22);
    text + "=="
}

#[test]
fn the_page_of_100_000_entries_loads_whole() {
    let _turn = crate::support::one_at_a_time();
    let start = Instant::now();
    let session = large_session(100_000);
    std::fs::write(out_dir().join("large.session.jsonl"), &session).unwrap();
    let generated = start.elapsed().as_secs_f64();
    let page = draw("large-100000", vec![("large.session.jsonl".into(), session)]);
    eprintln!("generated in {generated:.2} s, drawn in {:.2} s", start.elapsed().as_secs_f64() - generated);
    // Opened with a search for a task among them all.
    let (dom, took) = load(&page, "#q=task-4242");
    assert_eq!(body_attribute(&dom, "data-entries"), "100000");
    let results = &dom[dom.find("id=\"results\"").unwrap()..];
    let results = &results[..results.find("<main>").unwrap()];
    assert!(results.contains("task task-4242: STARTING → RUNNING → FINISHED"), "{results}");
    assert!(results.contains("ACCEPT framework=big offers=O8484 agents=S0 tasks=task-4242"), "{results}");
    let rows: usize = body_attribute(&dom, "data-rows").parse().unwrap();
    assert!(rows < 100_000, "heartbeats folded: {rows} rows");
    assert_eq!(states(&dom, "task-0"), ["TASK_STARTING", "TASK_RUNNING", "TASK_KILLED", "TASK_KILLED"]);
    assert_eq!(states(&dom, "task-1"), ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]);
    assert!(
        dom.contains("<td>12.5 %</td>"),
        "one task's 0.5 cpus at a time, of the 4 the agents offered: the dominant share"
    );
    let drawn_rows = dom.matches("class=\"row ").count();
    assert!((10..200).contains(&drawn_rows), "only the rows in view are in the DOM: {drawn_rows}");
    let drawn_lanes = dom.matches("class=\"lane\"").count();
    assert!((3..200).contains(&drawn_lanes), "only the lanes in view are in the DOM: {drawn_lanes}");
    eprintln!(
        "{}: {} bytes; Chromium loaded it in {took:.2} s (the page's own count: {} ms to ready, script {} ms)",
        page.display(),
        std::fs::metadata(&page).unwrap().len(),
        body_attribute(&dom, "data-load-ms"),
        body_attribute(&dom, "data-script-ms")
    );
}
