//! rapidjson itself, as the reference for a master's numbers and strings:
//! `rapidjson_writer.cpp` compiled with g++ against Debian's rapidjson-dev
//! (the same 1.1.0 writer Mesos 1.11.0 bundles) and run as a child process
//! that answers one value a line.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

pub struct RapidJson {
    child: Child,
    input: BufWriter<ChildStdin>,
    output: BufReader<ChildStdout>,
}

impl RapidJson {
    /// Compiles the writer (once per test binary) and starts it.
    pub fn start() -> RapidJson {
        let binary = build();
        let mut child = Command::new(&binary)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        let input = BufWriter::new(child.stdin.take().unwrap());
        let output = BufReader::new(child.stdout.take().unwrap());
        RapidJson { child, input, output }
    }

    fn ask(&mut self, request: String) -> Vec<u8> {
        self.input.write_all(request.as_bytes()).unwrap();
        self.input.write_all(b"\n").unwrap();
        self.input.flush().unwrap();
        let mut answer = Vec::new();
        self.output.read_until(b'\n', &mut answer).unwrap();
        assert_eq!(answer.pop(), Some(b'\n'), "rapidjson_writer stopped answering");
        answer
    }

    /// `v` as rapidjson's `Writer::Double` writes it.
    pub fn double(&mut self, v: f64) -> Vec<u8> {
        self.ask(format!("d {:016x}", v.to_bits()))
    }

    /// `bytes` as rapidjson's `Writer::String` writes them (quotes included).
    pub fn string(&mut self, bytes: &[u8]) -> Vec<u8> {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.ask(format!("s {hex}"))
    }
}

impl Drop for RapidJson {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn build() -> PathBuf {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY
        .get_or_init(|| {
            let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/common/rapidjson_writer.cpp");
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
            let binary = dir.join("rapidjson_writer");
            // Several test binaries may build at once: each writes its own
            // file and renames it into place.
            let part = dir.join(format!("rapidjson_writer.{}", std::process::id()));
            let out = Command::new("g++")
                .args(["-std=c++11", "-O2", "-o"])
                .arg(&part)
                .arg(&source)
                .output()
                .unwrap_or_else(|e| {
                    panic!("this test compiles rapidjson's writer with g++ ({e}); Debian: apt-get install g++ rapidjson-dev")
                });
            assert!(
                out.status.success(),
                "g++ could not build {} (Debian: apt-get install g++ rapidjson-dev):\n{}",
                source.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::rename(&part, &binary).unwrap();
            binary
        })
        .clone()
}
