//! The session log format: every kind of entry round trips byte for byte,
//! a reader follows a growing file, a torn last line is reported and never
//! fatal, and bad files are refused naming the line.

use mesos_codec::api::Encoding;
use mesos_codec::session::{
    Close, End, Entry, EntryKind, Event, Header, Item, Note, Party, Reader, Request, Response, SessionError, Source,
    Summary, TornLine, Writer,
};

fn sample() -> (Header, Vec<Entry>, Vec<u8>) {
    let mut header = Header::new(Source::Proxy, "2026-11-24T21:30:00.123456789Z");
    header.master = Some("http://127.0.0.1:5050".into());
    let mut writer = Writer::new();
    let subscribe =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/seed/walkthrough/01-register.json"))
            .unwrap();
    let kinds = vec![
        EntryKind::Request(Request {
            method: "POST".into(),
            path: "/api/v1/scheduler".into(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Accept".into(), "application/json".into()),
            ],
            body: subscribe,
            summary: Summary {
                name: Some("SUBSCRIBE".into()),
                format: Some(Encoding::Json),
                framework_id: Some("test13".into()),
            },
        }),
        EntryKind::Response(Response {
            request: Some(0),
            status: 200,
            headers: vec![("Mesos-Stream-Id".into(), "b3a3e239-f0ad-43d3-b635-1c1d9c66566b".into())],
            body: Vec::new(),
            stream: true,
            format: Some(Encoding::Json),
        }),
        EntryKind::Event(Event {
            stream: 1,
            record: br#"{"type":"HEARTBEAT"}"#.to_vec(),
            chunks: None,
            summary: Summary { name: Some("HEARTBEAT".into()), format: Some(Encoding::Json), framework_id: None },
        }),
        // A protobuf record (not UTF-8) that came in three chunks.
        EntryKind::Event(Event {
            stream: 1,
            record: vec![0x08, 0x08, 0xff, 0x00],
            chunks: Some(vec![1, 2, 1]),
            summary: Summary { name: Some("HEARTBEAT".into()), format: Some(Encoding::Protobuf), framework_id: None },
        }),
        EntryKind::Note(Note {
            message: "malformed RecordIO from the master at byte 7".into(),
            refers: Some(3),
            incomplete: false,
        }),
        EntryKind::Close(Close { stream: Some(1), by: Party::Master, reason: Some("end of stream".into()) }),
        EntryKind::End(End { entries: 6, complete: true }),
    ];
    let entries: Vec<Entry> = kinds.into_iter().enumerate().map(|(i, k)| writer.entry(i as u64 * 1000, 1, k)).collect();
    let mut file = header.to_line();
    for e in &entries {
        file.extend(e.to_line());
    }
    (header, entries, file)
}

fn read_all(bytes: &[u8]) -> (Vec<Item>, Result<(), SessionError>, Option<TornLine>) {
    let mut reader = Reader::new();
    reader.push(bytes);
    let mut items = Vec::new();
    loop {
        match reader.next_item() {
            Ok(Some(item)) => items.push(item),
            Ok(None) => break,
            Err(e) => return (items, Err(e), None),
        }
    }
    let torn = reader.finish();
    (items, Ok(()), torn)
}

