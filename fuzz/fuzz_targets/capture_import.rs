//! The capture importer: any bytes are imported or refused, never a panic,
//! and every session file it writes reads with the session reader.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mesos_codec::session::Reader;
use mesos_proxy::import::{Options, import_from};

fuzz_target!(|data: &[u8]| {
    let out = std::env::temp_dir().join(format!("fuzz-import-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let mut options = Options::new(out.clone());
    options.port = 5050;
    let _ = import_from(std::io::Cursor::new(data.to_vec()), "fuzz.pcap", &options, &mut |_| ());
    if let Ok(files) = std::fs::read_dir(&out) {
        for file in files.flatten() {
            let bytes = std::fs::read(file.path()).unwrap();
            let mut reader = Reader::new();
            reader.push(&bytes);
            while let Some(_) = reader.next_item().expect("an imported session reads") {}
            assert_eq!(reader.finish(), None, "an imported session ends with a torn line");
        }
    }
    let _ = std::fs::remove_dir_all(&out);
});
