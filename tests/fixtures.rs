//! The checked-in fixtures agree with what `cargo xtask fixtures` builds from
//! their sources (see fixtures/README.md); a drift fails here.

use std::path::PathBuf;

use bytes::BytesMut;
use mesos_codec::recordio;

fn fixtures() -> PathBuf {
    test_support::workspace().join("fixtures")
}

#[test]
fn seed_event_stream_is_built_from_the_walkthrough_events() {
    let walkthrough = fixtures().join("seed/walkthrough");
    let mut events: Vec<PathBuf> = std::fs::read_dir(&walkthrough)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("event-"))
        .collect();
    events.sort();
    assert_eq!(events.len(), 8, "the article shows eight events");
    let mut expected = BytesMut::new();
    for path in &events {
        recordio::encode_into(std::fs::read(path).unwrap().trim_ascii_end(), &mut expected);
    }
    let stream = std::fs::read(fixtures().join("seed/events.recordio")).unwrap();
    assert!(stream == expected, "fixtures/seed/events.recordio is stale: run `cargo xtask fixtures`");
}

#[test]
fn seed_walkthrough_holds_the_articles_json_files() {
    let names: Vec<String> = {
        let mut v: Vec<String> = std::fs::read_dir(fixtures().join("seed/walkthrough"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    for call in [
        "01-register",
        "02-launch_task",
        "03-acknowledge",
        "05-decline",
        "06.1-launch_task_merged_offers",
        "06.2-decline_three_offers",
        "07-kill_task",
        "08-teardown",
    ] {
        assert!(names.contains(&format!("{call}.json")), "missing {call}.json");
    }
    // Every file is JSON, as printed in the article.
    for name in names {
        let text = std::fs::read(fixtures().join("seed/walkthrough").join(&name)).unwrap();
        assert!(text.first() == Some(&b'{'), "{name} is not a JSON object");
    }
}
