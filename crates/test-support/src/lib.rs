//! What the integration tests of every crate in the workspace share (a
//! dev-dependency only; never published).
//!
//! - [`workspace`], [`fixture`], [`seed`], [`seed_files`]: the checked-in
//!   inputs under `fixtures/` (see `fixtures/README.md`);
//! - [`temp_dir`]: a fresh directory of the test's own;
//! - [`own_port`]: a port no one else is given meanwhile, for a test that
//!   listens on it twice or hands it to another program;
//! - [`self_signed`]: a certificate for `localhost` and its key, in files;
//! - [`read_session`]: a session file, checked by the codec's reader;
//! - [`expect`]: output compared with a checked-in file, re-blessed with
//!   `UPDATE_EXPECT=1`;
//! - [`in_own_process`]: a test that sets something process-wide, run alone
//!   in a child process of its test binary;
//! - `framework` (feature `framework`): a small scheduler on hyper, for the
//!   tests that drive a master (mesos-replay's and the root's).
//!
//! Each crate has one integration-test binary (`tests/tests.rs`, one module
//! per file), so whatever a test sets for its whole process is shared with
//! every other test of its crate: [`in_own_process`] is the way out.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use mesos_codec::session::{Entry, Header, Item, Reader};

pub mod expect;
#[cfg(feature = "framework")]
pub mod framework;

/// The checkout: the workspace's root directory.
pub fn workspace() -> PathBuf {
    let this = Path::new(env!("CARGO_MANIFEST_DIR"));
    this.parent().and_then(Path::parent).expect("crates/test-support is two levels below the root").to_owned()
}

/// `fixtures/<rel>` of the checkout.
pub fn fixture(rel: &str) -> PathBuf {
    workspace().join("fixtures").join(rel)
}

/// The bytes of the seed walkthrough's file `name`
/// (`fixtures/seed/walkthrough/<name>`).
pub fn seed(name: &str) -> Vec<u8> {
    let path = fixture("seed/walkthrough").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The names of the seed walkthrough's files, sorted (the article's order).
pub fn seed_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture("seed/walkthrough"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// A fresh, empty directory under the system's temporary directory, named
/// after `name`, this process and a counter: no two calls in a process (nor
/// two test binaries at once) share one. Not removed afterwards.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "mesos-tape-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// A free port on 127.0.0.1 that nothing else will be given meanwhile:
/// for a test that hands a port to another program to listen on, or that
/// must close its listener and listen again (a master's outage). A test
/// that only serves on one port twice holds it: [`own_listener`].
///
/// A port the kernel chose (`bind` to port 0) is in its ephemeral range,
/// and once closed the kernel may give it to the next port-0 listener or
/// outgoing connection of any test running meanwhile (CI saw it). This one
/// is below that range, where the kernel never picks, and this process
/// hands each port out once (test binaries running at once start apart).
///
/// It is 16384 or more, as the kernel's picks are: a master's answers name
/// its port, and tests compare their sizes with the sim's (on a port of the
/// kernel's choice); below 16384 a port is a varint a byte shorter (CI saw
/// the real master's `SUBSCRIBED` one byte short of the sim's). Where the
/// ephemeral range starts at 17408 or below, the ports are 16384–32767
/// all the same.
pub fn own_port() -> u16 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    // Linux's `ip_local_port_range` starts at 32768 unless set otherwise.
    let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .filter(|&start| start > 16384 + 1024)
        .unwrap_or(32768);
    let first = 16384;
    let span = u64::from(ephemeral - first);
    let start = u64::from(std::process::id()).wrapping_mul(7919);
    for _ in 0..span {
        let port = first + ((start + NEXT.fetch_add(1, Ordering::Relaxed)) % span) as u16;
        if std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {first}..{ephemeral}");
}

/// A listener on an [`own_port`], for a test that serves on one port more
/// than once (its bytes name it): each run serves on a `try_clone` of it,
/// the same socket, so that the port stays held in between. A port closed
/// and bound again can be found taken (CI saw `AddrInUse` on the second
/// bind of a port from [`own_port`]).
pub fn own_listener() -> std::net::TcpListener {
    let port = own_port();
    let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port))
        .unwrap_or_else(|e| panic!("127.0.0.1:{port}: {e}"));
    listener.set_nonblocking(true).unwrap_or_else(|e| panic!("127.0.0.1:{port}: {e}"));
    listener
}

/// A self-signed certificate for `localhost` (made with rcgen) and its
/// key, written to `<dir>/<name>.pem` and `<dir>/<name>.key`.
pub fn self_signed(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("rcgen");
    let (cert, key) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
    std::fs::write(&cert, certified.cert.pem()).unwrap_or_else(|e| panic!("{}: {e}", cert.display()));
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap_or_else(|e| panic!("{}: {e}", key.display()));
    (cert, key)
}

/// A session file as the codec's reader reads it: its header (the first
/// line, the only header) and its entries; panics, naming the file, on
/// anything else and on a torn last line.
pub fn read_session(path: &Path) -> (Header, Vec<Entry>) {
    let mut reader = Reader::new();
    reader.push(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    let next = |reader: &mut Reader| reader.next_item().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let Some(Item::Header(header)) = next(&mut reader) else { panic!("no header in {}", path.display()) };
    let mut entries = Vec::new();
    while let Some(item) = next(&mut reader) {
        let Item::Entry(entry) = item else { panic!("a second header in {}", path.display()) };
        entries.push(entry);
    }
    assert_eq!(reader.finish(), None, "torn line in {}", path.display());
    (header, entries)
}

/// For a test that sets something for its whole process (a global
/// allocator's count, an environment variable, a signal handler, a resource
/// limit, the current directory): runs the test `name` (its path in the
/// test binary, `module::test`) again, alone, in a child process of this
/// test binary, and checks that it ran and passed there.
///
/// Returns `true` in that child, where the caller does its work; `false` in
/// the parent, where the caller returns:
///
/// ```ignore
/// #[test]
/// fn counts_allocations() {
///     if !test_support::in_own_process("recordio_alloc::counts_allocations") {
///         return;
///     }
///     // alone in this process from here on
/// }
/// ```
pub fn in_own_process(name: &str) -> bool {
    const VAR: &str = "MESOS_TAPE_TEST_IN_OWN_PROCESS";
    if std::env::var(VAR).as_deref() == Ok(name) {
        return true;
    }
    let exe = std::env::current_exe().expect("the test binary");
    let out = Command::new(&exe)
        .args(["--exact", name, "--include-ignored", "--test-threads", "1", "--nocapture"])
        .env(VAR, name)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", exe.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name}, in a process of its own, failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("test result: ok. 1 passed"), "{name} did not run in its own process:\n{stdout}\n{stderr}");
    false
}
