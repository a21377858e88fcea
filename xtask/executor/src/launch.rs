//! Starting and signalling the task: executor.cpp's environment merge in
//! `launch()`, `launchTaskSubprocess()` (the `mesos.slave.ContainerLaunchInfo`
//! JSON and the `mesos-containerizer launch` command line), and stout's
//! `os::killtree` over `/proc`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};

use mesos_codec::v1::{CommandInfo, Environment, environment::Variable, environment::variable};
use serde_json::{Map, Value};

use crate::config::{AUTH_TOKEN_VAR, Flags};

/// `MESOS_CONTAINERIZER` (src/slave/containerizer/mesos/constants.hpp).
pub const MESOS_CONTAINERIZER: &str = "mesos-containerizer";

/// The task's environment, by executor.cpp's priorities: the executor's
/// own environment (each as a `VALUE` variable), overridden by the
/// isolators' `--task_environment`, overridden by the command's
/// environment (secrets skipped in both), plus `MESOS_ALLOCATION_ROLE`.
/// Sorted by name (executor.cpp's hashmap has no order). `note` hears of
/// each variable overwritten with a different value.
pub fn task_environment(
    os_env: &[(String, String)],
    isolator_env: Option<&Environment>,
    command_env: Option<&Environment>,
    role: &str,
    mut note: impl FnMut(&str),
) -> Environment {
    let mut merged: BTreeMap<String, Variable> = BTreeMap::new();
    let value = |name: &str, value: &str| {
        let mut v = Variable { name: name.to_string(), value: Some(value.to_string()), ..Variable::default() };
        v.set_type(variable::Type::Value);
        v
    };
    for (name, v) in os_env {
        merged.insert(name.clone(), value(name, v));
    }
    for env in [isolator_env, command_env].into_iter().flatten() {
        for variable in &env.variables {
            if variable.r#type() == variable::Type::Secret {
                continue;
            }
            if let Some(old) = merged.get(&variable.name)
                && old.value() != variable.value()
            {
                note(&variable.name);
            }
            merged.insert(variable.name.clone(), variable.clone());
        }
    }
    merged.insert("MESOS_ALLOCATION_ROLE".into(), value("MESOS_ALLOCATION_ROLE", role));
    Environment { variables: merged.into_values().collect() }
}

/// A v1 message as the JSON value stout's `JSON::protobuf` makes of the
/// same (wire-identical) internal message.
fn message_json<T: prost::Message + prost::Name>(message: &T) -> Result<Value, String> {
    let json = mesos_codec::json::to_json(message).map_err(|e| e.to_string())?;
    serde_json::from_slice(&json).map_err(|e| e.to_string())
}

/// What `launchTaskSubprocess()` decides: the `ContainerLaunchInfo`
/// (as JSON, keys sorted as stout's `JSON::Object` writes them) and the
/// `unshare_namespace_mnt` flag.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchInfo {
    pub json: Map<String, Value>,
    pub unshare_namespace_mnt: bool,
}

/// Builds the `ContainerLaunchInfo` of `launchTaskSubprocess()`: the
/// command and environment; with a rootfs the rootfs, the working
/// directory (the flag, else the sandbox directory) and a new mount
/// namespace; the user; the capabilities; mounts, file operations,
/// pre-exec commands and clone namespaces from `--task_launch_info`; the
/// supplementary groups. (The rootfs case's `chown` of the sandbox is the
/// caller's.)
pub fn launch_info(command: &CommandInfo, environment: &Environment, flags: &Flags) -> Result<LaunchInfo, String> {
    let mut info = Map::new();
    let mut unshare_namespace_mnt = false;
    info.insert("command".into(), message_json(command)?);
    if let Some(rootfs) = &flags.rootfs {
        unshare_namespace_mnt = true;
        info.insert("rootfs".into(), rootfs.clone().into());
        let working_directory = flags
            .working_directory
            .as_ref()
            .or(flags.sandbox_directory.as_ref())
            .ok_or("a rootfs needs --sandbox_directory (CHECK_SOME(sandboxDirectory))")?;
        info.insert("working_directory".into(), working_directory.clone().into());
    }
    info.insert("environment".into(), message_json(environment)?);
    if let Some(user) = &flags.user {
        info.insert("user".into(), user.clone().into());
    }
    if let Some(caps) = &flags.effective_capabilities {
        info.insert("effective_capabilities".into(), message_json(caps)?);
    }
    if let Some(caps) = &flags.bounding_capabilities {
        info.insert("bounding_capabilities".into(), message_json(caps)?);
    }
    if let Some(task_launch_info) = &flags.task_launch_info {
        for key in ["mounts", "file_operations", "pre_exec_commands", "clone_namespaces"] {
            match task_launch_info.get(key) {
                // Empty repeated fields are not written.
                Some(Value::Array(items)) if items.is_empty() => {}
                Some(Value::Null) | None => {}
                Some(value) => {
                    info.insert(key.into(), value.clone());
                }
            }
        }
    }
    if let Some(groups) = flags.task_supplementary_groups.as_ref().filter(|g| !g.is_empty()) {
        info.insert("supplementary_groups".into(), groups.clone().into());
    }
    Ok(LaunchInfo { json: info, unshare_namespace_mnt })
}

