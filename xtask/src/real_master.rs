//! `cargo xtask real-master install | start | stop`: a real Apache Mesos
//! 1.11.0 master, with agents, for tests and for anyone who needs one.
//!
//! No Mesos packages exist for current Debian and building Mesos takes hours,
//! but the PyPI artifact `mesos.scheduler-1.11.0.linux-x86_64.tar.gz` holds
//! `_scheduler.so`, a Python 2 extension into which the release's libmesos,
//! libprocess, stout, protobuf and glog are linked statically. The project's
//! launcher (`xtask/real-master/launcher.cpp`) loads it and runs what Mesos's
//! `mesos-local` does (a master and its agents in one process) and the
//! `launch` subcommand of `mesos-containerizer` (the agents' posix launcher
//! runs it for every container). Only these are not Mesos code: the
//! launcher, stubs for the OpenSSL 1.0 libraries (so SSL is unsupported), a
//! libcurl shim with the version node the library asks for, and the command
//! executor (`mesos-executor`, the `real-master-executor` package). There is
//! no `mesos-fetcher`: tasks with URIs cannot be fetched.
//!
//! - `install [--tarball FILE]`: everything under `target/real-mesos/`, once
//!   (see [`install`]).
//! - `start --port P --dir D [--executor PATH] [--agents N]`: a master and
//!   its agents on `127.0.0.1:P`, in the background, ready; prints its pid
//!   (see [`cluster::start`]).
//! - `stop --dir D`: stops the master of `D` and everything it started (see
//!   [`cluster::stop`]).

pub mod cluster;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask real-master install [--tarball FILE]
       cargo xtask real-master start --port P --dir D [--executor PATH] [--agents N]
       cargo xtask real-master stop --dir D";

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let (command, options) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), parse_options(rest)?),
        None => bail!("{USAGE}"),
    };
    let get = |name: &str| options.get(name).map(String::as_str);
    let need = |name: &str| get(name).with_context(|| format!("{command}: --{name} is required\n{USAGE}"));
    match command {
        "help" | "--help" | "-h" => {
            // Not `println!`: `| head` closing the pipe is no error.
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            Ok(())
        }
        "install" => install(root, get("tarball").map(Path::new)),
        "start" => {
            let options = cluster::Options {
                port: need("port")?.parse().context("--port: not a port number")?,
                dir: PathBuf::from(need("dir")?),
                executor: get("executor").map(PathBuf::from),
                agents: get("agents").map(str::parse).transpose().context("--agents: not a number")?,
                flags: Vec::new(),
            };
            let started = cluster::start(root, &options)?;
            println!("{}", started.child.id());
            Ok(())
        }
        "stop" => {
            let stopped = cluster::stop(Path::new(need("dir")?), None)?;
            eprintln!("real-master: stopped {stopped} processes");
            Ok(())
        }
        other => bail!("unknown real-master command `{other}`\n{USAGE}"),
    }
}

/// `--name value` pairs.
fn parse_options(args: &[String]) -> Result<BTreeMap<String, String>> {
    let mut options = BTreeMap::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let Some(name) = arg.strip_prefix("--") else { bail!("unexpected argument `{arg}`\n{USAGE}") };
        let value = args.next().with_context(|| format!("--{name} needs a value\n{USAGE}"))?;
        options.insert(name.to_owned(), value.clone());
    }
    Ok(options)
}

/// The shared libraries the Mesos library links that Debian has, and the
/// packages that hold them (the second name is the one of Debian 13).
const SYSTEM_LIBRARIES: [(&str, &[&str]); 6] = [
    ("libsvn_delta-1.so.1", &["libsvn1"]),
    ("libsvn_subr-1.so.1", &["libsvn1"]),
    ("libapr-1.so.0", &["libapr1", "libapr1t64"]),
    ("libsasl2.so.2", &["libsasl2-2"]),
    ("libz.so.1", &["zlib1g"]),
    ("libcurl.so.4", &["libcurl4", "libcurl4t64"]),
];