#[test]
fn every_kind_round_trips() {
    let (header, entries, file) = sample();
    let (items, result, torn) = read_all(&file);
    assert_eq!(result, Ok(()));
    assert_eq!(torn, None);
    assert_eq!(items[0], Item::Header(header));
    let read: Vec<Entry> = items[1..]
        .iter()
        .map(|i| match i {
            Item::Entry(e) => e.clone(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(read, entries);
    // And the lines read back are the lines written, byte for byte.
    let mut again = match &items[0] {
        Item::Header(h) => h.to_line(),
        _ => panic!(),
    };
    for e in &read {
        again.extend(e.to_line());
    }
    assert_eq!(again, file);
}

#[test]
fn lines_look_as_documented() {
    let (_, _, file) = sample();
    let text = String::from_utf8(file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with(r#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"proxy","master":"http://127.0.0.1:5050","started_at":"2026-11-24T21:30:00.123456789Z","tool":"mesos-tape "#), "{}", lines[0]);
    assert!(lines[1].starts_with(r#"{"seq":0,"t_ns":0,"conn":1,"kind":"request","method":"POST","path":"/api/v1/scheduler","headers":[["Content-Type","application/json"],["Accept","application/json"]],"body":"{ \"framework_id\""#), "{}", lines[1]);
    assert!(lines[1].ends_with(r#","call":"SUBSCRIBE","format":"json","framework_id":"test13"}"#), "{}", lines[1]);
    assert_eq!(
        lines[2],
        r#"{"seq":1,"t_ns":1000,"conn":1,"kind":"response","request":0,"status":200,"headers":[["Mesos-Stream-Id","b3a3e239-f0ad-43d3-b635-1c1d9c66566b"]],"stream":true,"format":"json"}"#
    );
    assert_eq!(
        lines[3],
        r#"{"seq":2,"t_ns":2000,"conn":1,"kind":"event","stream":1,"record":"{\"type\":\"HEARTBEAT\"}","event":"HEARTBEAT","format":"json"}"#
    );
    assert_eq!(
        lines[4],
        r#"{"seq":3,"t_ns":3000,"conn":1,"kind":"event","stream":1,"record_b64":"CAj/AA==","chunks":[1,2,1],"event":"HEARTBEAT","format":"protobuf"}"#
    );
}

#[test]
fn a_torn_last_line_at_every_length_is_reported_never_fatal() {
    let (_, entries, file) = sample();
    let line_ends: Vec<usize> = file.iter().enumerate().filter(|&(_, b)| *b == b'\n').map(|(i, _)| i + 1).collect();
    for len in 0..=file.len() {
        let (items, result, torn) = read_all(&file[..len]);
        assert_eq!(result, Ok(()), "length {len}");
        let complete = line_ends.iter().filter(|&&e| e <= len).count();
        assert_eq!(items.len(), complete, "length {len}");
        let at_boundary = len == 0 || line_ends.contains(&len);
        assert_eq!(torn.is_some(), !at_boundary, "length {len}");
        if let Some(t) = torn {
            assert_eq!(t.line as usize, complete + 1);
        }
    }
    assert_eq!(entries.len() + 1, line_ends.len());
}

#[test]
fn a_reader_follows_a_file_that_is_still_being_written() {
    let (_, _, file) = sample();
    let mut reader = Reader::new();
    let mut items = 0;
    for byte in &file {
        reader.push(std::slice::from_ref(byte));
        while reader.next_item().unwrap().is_some() {
            items += 1;
        }
    }
    assert_eq!(items, 8);
    assert_eq!(reader.finish(), None);
}

fn first_error(text: &str) -> SessionError {
    let (_, result, _) = read_all(text.as_bytes());
    result.unwrap_err()
}

const HEADER: &str = r#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"sim","started_at":"t","tool":"x","redacted":true}"#;

#[test]
fn bad_sessions_are_refused_naming_the_line() {
    let e = first_error(&format!("{}\n", HEADER.replace(r#""version":1"#, r#""version":2"#)));
    assert_eq!(e.to_string(), "line 1: unknown session format version 2 (this reader knows version 1)");
    let e = first_error(&format!("{}\n", r#"{"seq":0,"t_ns":0,"conn":1,"kind":"note","message":"m"}"#));
    assert_eq!(e.to_string(), "line 1: expected the header first, found a `note` line");
    let e = first_error(&format!("{HEADER}\n{}\n", r#"{"seq":1,"t_ns":0,"conn":1,"kind":"note","message":"m"}"#));
    assert_eq!(e.to_string(), "line 2: entries out of order: seq 1, expected 0");
    let e = first_error(&format!(
        "{HEADER}\n{}\n{}\n",
        r#"{"seq":0,"t_ns":50,"conn":1,"kind":"note","message":"m"}"#,
        r#"{"seq":1,"t_ns":10,"conn":1,"kind":"note","message":"m"}"#
    ));
    assert_eq!(e.to_string(), "line 3: time goes backwards: t_ns 10 after 50");
    let e = first_error(&format!("{HEADER}\ngarbage\n"));
    assert!(e.to_string().starts_with("line 2: not JSON: "), "{e}");
    let e = first_error(&format!("{HEADER}\n{}\n", r#"{"seq":0,"t_ns":0,"conn":1,"kind":"teleport"}"#));
    assert_eq!(e.to_string(), "line 2: unknown kind `teleport`");
    let e = first_error(&format!(
        "{HEADER}\n{}\n",
        r#"{"seq":0,"t_ns":0,"conn":1,"kind":"event","stream":1,"record_b64":"!!"}"#
    ));
    assert!(e.to_string().starts_with("line 2: `record_b64` is not base64"), "{e}");
    // A field of the wrong type is named, with the place in the line.
    let e = first_error(&format!("{HEADER}\n{}\n", r#"{"seq":"0","t_ns":0,"conn":1,"kind":"note","message":"m"}"#));
    assert!(
        e.to_string().starts_with("line 2: `seq`: invalid type: string \"0\", expected u64 at line 1 column"),
        "{e}"
    );
    let e = first_error(&format!(
        "{HEADER}\n{}\n",
        r#"{"seq":0,"t_ns":0,"conn":1,"kind":"request","method":"GET","path":"/","headers":[["a"]]}"#
    ));
    assert!(e.to_string().starts_with("line 2: `headers[0]`: invalid length 1"), "{e}");
    let e =
        first_error(&format!("{HEADER}\n{}\n", r#"{"seq":0,"t_ns":0,"conn":1,"kind":"event","stream":1,"record":5}"#));
    assert!(e.to_string().starts_with("line 2: `record`: invalid type: 5, expected a string"), "{e}");
    let e = first_error(&format!(
        "{HEADER}\n{}\n",
        r#"{"seq":0,"t_ns":0,"conn":1,"kind":"event","stream":1,"record":"a\ud800b"}"#
    ));
    assert_eq!(e.to_string(), "line 2: `record`: an escape that is no character (a lone surrogate)");
    let e = first_error(&format!("{HEADER}\n[1]\n"));
    assert_eq!(e.to_string(), "line 2: not a JSON object");
    let e = first_error(&format!("{HEADER}\n{}\n", r#"{"seq":0,"t_ns":0,"kind":"note","message":"m"}"#));
    assert_eq!(e.to_string(), "line 2: missing `conn`");
    let e = first_error(&format!(
        "{HEADER}\n{}\n",
        r#"{"seq":0,"t_ns":0,"conn":1,"kind":"response","status":200,"stream":3}"#
    ));
    assert_eq!(e.to_string(), "line 2: `stream` is not a boolean");
    let e = first_error(&format!("{HEADER}\n{}\n", r#"{"seq":0,"t_ns":0,"conn":1,"kind":"header"}"#));
    assert!(e.to_string().starts_with("line 2: a second header (not the next part"), "{e}");
    let e = first_error(&format!("{}\n", r#"{"kind":"header","format":"something-else","version":1}"#));
    assert_eq!(e.to_string(), "line 1: not a session file (format `something-else`)");
}

#[test]
fn unknown_keys_are_ignored() {
    let text =
        format!("{HEADER}\n{}\n", r#"{"seq":0,"t_ns":0,"conn":1,"kind":"note","message":"m","later_addition":[1,2]}"#);
    let (items, result, _) = read_all(text.as_bytes());
    assert_eq!(result, Ok(()));
    assert_eq!(items.len(), 2);
}

proptest::proptest! {
    /// A record is written as serde_json writes the same string (the writer
    /// has a faster escaper of its own), and reads back byte for byte.
    #[test]
    fn records_are_escaped_as_serde_json_escapes_them(
        text in proptest::string::string_regex("(?s)[\\x00-\\x7f\"\\\\/é€😀]{0,80}").unwrap()
    ) {
        let mut writer = Writer::new();
        let event = Event { stream: 1, record: text.clone().into_bytes(), chunks: None, summary: Summary::default() };
        let entry = writer.entry(0, 1, EntryKind::Event(event));
        let line = String::from_utf8(entry.to_line()).unwrap();
        let expected = format!(r#""record":{}"#, serde_json::to_string(&text).unwrap());
        proptest::prop_assert!(line.contains(&expected), "{line} lacks {expected}");
        let mut file = Header::new(Source::Proxy, "2026-11-24T21:30:00Z").to_line();
        file.extend_from_slice(line.as_bytes());
        let (items, result, torn) = read_all(&file);
        proptest::prop_assert!(result.is_ok() && torn.is_none(), "{result:?} {torn:?}");
        let Some(Item::Entry(back)) = items.into_iter().nth(1) else { panic!("no entry in {line}") };
        let EntryKind::Event(back) = back.kind else { panic!("not an event: {line}") };
        proptest::prop_assert_eq!(back.record, text.into_bytes());
    }
}

/// Every way JSON may escape a character (`\/`, `\u00e9`, a surrogate pair,
/// upper- or lowercase hex), as another program might write a session.
fn escape_every_way(text: &str, choice: &[u8]) -> String {
    let mut out = String::from("\"");
    for (i, c) in text.chars().enumerate() {
        let way = choice.get(i % choice.len().max(1)).copied().unwrap_or(0) % 3;
        match (c, way) {
            ('"', _) => out.push_str("\\\""),
            ('\\', _) => out.push_str("\\\\"),
            ('/', 1) => out.push_str("\\/"),
            (c, _) if (c as u32) < 0x20 || way == 2 => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    if i % 2 == 0 {
                        out.push_str(&format!("\\u{unit:04x}"));
                    } else {
                        out.push_str(&format!("\\u{unit:04X}"));
                    }
                }
            }
            (c, _) => out.push(c),
        }
    }
    out.push('"');
    out
}

proptest::proptest! {
    /// A record however it is escaped reads as serde_json reads the same
    /// JSON string.
    #[test]
    fn records_escaped_any_way_read_as_serde_json_reads_them(
        text in proptest::string::string_regex("(?s)[\\x00-\\x7f\"\\\\/é€😀]{0,80}").unwrap(),
        choice in proptest::collection::vec(proptest::num::u8::ANY, 0..8),
    ) {
        let quoted = escape_every_way(&text, &choice);
        let expected: String = serde_json::from_str(&quoted).unwrap();
        proptest::prop_assert_eq!(&expected, &text);
        let file = format!("{HEADER}\n{{\"seq\":0,\"t_ns\":0,\"conn\":1,\"kind\":\"event\",\"stream\":1,\"record\":{quoted}}}\n");
        let (items, result, _) = read_all(file.as_bytes());
        proptest::prop_assert!(result.is_ok(), "{result:?} {file}");
        let Some(Item::Entry(back)) = items.into_iter().nth(1) else { panic!("no entry in {file}") };
        let EntryKind::Event(back) = back.kind else { panic!("not an event: {file}") };
        proptest::prop_assert_eq!(back.record, expected.into_bytes());
    }
}

/// Issue 19: a rotated session's parts, compressed in frames, pushed one
/// after the other in pieces of any size, read as the one session they were
/// cut from; a second header that names no previous part is refused.
#[test]
fn the_parts_of_a_rotated_compressed_session_read_as_one() {
    let (header, entries, _) = sample();
    let mut next = header.clone();
    next.part = Some(2);
    next.previous = Some("test13-20261124T213000.123Z.session.jsonl.zst".into());
    let (first, second) = entries.split_at(entries.len() / 2);
    let frame = |lines: &[Vec<u8>]| zstd::bulk::compress(&lines.concat(), 3).unwrap();
    let mut part1 = frame(&[header.to_line()]);
    for entry in first {
        part1.extend(frame(&[entry.to_line()]));
    }
    let mut part2 = frame(&[next.to_line(), second[0].to_line()]);
    part2.extend(frame(&second[1..].iter().map(Entry::to_line).collect::<Vec<_>>()));
    for piece in [1, 7, 4096] {
        let mut reader = Reader::new();
        let mut items = Vec::new();
        for bytes in part1.chunks(piece).chain(part2.chunks(piece)) {
            reader.push(bytes);
            while let Some(item) = reader.next_item().unwrap() {
                items.push(item);
            }
        }
        assert_eq!(reader.finish(), None);
        assert!(reader.compressed());
        assert_eq!(reader.parts(), 2);
        assert_eq!(items[0], Item::Header(header.clone()));
        let read: Vec<Entry> = items[1..]
            .iter()
            .map(|i| match i {
                Item::Entry(e) => e.clone(),
                Item::Header(h) => panic!("a part's header came out: {h:?}"),
            })
            .collect();
        assert_eq!(read, entries, "pieces of {piece}");
    }
    // The header of a next part round trips its new keys.
    let line = next.to_line();
    assert!(line.ends_with(b",\"part\":2,\"previous\":\"test13-20261124T213000.123Z.session.jsonl.zst\"}\n"));

    let mut two_headers = header.to_line();
    two_headers.extend(header.to_line());
    let mut reader = Reader::new();
    reader.push(&two_headers);
    reader.next_item().unwrap();
    let err = reader.next_item().unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.message.contains("a second header"), "{err}");
}

#[test]
fn a_corrupt_compressed_session_is_refused_naming_the_line() {
    let (_, _, file) = sample();
    let mut compressed = zstd::bulk::compress(&file, 3).unwrap();
    let middle = compressed.len() / 2;
    compressed[middle] ^= 0xff;
    compressed[middle + 1] ^= 0xff;
    let mut reader = Reader::new();
    reader.push(&compressed);
    let mut result = Ok(None);
    for _ in 0..100 {
        result = reader.next_item();
        if !matches!(result, Ok(Some(_))) {
            break;
        }
    }
    // Either the corruption is caught (zstd's checksum or its framing), or the
    // decompressed text is not a session any more: never a panic.
    if let Err(err) = result {
        assert!(err.line >= 1, "{err}");
    }
}

/// The lines of the frames before a corrupt one are read before the
/// corruption is reported, however the input is cut and the reader drained:
/// the fuzzer found files read whole (corrupt at line 1) and in pieces (a
/// line read, then "not JSON") answered differently, and read whole the
/// lines before the bad frame were lost.
#[test]
fn the_lines_before_a_corrupt_frame_are_read_first() {
    let (_, entries, file) = sample();
    let mut compressed = zstd::bulk::compress(&file, 3).unwrap();
    // A second frame whose descriptor has its reserved bit set.
    compressed.extend_from_slice(&[0x28, 0xB5, 0x2F, 0xFD, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00]);
    for piece in [compressed.len(), 7, 1] {
        let mut reader = Reader::new();
        let mut items = 0;
        let mut error = None;
        for chunk in compressed.chunks(piece) {
            reader.push(chunk);
            loop {
                match reader.next_item() {
                    Ok(Some(_)) => items += 1,
                    Ok(None) => break,
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            if error.is_some() {
                break;
            }
        }
        assert_eq!(items, 1 + entries.len(), "pieces of {piece}: every line of the good frame");
        let error = error.unwrap_or_else(|| panic!("pieces of {piece}: the corruption is reported"));
        assert_eq!(error.line, 2 + entries.len() as u64, "pieces of {piece}: {error}");
        assert!(error.message.contains("corrupt"), "{error}");
    }
    // The fuzzer's inputs (a corrupt second frame; a corruption inside the
    // first frame, whose earlier blocks decompress; one zstd calls by
    // different names fed whole and in pieces): the same answer whole and
    // in their pieces.
    let found: [&[u8]; 3] = [
        include_bytes!("fuzz-regressions/session-reader-corrupt-frame-drained"),
        include_bytes!("fuzz-regressions/session-reader-corrupt-inside-a-frame"),
        include_bytes!("fuzz-regressions/session-reader-corrupt-error-by-cut"),
    ];
    for found in found {
        // As the fuzz target cuts it: the first byte says how many seed
        // bytes follow (mod 9), the seed says where to cut the rest.
        let seed_len = usize::from(found[0] % 9).min(found.len() - 1);
        let (seed, file) = found[1..].split_at(seed_len);
        let read = |pieces: &[&[u8]]| {
            let mut reader = Reader::new();
            let mut items = 0;
            for piece in pieces {
                reader.push(piece);
                loop {
                    match reader.next_item() {
                        Ok(Some(_)) => items += 1,
                        Ok(None) => break,
                        Err(e) => return (items, Some(e)),
                    }
                }
            }
            (items, None)
        };
        let mut cuts: Vec<usize> = seed.iter().map(|&b| usize::from(b) * (file.len() + 1) / 256).collect();
        cuts.sort_unstable();
        let mut pieces = Vec::new();
        let mut start = 0;
        for cut in cuts {
            pieces.push(&file[start..cut.max(start)]);
            start = cut.max(start);
        }
        pieces.push(&file[start..]);
        assert_eq!(read(&pieces), read(&[file]));
    }
}

/// A later part of a rotated session, read on its own, starts where the
/// part before it ended.
#[test]
fn a_later_part_read_alone_starts_at_its_first_seq() {
    let (header, entries, _) = sample();
    let mut next = header;
    next.part = Some(3);
    next.previous = Some("a.session.jsonl".into());
    let mut file = next.to_line();
    for entry in &entries[2..] {
        file.extend(entry.to_line());
    }
    let mut reader = Reader::new();
    reader.push(&file);
    assert!(matches!(reader.next_item().unwrap(), Some(Item::Header(h)) if h.part == Some(3)));
    let mut read = Vec::new();
    while let Some(Item::Entry(entry)) = reader.next_item().unwrap() {
        read.push(entry);
    }
    assert_eq!(read, entries[2..]);
}