/// The arguments after `argv[0]` (`mesos-containerizer`): the `launch`
/// subcommand, then every `MesosContainerizerLaunch::Flags` flag that has
/// a value, in name order, as libprocess's `subprocess()` writes them
/// (`help` and `unshare_namespace_mnt` have defaults).
pub fn containerizer_args(info: &LaunchInfo) -> Vec<String> {
    vec![
        "launch".into(),
        "--help=false".into(),
        format!("--launch_info={}", Value::Object(info.json.clone())),
        format!("--unshare_namespace_mnt={}", info.unshare_namespace_mnt),
    ]
}

/// Starts `<launcher_dir>/mesos-containerizer launch ...` with the
/// executor's stdin, stdout and stderr and environment (less the
/// authentication token), in a new session unless the task has a tty
/// (`Subprocess::ChildHook::SETSID()`).
pub fn spawn(launcher_dir: &str, args: &[String], new_session: bool) -> io::Result<Child> {
    let mut command = Command::new(Path::new(launcher_dir).join(MESOS_CONTAINERIZER));
    command.arg0(MESOS_CONTAINERIZER).args(args).env_remove(AUTH_TOKEN_VAR);
    if new_session {
        // SAFETY: the closure runs in the forked child before exec and only
        // calls setsid(2), which is async-signal-safe; it touches no memory
        // of the parent.
        unsafe {
            command.pre_exec(|| if libc::setsid() == -1 { Err(io::Error::last_os_error()) } else { Ok(()) });
        }
    }
    command.spawn()
}

/// Sends `signal` to one process; false if it failed (e.g. it is gone).
pub fn send_signal(pid: i32, signal: i32) -> bool {
    // SAFETY: kill(2) takes plain integers and touches no memory.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// The effective user id (the rootfs case needs root).
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// One line of the process table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    pub pid: i32,
    pub parent: i32,
    pub group: i32,
    pub session: i32,
    pub command: String,
}

/// Parses `/proc/<pid>/stat`: `pid (comm) state ppid pgrp session ...`
/// (comm may hold spaces and parentheses: it ends at the last `)`).
pub fn parse_stat(stat: &str) -> Option<Proc> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let pid = stat[..open].trim().parse().ok()?;
    let command = stat.get(open + 1..close)?.to_string();
    let mut rest = stat[close + 1..].split_whitespace();
    let _state = rest.next()?;
    let parent = rest.next()?.parse().ok()?;
    let group = rest.next()?.parse().ok()?;
    let session = rest.next()?.parse().ok()?;
    Some(Proc { pid, parent, group, session, command })
}

fn process(pid: i32) -> Option<Proc> {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().as_deref().and_then(parse_stat)
}

fn processes() -> io::Result<Vec<Proc>> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        if let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok())
            && let Some(p) = process(pid)
        {
            all.push(p);
        }
    }
    Ok(all)
}