/// The programs the install runs, and their packages.
const TOOLS: [(&str, &str); 5] =
    [("g++", "g++"), ("gcc", "gcc"), ("nm", "binutils"), ("tar", "tar"), ("sha256sum", "coreutils")];

/// Where `_scheduler.so` is in the tarball.
const LIBRARY_IN_TARBALL: &str = "./usr/local/lib/python2.7/dist-packages/mesos/scheduler/_scheduler.so";

/// The OpenSSL version nodes the library asks for. No OpenSSL 1.0 exists in
/// current Debian, and libprocess calls it only with SSL enabled.
const OPENSSL_VERSIONS: [&str; 3] = ["OPENSSL_1.0.0", "OPENSSL_1.0.1", "OPENSSL_1.0.2"];

/// The functions `libcurl-shim.c` forwards.
const CURL_FUNCTIONS: [&str; 7] = [
    "curl_global_init",
    "curl_easy_init",
    "curl_easy_setopt",
    "curl_easy_getinfo",
    "curl_easy_perform",
    "curl_easy_cleanup",
    "curl_easy_strerror",
];

/// `cargo xtask real-master install`: everything a master needs, under
/// `target/real-mesos/` (see [`cluster::install_dir`]):
///
/// 1. the Debian libraries the Mesos library links, g++ and binutils: checked,
///    and installed with apt-get when missing (as root; otherwise the error
///    says what to install);
/// 2. `dl/`: the PyPI tarball, sha256-pinned (downloaded with curl, or
///    python3's urllib; `--tarball FILE` for a copy at hand), and
///    `lib/_scheduler.so` from it;
/// 3. `lib/libssl.so.1.0.0`, `lib/libcrypto.so.1.0.0`: stubs of every
///    OpenSSL 1.0 symbol the library references (`nm -D --undefined-only`),
///    with its version nodes; `lib/libcurl.so.4`: the libcurl shim;
/// 4. `bin/real-mesos`: the launcher, with stubs of the Python 2 C API the
///    library references, checked to load the library (`--check`); and
///    `bin/mesos-local`, `bin/mesos-containerizer` naming it;
/// 5. `bin/mesos-executor`: the `real-master-executor` package built with
///    `cargo build --release`, when the package is in the checkout.
///
/// Once: a stamp file (`.installed`) holding the recipe and the sources makes
/// a second run do nothing but check the executor is newer than its sources.
/// One install at a time across processes: a lock directory
/// (`.install.lock`), as `tests/interop/install.rs` does.
fn install(root: &Path, tarball: Option<&Path>) -> Result<()> {
    let began = Instant::now();
    let dir = cluster::install_dir(root);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let _lock = Lock::take(&dir.join(".install.lock"))?;
    if cluster::is_installed(root) {
        println!("real-master: Mesos {} is installed in {}", cluster::MESOS_VERSION, dir.display());
    } else {
        let _ = std::fs::remove_file(cluster::stamp_path(root));
        for sub in ["bin", "lib", "dl", "build"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        system_packages()?;
        let library = mesos_library(&dir, tarball)?;
        let undefined = undefined_symbols(&library)?;
        shims(root, &dir, &undefined)?;
        launcher(root, &dir, &undefined)?;
        write_atomically(&cluster::stamp_path(root), cluster::expected_stamp(root)?.as_bytes())?;
        println!("real-master: installed Mesos {} in {}", cluster::MESOS_VERSION, dir.display());
    }
    executor(root)?;
    println!("real-master: install took {:.1?}", began.elapsed());
    Ok(())
}

// --- 1. System packages ----------------------------------------------------------------

fn system_packages() -> Result<()> {
    let known = loader_cache()?;
    let mut missing: Vec<Vec<&str>> = Vec::new();
    for (library, packages) in SYSTEM_LIBRARIES {
        if !known.contains_key(library) && !missing.iter().any(|m| m == packages) {
            missing.push(packages.to_vec());
        }
    }
    for (tool, package) in TOOLS {
        if !on_path(tool) {
            missing.push(vec![package]);
        }
    }
    if !on_path("curl") && !on_path("python3") {
        missing.push(vec!["curl"]);
        missing.push(vec!["ca-certificates"]);
    }
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        let needed: Vec<String> = missing.iter().map(|p| p.join(" or ")).collect();
        bail!(
            "the real master needs these Debian packages: {} (as root: apt-get install {})",
            needed.join(", "),
            missing.iter().map(|p| p[0]).collect::<Vec<_>>().join(" ")
        );
    }
    let available = |package: &str| {
        Command::new("apt-cache")
            .args(["show", package])
            .output()
            .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
    };
    println!("real-master: apt-get update");
    output(Command::new("apt-get").args(["update", "-qq"]), "apt-get update")?;
    // Debian 13 renamed some libraries' packages (t64): take the name this
    // release has.
    let packages: Vec<String> = missing
        .iter()
        .map(|p| p.iter().rev().find(|name| available(name)).unwrap_or(&p[0]).to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    println!("real-master: apt-get install {}", packages.join(" "));
    output(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
        "apt-get install",
    )?;
    Ok(())
}

/// The dynamic loader's cache: soname → path, x86-64 libraries only.
fn loader_cache() -> Result<BTreeMap<String, PathBuf>> {
    let ldconfig = ["/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"]
        .into_iter()
        .find(|p| !p.starts_with('/') || Path::new(p).exists())
        .unwrap_or("ldconfig");
    let out = output(Command::new(ldconfig).arg("-p"), "ldconfig -p")?;
    let mut cache = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // "\tlibz.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libz.so.1"
        let Some((name, path)) = line.trim().split_once(" => ") else { continue };
        if let Some((soname, kind)) = name.split_once(' ')
            && kind.contains("x86-64")
        {
            cache.entry(soname.to_owned()).or_insert_with(|| PathBuf::from(path));
        }
    }
    Ok(cache)
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("Uid:").map(|ids| ids.split_whitespace().nth(1) == Some("0")))
        })
        .unwrap_or(false)
}

