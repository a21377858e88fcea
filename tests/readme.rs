//! The README's commands, run: every fenced `sh` block right after a line
//! `<!-- readme-test -->` (or `<!-- readme-test: sim -->`) is run, so that
//! the README cannot drift from the tools.
//!
//! - A block with lines starting `$ ` is a transcript: each command (with
//!   its `\` continuation lines) runs in bash, standard error with standard
//!   output, and what it prints must be the lines under it, up to a line
//!   `...` (the rest not shown).
//! - Any other block is a script: it runs whole in `bash -eu`
//!   and must exit 0 (its `# comments` are not checked).
//! - `: sim` starts a simulated master for the block, on a free port that
//!   the block's `127.0.0.1:5050` is replaced by.
//!
//! Blocks run in a fresh directory holding `fixtures` (a link to the
//! project's), with the project's binaries first on the `PATH` (the ones
//! `cargo test --workspace` built beside this test binary) and `cargo run
//! -q -p PACKAGE -- ARGS` run as `PACKAGE ARGS`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// One marked block.
struct Block {
    /// Its first line's number in README.md.
    line: usize,
    sim: bool,
    text: String,
}

fn blocks(readme: &str) -> Vec<Block> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut blocks = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(mark) = line.trim().strip_prefix("<!-- readme-test") else { continue };
        let sim = mark.trim_start().starts_with(": sim");
        assert_eq!(
            lines.get(i + 1).map(|l| l.trim()),
            Some("```sh"),
            "README.md line {}: a marked block is a fenced sh block",
            i + 1
        );
        let end = (i + 2..lines.len()).find(|&j| lines[j].trim() == "```").expect("the block ends");
        blocks.push(Block { line: i + 3, sim, text: lines[i + 2..end].join("\n") + "\n" });
    }
    blocks
}

fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    for bin in ["mesos-replay", "mesos-codec", "mesos-proxy"] {
        assert!(
            dir.join(bin).is_file(),
            "{} is not built: cargo build --workspace (cargo test --workspace does)",
            dir.join(bin).display()
        );
    }
    dir
}

const PREAMBLE: &str = r#"cargo() {
  if [ "$1" = run ] && [ "$2" = -q ] && [ "$3" = -p ] && [ "$5" = -- ]; then p=$4; shift 5; "$p" "$@"
  else echo "readme test: only 'cargo run -q -p PACKAGE -- ARGS' runs here" >&2; return 2; fi
}
"#;

/// Runs `script` in bash in `dir`; its status and output (stderr with
/// stdout). A hung block is killed after 120 s (and fails).
fn bash(dir: &Path, flags: &[&str], script: &str) -> (Option<i32>, String) {
    let path = format!("{}:{}", bin_dir().display(), std::env::var("PATH").unwrap_or_default());
    let mut child = Command::new("bash")
        .args(flags)
        .arg("-c")
        .arg(format!("{PREAMBLE}exec 2>&1\n{script}"))
        .current_dir(dir)
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("bash");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let mut waited = Duration::ZERO;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if waited > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
        waited += Duration::from_millis(50);
    };
    (status, String::from_utf8_lossy(&reader.join().unwrap()).into_owned())
}

/// A transcript's commands, each with the output shown under it.
fn transcript(text: &str) -> Vec<(String, Vec<String>)> {
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    let mut continued = false;
    for line in text.lines() {
        if let Some(command) = line.strip_prefix("$ ") {
            steps.push((command.to_owned(), Vec::new()));
            continued = command.ends_with('\\');
        } else if continued {
            let step = steps.last_mut().unwrap();
            step.0.push('\n');
            step.0.push_str(line);
            continued = line.ends_with('\\');
        } else if let Some(step) = steps.last_mut() {
            step.1.push(line.to_owned());
        }
    }
    steps
}

fn run(block: &Block) -> Result<(), String> {
    let dir = test_support::temp_dir("readme");
    std::os::unix::fs::symlink(test_support::workspace().join("fixtures"), dir.join("fixtures")).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mut text = block.text.clone();
    let _sim = block.sim.then(|| {
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let _guard = runtime.enter();
        let sim =
            mesos_replay::sim::spawn(listener, mesos_replay::sim::Config::default(), mesos_replay::sim::Clock::Real)
                .unwrap();
        text = text.replace("127.0.0.1:5050", &sim.local_addr().to_string());
        sim
    });
    let result = if text.lines().any(|l| l.starts_with("$ ")) {
        let mut result = Ok(());
        for (command, shown) in transcript(&text) {
            let (_, out) = bash(&dir, &[], &command);
            let printed: Vec<&str> = out.lines().collect();
            let cut = shown.iter().position(|l| l == "...").unwrap_or(shown.len());
            let same = if cut < shown.len() {
                printed.len() >= cut && printed[..cut] == shown[..cut]
            } else {
                printed == shown
            };
            if !same {
                result = Err(format!("$ {command}\nprinted:\n{out}\nthe README shows:\n{}", shown.join("\n")));
                break;
            }
        }
        result
    } else {
        match bash(&dir, &["-eu"], &text) {
            (Some(0), _) => Ok(()),
            (status, out) => Err(format!("exit status {status:?}:\n{out}")),
        }
    };
    drop(_sim);
    runtime.shutdown_background();
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result.map_err(|e| format!("README.md line {}: {e}\n(ran in {})", block.line, dir.display()))
}

#[test]
fn every_marked_block_of_the_readme_runs_as_shown() {
    let readme = std::fs::read_to_string(test_support::workspace().join("README.md")).unwrap();
    let blocks = blocks(&readme);
    assert!(blocks.len() >= 8, "{} marked blocks", blocks.len());
    assert!(blocks.iter().any(|b| b.sim), "the walkthrough runs against the sim");
    let failures: Vec<String> = blocks.iter().filter_map(|b| run(b).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn transcripts_are_read_with_continuations_and_elisions() {
    let steps = transcript("$ a \\\n  b\nout 1\n...\n$ c\n");
    assert_eq!(steps[0], ("a \\\n  b".to_owned(), vec!["out 1".to_owned(), "...".to_owned()]));
    assert_eq!(steps[1], ("c".to_owned(), vec![]));
}