/// The pids `os::killtree(pid, signal, groups = true, sessions = true)`
/// visits, given how to read the process table: the tree rooted at `pid`,
/// with every process of each group and session met on the way, but not
/// the group and session of `pid`'s parent; if `pid` is gone, the
/// processes of the group or session it led. `stop` is called on each pid
/// as it is visited (killtree stops it so that it cannot fork).
pub fn tree_to_signal(
    pid: i32,
    mut table: impl FnMut() -> io::Result<Vec<Proc>>,
    mut lookup: impl FnMut(i32) -> Option<Proc>,
    mut stop: impl FnMut(i32),
) -> io::Result<Vec<Proc>> {
    let mut all = table()?;
    let root = all.iter().find(|p| p.pid == pid).cloned();
    let mut queue = VecDeque::new();
    let (mut seen_groups, mut seen_sessions) = (BTreeSet::new(), BTreeSet::new());
    match &root {
        None => {
            queue.extend(all.iter().filter(|p| p.group == pid || p.session == pid).map(|p| p.pid));
        }
        Some(root) => {
            queue.push_back(pid);
            if let Some(parent) = all.iter().find(|p| p.pid == root.parent) {
                seen_groups.insert(parent.group);
                seen_sessions.insert(parent.session);
            }
        }
    }
    let mut visited: Vec<Proc> = Vec::new();
    while let Some(next) = queue.pop_front() {
        if visited.iter().any(|p| p.pid == next) {
            continue;
        }
        let Some(current) = lookup(next) else { continue };
        stop(next);
        visited.push(current.clone());
        all = table()?;
        queue.extend(all.iter().filter(|p| p.parent == next).map(|p| p.pid));
        if seen_groups.insert(current.group) {
            queue.extend(all.iter().filter(|p| p.group == current.group).map(|p| p.pid));
        }
        if seen_sessions.insert(current.session) {
            queue.extend(all.iter().filter(|p| p.session == current.session).map(|p| p.pid));
        }
    }
    Ok(visited)
}

/// stout's `os::killtree(pid, signal, true, true)`: stops every process
/// of the tree (see [`tree_to_signal`]), signals them all, then continues
/// them. Returns the processes signalled.
pub fn killtree(pid: i32, signal: i32) -> io::Result<Vec<Proc>> {
    let visited = tree_to_signal(pid, processes, process, |p| {
        send_signal(p, libc::SIGSTOP);
    })?;
    for p in &visited {
        send_signal(p.pid, signal);
    }
    for p in &visited {
        send_signal(p.pid, libc::SIGCONT);
    }
    Ok(visited)
}