// --- 2. The Mesos library -----------------------------------------------------------------

/// `lib/_scheduler.so`, from the tarball in `dl/` (fetched when it is not
/// there with the right sha256).
fn mesos_library(dir: &Path, tarball: Option<&Path>) -> Result<PathBuf> {
    let kept = dir.join("dl").join(cluster::TARBALL_NAME);
    if sha256(&kept).ok().as_deref() != Some(cluster::TARBALL_SHA256) {
        let part = kept.with_extension("part");
        match tarball {
            Some(copy) => {
                std::fs::copy(copy, &part).with_context(|| format!("cannot copy {}", copy.display()))?;
            }
            None => download(cluster::TARBALL_URL, &part)?,
        }
        let sum = sha256(&part)?;
        if sum != cluster::TARBALL_SHA256 {
            let _ = std::fs::remove_file(&part);
            bail!("{} has sha256 {sum}, not the pinned {}", cluster::TARBALL_NAME, cluster::TARBALL_SHA256);
        }
        std::fs::rename(&part, &kept)?;
    }
    let unpacked = dir.join("build/tarball");
    let _ = std::fs::remove_dir_all(&unpacked);
    std::fs::create_dir_all(&unpacked)?;
    output(
        Command::new("tar")
            .arg("-xzf")
            .arg(&kept)
            .arg("--no-same-owner")
            .arg("-C")
            .arg(&unpacked)
            .arg(LIBRARY_IN_TARBALL),
        "extracting _scheduler.so",
    )?;
    let library = dir.join("lib/_scheduler.so");
    std::fs::rename(unpacked.join(LIBRARY_IN_TARBALL), &library)?;
    std::fs::remove_dir_all(&unpacked)?;
    Ok(library)
}

