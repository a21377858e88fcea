//! Installs the pinned framework libraries into `target/interop/` with their
//! ordinary package clients: `avmesos` into a Python venv (`python3 -m venv`,
//! then `pip install -r interop/python/requirements.txt`), `mesos-framework`
//! with `npm ci` from `interop/node/package-lock.json`.
//!
//! Idempotent and safe when several tests (or several test binaries, or
//! nextest's processes) install at once: one install at a time under a lock
//! directory, and a stamp file holding the pin file it installed, so a rerun
//! with the same pins installs nothing. A missing `python3`, venv module or
//! `node`/`npm` fails with a message naming what to install.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

/// The project's root (the root package's directory).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/interop/` of the project (ignored by git), whatever
/// `CARGO_TARGET_DIR` says: the installs belong to the checkout.
pub fn interop_dir() -> PathBuf {
    root().join("target/interop")
}

/// The venv's Python, with avmesos installed (once per test binary).
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PYTHON.get_or_init(install_python).clone().unwrap_or_else(|e| panic!("{e}"))
}

/// The `node_modules` folder with mesos-framework installed (once per test
/// binary).
pub fn node_modules() -> PathBuf {
    static NODE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    NODE.get_or_init(install_node).clone().unwrap_or_else(|e| panic!("{e}"))
}

/// `node`, checked to run.
pub fn node() -> PathBuf {
    let node = PathBuf::from("node");
    match Command::new(&node).arg("--version").output() {
        Ok(out) if out.status.success() => node,
        _ => panic!(
            "`node` is not on PATH: the interop suite runs mesos-framework with the machine's Node.js \
             (Debian: apt-get install nodejs npm)"
        ),
    }
}

fn install_python() -> Result<PathBuf, String> {
    let pins_path = root().join("interop/python/requirements.txt");
    let pins = std::fs::read_to_string(&pins_path).map_err(|e| format!("{}: {e}", pins_path.display()))?;
    let venv = interop_dir().join("venv");
    let python = venv.join("bin/python");
    let stamp = venv.join(".mesos-tape-installed");
    let _lock = Lock::take()?;
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == pins) && python.exists() {
        return Ok(python);
    }
    match Command::new("python3").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => {
            return Err("`python3` is not on PATH: the interop suite installs avmesos into a Python venv \
                        (Debian: apt-get install python3 python3-venv)"
                .into());
        }
    }
    let _ = std::fs::remove_dir_all(&venv);
    run(
        Command::new("python3").arg("-m").arg("venv").arg(&venv),
        "python3 -m venv target/interop/venv (the venv module and ensurepip are needed: \
         Debian: apt-get install python3-venv)",
    )?;
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-q", "-r"])
            .arg(&pins_path),
        "pip install -r interop/python/requirements.txt (needs the network to PyPI the first time)",
    )?;
    run(Command::new(&python).args(["-c", "import avmesos.client"]), "import avmesos.client in the venv")?;
    std::fs::write(&stamp, pins).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(python)
}

fn install_node() -> Result<PathBuf, String> {
    node();
    let source = root().join("interop/node");
    let lock_file = std::fs::read_to_string(source.join("package-lock.json"))
        .map_err(|e| format!("interop/node/package-lock.json: {e}"))?;
    let manifest =
        std::fs::read_to_string(source.join("package.json")).map_err(|e| format!("interop/node/package.json: {e}"))?;
    let dir = interop_dir().join("node");
    let modules = dir.join("node_modules");
    let stamp = dir.join(".mesos-tape-installed");
    let pins = format!("{manifest}\n{lock_file}");
    let _lock = Lock::take()?;
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == pins) && modules.join("mesos-framework").exists() {
        return Ok(modules);
    }
    match Command::new("npm").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => {
            return Err("`npm` is not on PATH: the interop suite installs mesos-framework with npm \
                        (Debian: apt-get install npm)"
                .into());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(source.join(file), dir.join(file)).map_err(|e| format!("copying {file}: {e}"))?;
    }
    run(
        Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(&dir),
        "npm ci in target/interop/node (needs the network to the npm registry the first time)",
    )?;
    std::fs::write(&stamp, pins).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(modules)
}

fn run(command: &mut Command, what: &str) -> Result<Output, String> {
    let out = command.output().map_err(|e| format!("{what}: cannot run: {e}"))?;
    if out.status.success() {
        return Ok(out);
    }
    Err(format!(
        "{what}: {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// One installer at a time across processes: a directory made with
/// `create_dir` (atomic), removed on drop. A lock older than ten minutes
/// was left by a killed installer and is broken.
struct Lock(PathBuf);

impl Lock {
    fn take() -> Result<Lock, String> {
        let dir = interop_dir();
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join(".install.lock");
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Lock(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok());
                    if age.is_some_and(|age| age > Duration::from_secs(600)) {
                        let _ = std::fs::remove_dir(&path);
                        continue;
                    }
                    if Instant::now() > deadline {
                        return Err(format!("{} is held by another installer for too long", path.display()));
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Where a path is, relative to the project (for messages).
pub fn shown(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}