/// The uid and gid of `user` from `/etc/passwd` (for the rootfs case's
/// `chown` of the sandbox).
pub fn passwd_ids(passwd: &str, user: &str) -> Option<(u32, u32)> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == user).then_some(())?;
        let _password = fields.next()?;
        Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, value: &str, t: variable::Type) -> Variable {
        let mut v = Variable { name: name.into(), value: Some(value.into()), ..Variable::default() };
        v.set_type(t);
        v
    }

    #[test]
    fn environment_priorities() {
        let os_env = vec![("PATH".to_string(), "/bin".to_string()), ("HOME".to_string(), "/root".to_string())];
        let isolator = Environment {
            variables: vec![var("HOME", "/home/x", variable::Type::Value), var("S", "x", variable::Type::Secret)],
        };
        let command = Environment {
            variables: vec![
                var("HOME", "/home/y", variable::Type::Value),
                var("PATH", "/bin", variable::Type::Value),
                var("NEW", "1", variable::Type::Value),
                var("MESOS_ALLOCATION_ROLE", "mine", variable::Type::Value),
            ],
        };
        let mut notes = Vec::new();
        let env = task_environment(&os_env, Some(&isolator), Some(&command), "*", |n| notes.push(n.to_string()));
        let pairs: Vec<_> = env.variables.iter().map(|v| (v.name.as_str(), v.value())).collect();
        assert_eq!(pairs, [("HOME", "/home/y"), ("MESOS_ALLOCATION_ROLE", "*"), ("NEW", "1"), ("PATH", "/bin")]);
        assert_eq!(notes, ["HOME", "HOME"]);
        assert!(env.variables.iter().all(|v| v.r#type() == variable::Type::Value));
    }

    #[test]
    fn launch_info_for_a_shell_command() {
        let command = CommandInfo { value: Some("/bin/sleep 3000s".into()), ..CommandInfo::default() };
        let env = task_environment(&[("A".into(), "1".into())], None, None, "*", |_| {});
        let flags = Flags { launcher_dir: "/x".into(), ..Flags::default() };
        let info = launch_info(&command, &env, &flags).unwrap();
        assert!(!info.unshare_namespace_mnt);
        let args = containerizer_args(&info);
        assert_eq!(
            args,
            [
                "launch",
                "--help=false",
                r#"--launch_info={"command":{"shell":true,"value":"/bin/sleep 3000s"},"environment":{"variables":[{"name":"A","type":"VALUE","value":"1"},{"name":"MESOS_ALLOCATION_ROLE","type":"VALUE","value":"*"}]}}"#,
                "--unshare_namespace_mnt=false",
            ]
        );
    }

    #[test]
    fn launch_info_with_every_flag() {
        let command = CommandInfo {
            shell: Some(false),
            value: Some("/bin/echo".into()),
            arguments: vec!["echo".into(), "hi".into()],
            ..CommandInfo::default()
        };
        let task_launch_info = serde_json::json!({
            "mounts": [{"source": "/a", "target": "/b"}],
            "clone_namespaces": [],
            "rlimits": {"rlimits": []},
        });
        let flags = Flags {
            rootfs: Some("/rootfs".into()),
            sandbox_directory: Some("/mnt/mesos/sandbox".into()),
            user: Some("nobody".into()),
            effective_capabilities: Some(mesos_codec::json::from_json(br#"{"capabilities":["CHOWN"]}"#).unwrap()),
            task_launch_info: task_launch_info.as_object().cloned(),
            task_supplementary_groups: Some(vec![5, 6]),
            launcher_dir: "/x".into(),
            ..Flags::default()
        };
        let env = Environment::default();
        let info = launch_info(&command, &env, &flags).unwrap();
        assert!(info.unshare_namespace_mnt);
        assert_eq!(
            Value::Object(info.json),
            serde_json::json!({
                "command": {"shell": false, "value": "/bin/echo", "arguments": ["echo", "hi"]},
                "environment": {},
                "rootfs": "/rootfs",
                "working_directory": "/mnt/mesos/sandbox",
                "user": "nobody",
                "effective_capabilities": {"capabilities": ["CHOWN"]},
                "mounts": [{"source": "/a", "target": "/b"}],
                "supplementary_groups": [5, 6],
            })
        );
        let flags = Flags { working_directory: Some("/work".into()), ..flags };
        let info = launch_info(&command, &env, &flags).unwrap();
        assert_eq!(info.json["working_directory"], "/work");
        let flags = Flags { working_directory: None, sandbox_directory: None, ..flags };
        assert!(launch_info(&command, &env, &flags).is_err());
    }

    #[test]
    fn stat_lines() {
        assert_eq!(
            parse_stat("4242 (sleep) S 4200 4242 4242 0 -1 4194304 ..."),
            Some(Proc { pid: 4242, parent: 4200, group: 4242, session: 4242, command: "sleep".into() })
        );
        assert_eq!(parse_stat("7 (a) b) (c) R 1 2 3 0").unwrap().command, "a) b) (c");
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 0"), None);
    }

    fn p(pid: i32, parent: i32, group: i32, session: i32) -> Proc {
        Proc { pid, parent, group, session, command: String::new() }
    }

    #[test]
    fn killtree_walks_tree_groups_and_sessions_but_not_up() {
        // 10: executor (session 1); 20: the task's init (setsid: session 20);
        // 21: its child; 30: a daemon of the task re-parented to init but
        // still in session 20; 40: an unrelated process in the executor's
        // group; 22: a child of 21 in a new group of session 20.
        let table = vec![
            p(1, 0, 1, 1),
            p(10, 1, 1, 1),
            p(20, 10, 20, 20),
            p(21, 20, 20, 20),
            p(22, 21, 22, 20),
            p(30, 1, 30, 20),
            p(40, 1, 1, 1),
        ];
        let mut stopped = Vec::new();
        let lookup = |pid| table.iter().find(|p| p.pid == pid).cloned();
        let visited = tree_to_signal(20, || Ok(table.clone()), lookup, |pid| stopped.push(pid)).unwrap();
        let mut pids: Vec<_> = visited.iter().map(|p| p.pid).collect();
        pids.sort();
        assert_eq!(pids, [20, 21, 22, 30]);
        stopped.sort();
        assert_eq!(stopped, pids);

        // The root is gone: its group and session are still found.
        let without_root: Vec<_> = table.iter().filter(|p| p.pid != 20).cloned().collect();
        let lookup = |pid| without_root.iter().find(|p| p.pid == pid).cloned();
        let visited = tree_to_signal(20, || Ok(without_root.clone()), lookup, |_| {}).unwrap();
        let mut pids: Vec<_> = visited.iter().map(|p| p.pid).collect();
        pids.sort();
        assert_eq!(pids, [21, 22, 30]);

        // Nothing left at all.
        let visited = tree_to_signal(99, || Ok(table.clone()), |_| None, |_| {}).unwrap();
        assert!(visited.is_empty());
    }

    #[test]
    fn passwd_lookup() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
        assert_eq!(passwd_ids(passwd, "nobody"), Some((65534, 65534)));
        assert_eq!(passwd_ids(passwd, "root"), Some((0, 0)));
        assert_eq!(passwd_ids(passwd, "nob"), None);
        assert_eq!(passwd_ids("bad", "bad"), None);
    }
}