fn download(url: &str, to: &Path) -> Result<()> {
    println!("real-master: downloading {url}");
    let what = format!(
        "downloading {} from PyPI (needs the network to files.pythonhosted.org; \
         or pass --tarball FILE with a copy)",
        cluster::TARBALL_NAME
    );
    if on_path("curl") {
        output(
            Command::new("curl").args(["-fsSL", "--retry", "3", "--connect-timeout", "30", "-o"]).arg(to).arg(url),
            &what,
        )?;
    } else {
        let fetch = "import shutil, sys, urllib.request\n\
                     with urllib.request.urlopen(sys.argv[1], timeout=300) as r, open(sys.argv[2], 'wb') as f:\n    \
                     shutil.copyfileobj(r, f)";
        output(Command::new("python3").arg("-c").arg(fetch).arg(url).arg(to), &what)?;
    }
    Ok(())
}

fn sha256(path: &Path) -> Result<String> {
    if !path.exists() {
        bail!("{} does not exist", path.display());
    }
    let out = output(Command::new("sha256sum").arg(path), "sha256sum")?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.split_whitespace().next().unwrap_or_default().to_owned())
}

/// The library's undefined dynamic symbols: name → version ("" when none).
fn undefined_symbols(library: &Path) -> Result<BTreeMap<String, String>> {
    let out = output(Command::new("nm").args(["-D", "--undefined-only"]).arg(library), "nm -D --undefined-only")?;
    let mut symbols = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // "                 U SSL_read@OPENSSL_1.0.0"
        let Some(symbol) = line.split_whitespace().nth(1) else { continue };
        let (name, version) = symbol.split_once('@').unwrap_or((symbol, ""));
        symbols.insert(name.to_owned(), version.trim_start_matches('@').to_owned());
    }
    Ok(symbols)
}

// --- 3. Shim libraries ---------------------------------------------------------------------

fn shims(root: &Path, dir: &Path, undefined: &BTreeMap<String, String>) -> Result<()> {
    // OpenSSL 1.0: one stub library under both names; each version node
    // inherits the one before, as OpenSSL's own do.
    let mut source = String::from(
        "/* Generated by `cargo xtask real-master install` from the Mesos library's undefined\n \
         * symbols: OpenSSL 1.0 is not in Debian, and libprocess calls it only with SSL\n \
         * enabled, which the real master does not support. */\n\
         #include <stdio.h>\n\n\
         static long called(const char* name)\n{\n  \
         fprintf(stderr, \"real-master: OpenSSL 1.0 is a stub here (no SSL): %s called\\n\", name);\n  \
         return 0;\n}\n\n",
    );
    let mut script = String::new();
    let mut previous: Option<&str> = None;
    for version in OPENSSL_VERSIONS {
        let names: Vec<&String> = undefined.iter().filter(|(_, v)| *v == version).map(|(name, _)| name).collect();
        if names.is_empty() {
            continue;
        }
        script.push_str(&format!("{version} {{\n  global:\n"));
        for name in names {
            source.push_str(&format!("long {name}(void) {{ return called(\"{name}\"); }}\n"));
            script.push_str(&format!("    {name};\n"));
        }
        match previous {
            None => script.push_str("  local: *;\n};\n"),
            Some(previous) => script.push_str(&format!("}} {previous};\n")),
        }
        previous = Some(version);
    }
    let others: Vec<&String> = undefined
        .iter()
        .filter(|(_, v)| v.starts_with("OPENSSL_") && !OPENSSL_VERSIONS.contains(&v.as_str()))
        .map(|(n, _)| n)
        .collect();
    if !others.is_empty() {
        bail!("the Mesos library asks for OpenSSL symbols of versions this install does not know: {others:?}");
    }
    let stub_c = dir.join("build/openssl-stub.c");
    let stub_map = dir.join("build/openssl-stub.map");
    std::fs::write(&stub_c, source)?;
    std::fs::write(&stub_map, script)?;
    for name in ["libssl.so.1.0.0", "libcrypto.so.1.0.0"] {
        compile(
            Command::new("gcc")
                .args(["-shared", "-fPIC", "-O2", "-w"])
                .arg(format!("-Wl,-soname,{name}"))
                .arg(format!("-Wl,--version-script={}", stub_map.display()))
                .arg(&stub_c),
            &dir.join("lib").join(name),
        )?;
    }

    // libcurl: the shim forwards the functions the library uses to the
    // system's libcurl, by its full path.
    let wanted: Vec<&String> = undefined.iter().filter(|(_, v)| *v == "CURL_OPENSSL_3").map(|(n, _)| n).collect();
    if let Some(name) = wanted.iter().find(|name| !CURL_FUNCTIONS.contains(&name.as_str())) {
        bail!("the Mesos library uses {name}@CURL_OPENSSL_3, which xtask/real-master/libcurl-shim.c does not forward");
    }
    let system_libcurl = loader_cache()?.remove("libcurl.so.4").context("no libcurl.so.4 in the loader's cache")?;
    let sources = root.join("xtask/real-master");
    compile(
        Command::new("gcc")
            .args(["-shared", "-fPIC", "-O2", "-Wall", "-Wl,-soname,libcurl.so.4"])
            .arg(format!("-Wl,--version-script={}", sources.join("libcurl-shim.map").display()))
            .arg(format!("-DSYSTEM_LIBCURL=\"{}\"", system_libcurl.display()))
            .arg(sources.join("libcurl-shim.c"))
            .args(["-ldl", "-lpthread"]),
        &dir.join("lib/libcurl.so.4"),
    )
}

