//! A real ZooKeeper server (Debian's `zookeeper` package, `.ci/run`
//! installs it), started by a test on a free port with a data directory of
//! its own, and stopped when dropped.

#![allow(dead_code)] // the tests use part of it

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The jar of Debian's `zookeeper` package (its manifest names the jars it
/// needs).
pub const JAR: &str = "/usr/share/java/zookeeper.jar";

/// How long the server may take to answer `ruok` (a JVM's start on a
/// loaded machine).
const READY: Duration = Duration::from_secs(90);

/// A standalone ZooKeeper server.
pub struct ZooKeeper {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl ZooKeeper {
    /// Starts one on a free loopback port and waits until it answers
    /// `ruok` with `imok`; panics (with its log) if it does not.
    pub fn start() -> ZooKeeper {
        assert!(
            std::path::Path::new(JAR).is_file(),
            "{JAR} is missing: `apt-get install zookeeper` (.ci/run installs it)"
        );
        let dir = test_support::temp_dir("zookeeper");
        let port = test_support::own_port();
        let config = dir.join("zoo.cfg");
        std::fs::write(
            &config,
            format!(
                "tickTime=1000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                 admin.enableServer=false\n4lw.commands.whitelist=ruok\n",
                dir.join("data").display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("zookeeper.log")).unwrap();
        let child = Command::new("java")
            .args(["-Xmx128m", "-XX:+UseSerialGC", "-Dzookeeper.admin.enableServer=false", "-cp", JAR])
            .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start java (Debian's zookeeper package depends on it): {e}"));
        let mut zk = ZooKeeper { child, addr: SocketAddr::from(([127, 0, 0, 1], port)), dir };
        let deadline = Instant::now() + READY;
        loop {
            if zk.answers_ruok() {
                return zk;
            }
            if let Ok(Some(status)) = zk.child.try_wait() {
                panic!("ZooKeeper exited ({status}) before it served:\n{}", zk.log());
            }
            assert!(Instant::now() < deadline, "ZooKeeper did not serve within {READY:?}:\n{}", zk.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn answers_ruok(&self) -> bool {
        let Ok(mut conn) = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)) else { return false };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
        let mut answer = String::new();
        conn.write_all(b"ruok").is_ok() && conn.read_to_string(&mut answer).is_ok() && answer == "imok"
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("zookeeper.log")).unwrap_or_default()
    }
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
