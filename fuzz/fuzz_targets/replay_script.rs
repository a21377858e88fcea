//! `mesos-replay serve`'s session loading: any file is indexed or refused
//! with an error naming its line, never a panic; what it indexes, the
//! session reader reads to the end.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mesos_codec::session::Reader;
use mesos_replay::serve::Script;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("fuzz-replay-script-{}.session.jsonl", std::process::id()));
    std::fs::write(&path, data).unwrap();
    let script = Script::open(&path, true);
    let _ = std::fs::remove_file(&path);
    if script.is_ok() {
        let mut reader = Reader::new();
        reader.push(data);
        while let Some(_) = reader.next_item().expect("the reader reads what serve indexed") {}
    }
});