// --- 4. The launcher -----------------------------------------------------------------------

fn launcher(root: &Path, dir: &Path, undefined: &BTreeMap<String, String>) -> Result<()> {
    // The Python 2 C API the library references (it is a Python extension):
    // data for the exception types and None, functions that abort if ever
    // called (they are not: the module's init function never runs).
    let mut source = String::from(
        "// Generated by `cargo xtask real-master install` from the Mesos library's undefined symbols.\n\
         #include <stdio.h>\n#include <stdlib.h>\n\nextern \"C\" {\n\n",
    );
    for (name, _) in undefined.iter().filter(|(name, version)| version.is_empty() && python_symbol(name)) {
        if name.starts_with("PyExc_") {
            source.push_str(&format!("void* {name} = nullptr;\n"));
        } else if name.starts_with("_Py_") {
            source.push_str(&format!("char {name}[64];\n"));
        } else {
            source.push_str(&format!(
                "void {name}() {{ fprintf(stderr, \"real-master: Python stub {name} called\\n\"); abort(); }}\n"
            ));
        }
    }
    source.push_str("\n} // extern \"C\"\n");
    let stubs = dir.join("build/python-stubs.cpp");
    std::fs::write(&stubs, source)?;

    let launcher = cluster::launcher(root);
    compile(
        Command::new("g++")
            .args(["-std=c++17", "-O2", "-Wall"])
            .arg(root.join("xtask/real-master/launcher.cpp"))
            .arg(&stubs)
            .args(["-rdynamic", "-ldl", "-Wl,--disable-new-dtags", "-Wl,-rpath,$ORIGIN/../lib"]),
        &launcher,
    )?;
    for name in ["mesos-local", "mesos-containerizer"] {
        let link = dir.join("bin").join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("real-mesos", &link)?;
    }
    output(Command::new(&launcher).arg("--check"), "checking that the launcher loads the Mesos library")?;
    Ok(())
}

fn python_symbol(name: &str) -> bool {
    name.starts_with("Py") || name.starts_with("_Py")
}

/// Runs a compiler command with `-o OUT.tmp`, then moves the result to `out`
/// (running masters keep the file they loaded).
fn compile(command: &mut Command, out: &Path) -> Result<()> {
    let temporary = out.with_file_name(format!(".{}.tmp", out.file_name().unwrap_or_default().to_string_lossy()));
    output(command.arg("-o").arg(&temporary), &format!("building {}", out.display()))?;
    std::fs::rename(&temporary, out)?;
    Ok(())
}

// --- 5. The command executor --------------------------------------------------------------

/// The workspace package of the command executor, and its binary.
const EXECUTOR_PACKAGE: &str = "real-master-executor";
const EXECUTOR_DIR: &str = "xtask/executor";

/// Builds and installs `bin/mesos-executor` when the package is in the
/// checkout and the installed one is older than one of its files.
fn executor(root: &Path) -> Result<()> {
    let package = root.join(EXECUTOR_DIR);
    let installed = cluster::installed_executor(root);
    if !package.join("Cargo.toml").exists() {
        println!(
            "real-master: no {EXECUTOR_DIR} (package `{EXECUTOR_PACKAGE}`) in this checkout: no command executor \
             installed; the agents can start tasks only with `start --executor PATH`"
        );
        return Ok(());
    }
    let built = std::fs::metadata(&installed).and_then(|m| m.modified()).ok();
    if built.is_some_and(|built| newest(&package).is_some_and(|newest| newest <= built)) {
        return Ok(());
    }
    println!("real-master: cargo build --release -p {EXECUTOR_PACKAGE}");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = output(
        Command::new(cargo)
            .args(["build", "--release", "--package", EXECUTOR_PACKAGE, "--message-format=json-render-diagnostics"])
            .current_dir(root)
            .stderr(Stdio::inherit()),
        &format!("building the command executor (cargo build --release -p {EXECUTOR_PACKAGE})"),
    )?;
    let executable = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "mesos-executor")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .with_context(|| format!("cargo built no `mesos-executor` binary in package {EXECUTOR_PACKAGE}"))?;
    let temporary = installed.with_file_name(".mesos-executor.tmp");
    std::fs::copy(&executable, &temporary).with_context(|| format!("cannot copy {}", executable.display()))?;
    std::fs::rename(&temporary, &installed)?;
    println!("real-master: installed {}", installed.display());
    Ok(())
}

/// The newest modification time of the files under `dir`, `target/` aside.
fn newest(dir: &Path) -> Option<SystemTime> {
    let mut latest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let time = if path.is_dir() {
            if entry.file_name() == "target" {
                continue;
            }
            newest(&path)
        } else {
            entry.metadata().and_then(|m| m.modified()).ok()
        };
        latest = latest.max(time);
    }
    latest
}

// --- Helpers -----------------------------------------------------------------------------------

fn output(command: &mut Command, what: &str) -> Result<Output> {
    let out = command.output().with_context(|| format!("{what}: cannot run {:?}", command.get_program()))?;
    if !out.status.success() {
        bail!(
            "{what}: {} failed ({})\n{}{}",
            command.get_program().to_string_lossy(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}

/// One installer at a time across processes: a directory made with
/// `create_dir` (atomic), removed on drop. A lock older than ten minutes was
/// left by a killed installer and is broken.
struct Lock(PathBuf);

impl Lock {
    fn take(path: &Path) -> Result<Lock> {
        let deadline = Instant::now() + Duration::from_secs(900);
        let mut said = false;
        loop {
            match std::fs::create_dir(path) {
                Ok(()) => return Ok(Lock(path.to_owned())),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = std::fs::metadata(path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok());
                    if age.is_some_and(|age| age > Duration::from_secs(600)) {
                        let _ = std::fs::remove_dir(path);
                        continue;
                    }
                    if Instant::now() > deadline {
                        bail!("{} is held by another install for too long", path.display());
                    }
                    if !said {
                        println!("real-master: waiting for another install ({})", path.display());
                        said = true;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(e).with_context(|| format!("cannot make {}", path.display())),
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}
