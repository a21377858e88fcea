//! Task statuses as executor.cpp builds them: `createTaskStatus`, the
//! messages of `reaped()` (`WSTRINGIFY` of src/common/status_utils.hpp,
//! with glibc's `strsignal` texts) and random status uuids.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use mesos_codec::v1::{
    CheckStatusInfo, ExecutorId, TaskId, TaskState, TaskStatus, check_info, check_status_info, task_status,
};

/// glibc's `strsignal()` texts for Linux (x86-64 numbering), as the C++
/// executor's `WSTRINGIFY` gets them.
pub fn strsignal(signal: i32) -> String {
    const NAMES: [&str; 32] = [
        "",
        "Hangup",
        "Interrupt",
        "Quit",
        "Illegal instruction",
        "Trace/breakpoint trap",
        "Aborted",
        "Bus error",
        "Floating point exception",
        "Killed",
        "User defined signal 1",
        "Segmentation fault",
        "User defined signal 2",
        "Broken pipe",
        "Alarm clock",
        "Terminated",
        "Stack fault",
        "Child exited",
        "Continued",
        "Stopped (signal)",
        "Stopped",
        "Stopped (tty input)",
        "Stopped (tty output)",
        "Urgent I/O condition",
        "CPU time limit exceeded",
        "File size limit exceeded",
        "Virtual timer expired",
        "Profiling timer expired",
        "Window changed",
        "I/O possible",
        "Power failure",
        "Bad system call",
    ];
    // glibc's run-time SIGRTMIN (two real-time signals are kept by NPTL).
    const SIGRTMIN: i32 = 34;
    const SIGRTMAX: i32 = 64;
    match signal {
        1..=31 => NAMES[signal as usize].to_string(),
        SIGRTMIN..=SIGRTMAX => format!("Real-time signal {}", signal - SIGRTMIN),
        _ => format!("Unknown signal {signal}"),
    }
}

/// A `wait(2)` status, as `WSTRINGIFY` tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStatus {
    Exited(i32),
    Signaled { signal: i32, core_dumped: bool },
    Stopped(i32),
    Other(i32),
}

impl WaitStatus {
    pub fn from_exit_status(status: ExitStatus) -> WaitStatus {
        if let Some(code) = status.code() {
            WaitStatus::Exited(code)
        } else if let Some(signal) = status.signal() {
            WaitStatus::Signaled { signal, core_dumped: status.core_dumped() }
        } else if let Some(signal) = status.stopped_signal() {
            WaitStatus::Stopped(signal)
        } else {
            WaitStatus::Other(status.into_raw())
        }
    }

    /// `WSUCCEEDED`.
    pub fn succeeded(self) -> bool {
        self == WaitStatus::Exited(0)
    }

    /// `WSTRINGIFY`: `exited with status 3`, `terminated with signal
    /// Terminated`, ...
    pub fn describe(self) -> String {
        match self {
            WaitStatus::Exited(code) => format!("exited with status {code}"),
            WaitStatus::Signaled { signal, core_dumped } => {
                let core = if core_dumped { " (core dumped)" } else { "" };
                format!("terminated with signal {}{core}", strsignal(signal))
            }
            WaitStatus::Stopped(signal) => format!("stopped on signal {}", strsignal(signal)),
            WaitStatus::Other(raw) => format!("wait status {raw}"),
        }
    }
}

/// `protobuf::isTerminalState`.
pub fn is_terminal(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::TaskFinished
            | TaskState::TaskFailed
            | TaskState::TaskKilled
            | TaskState::TaskError
            | TaskState::TaskLost
            | TaskState::TaskDropped
            | TaskState::TaskGone
    )
}

/// Fills `buf` from the kernel's random source (`/dev/urandom`); if that
/// cannot be read, from std's randomly seeded hasher (good enough for
/// uuids and backoff jitter, which is all this is used for).
pub fn random_bytes(buf: &mut [u8]) {
    if std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(buf)).is_ok() {
        return;
    }
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    for (i, chunk) in buf.chunks_mut(8).enumerate() {
        let mut hasher = state.build_hasher();
        hasher.write_usize(i);
        hasher.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos());
        chunk.copy_from_slice(&hasher.finish().to_le_bytes()[..chunk.len()]);
    }
}

/// `id::UUID::random()`: a random (version 4, RFC 4122 variant) uuid.
pub fn random_uuid() -> [u8; 16] {
    let mut uuid = [0u8; 16];
    random_bytes(&mut uuid);
    uuid[6] = (uuid[6] & 0x0f) | 0x40;
    uuid[8] = (uuid[8] & 0x3f) | 0x80;
    uuid
}

/// A uuid's canonical text (`8-4-4-4-12` lowercase hex), for the log.
pub fn uuid_string(uuid: &[u8]) -> String {
    let hex: String = uuid.iter().map(|b| format!("{b:02x}")).collect();
    if uuid.len() != 16 {
        return hex;
    }
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// `Clock::now().secs()`: the wall clock in seconds.
pub fn now_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64()
}

/// executor.cpp's `createTaskStatus`: `protobuf::createTaskStatus` (task
/// id, state, uuid, timestamp), then the executor id, `SOURCE_EXECUTOR`,
/// the reason and message if given, and an empty `check_status` of the
/// task's check type when the task defines a check.
pub struct NewStatus<'a> {
    pub task_id: &'a TaskId,
    pub state: TaskState,
    pub executor_id: &'a str,
    pub reason: Option<task_status::Reason>,
    pub message: Option<String>,
    /// The type of the task's `check`, if it has one.
    pub check: Option<check_info::Type>,
}

impl NewStatus<'_> {
    pub fn build(self, uuid: [u8; 16], timestamp: f64) -> TaskStatus {
        let mut status = TaskStatus {
            task_id: self.task_id.clone(),
            uuid: Some(Bytes::copy_from_slice(&uuid)),
            timestamp: Some(timestamp),
            executor_id: Some(ExecutorId { value: self.executor_id.to_string() }),
            message: self.message,
            ..TaskStatus::default()
        };
        status.set_state(self.state);
        status.set_source(task_status::Source::Executor);
        if let Some(reason) = self.reason {
            status.set_reason(reason);
        }
        if let Some(check) = self.check {
            let mut info = CheckStatusInfo::default();
            info.set_type(check);
            match check {
                check_info::Type::Command => info.command = Some(check_status_info::Command::default()),
                check_info::Type::Http => info.http = Some(check_status_info::Http::default()),
                check_info::Type::Tcp => info.tcp = Some(check_status_info::Tcp::default()),
                check_info::Type::Unknown => {}
            }
            status.check_status = Some(info);
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strsignal_matches_glibc() {
        assert_eq!(strsignal(15), "Terminated");
        assert_eq!(strsignal(9), "Killed");
        assert_eq!(strsignal(2), "Interrupt");
        assert_eq!(strsignal(6), "Aborted");
        assert_eq!(strsignal(11), "Segmentation fault");
        assert_eq!(strsignal(19), "Stopped (signal)");
        assert_eq!(strsignal(31), "Bad system call");
        assert_eq!(strsignal(32), "Unknown signal 32");
        assert_eq!(strsignal(34), "Real-time signal 0");
        assert_eq!(strsignal(64), "Real-time signal 30");
        assert_eq!(strsignal(65), "Unknown signal 65");
        assert_eq!(strsignal(0), "Unknown signal 0");
        assert_eq!(strsignal(-1), "Unknown signal -1");
    }

    #[test]
    fn wait_status_texts() {
        assert_eq!(format!("Command {}", WaitStatus::Exited(3).describe()), "Command exited with status 3");
        assert_eq!(
            format!("Command {}", WaitStatus::Signaled { signal: 15, core_dumped: false }.describe()),
            "Command terminated with signal Terminated"
        );
        assert_eq!(
            WaitStatus::Signaled { signal: 11, core_dumped: true }.describe(),
            "terminated with signal Segmentation fault (core dumped)"
        );
        assert_eq!(WaitStatus::Stopped(19).describe(), "stopped on signal Stopped (signal)");
        assert!(WaitStatus::Exited(0).succeeded());
        assert!(!WaitStatus::Exited(1).succeeded());
        assert!(!WaitStatus::Signaled { signal: 9, core_dumped: false }.succeeded());
    }

    #[test]
    fn wait_status_from_raw_statuses() {
        assert_eq!(WaitStatus::from_exit_status(ExitStatus::from_raw(3 << 8)), WaitStatus::Exited(3));
        assert_eq!(
            WaitStatus::from_exit_status(ExitStatus::from_raw(15)),
            WaitStatus::Signaled { signal: 15, core_dumped: false }
        );
        assert_eq!(
            WaitStatus::from_exit_status(ExitStatus::from_raw(11 | 0x80)),
            WaitStatus::Signaled { signal: 11, core_dumped: true }
        );
    }

    #[test]
    fn terminal_states() {
        assert!(is_terminal(TaskState::TaskKilled));
        assert!(is_terminal(TaskState::TaskFinished));
        assert!(is_terminal(TaskState::TaskFailed));
        assert!(!is_terminal(TaskState::TaskRunning));
        assert!(!is_terminal(TaskState::TaskKilling));
        assert!(!is_terminal(TaskState::TaskStarting));
    }

    #[test]
    fn uuids_are_random_v4() {
        let (a, b) = (random_uuid(), random_uuid());
        assert_ne!(a, b);
        assert_eq!(a[6] >> 4, 4);
        assert_eq!(a[8] >> 6, 2);
        let text = uuid_string(&a);
        assert_eq!(text.len(), 36);
        assert_eq!(text.matches('-').count(), 4);
        assert_eq!(uuid_string(&[0xab, 0x01]), "ab01");
    }

    #[test]
    fn status_as_create_task_status_builds_it() {
        let task_id = TaskId { value: "t1".into() };
        let status = NewStatus {
            task_id: &task_id,
            state: TaskState::TaskFailed,
            executor_id: "e1",
            reason: Some(task_status::Reason::MaxCompletionTimeReached),
            message: Some("Command exited with status 3".into()),
            check: None,
        }
        .build([7; 16], 1234.5);
        assert_eq!(status.task_id.value, "t1");
        assert_eq!(status.state(), TaskState::TaskFailed);
        assert_eq!(status.source(), task_status::Source::Executor);
        assert_eq!(status.reason(), task_status::Reason::MaxCompletionTimeReached);
        assert_eq!(status.message.as_deref(), Some("Command exited with status 3"));
        assert_eq!(status.executor_id.as_ref().unwrap().value, "e1");
        assert_eq!(status.uuid.as_deref(), Some(&[7u8; 16][..]));
        assert_eq!(status.timestamp, Some(1234.5));
        assert_eq!(status.check_status, None);
        assert_eq!(status.agent_id, None);
        assert_eq!(status.healthy, None);

        let status = NewStatus {
            task_id: &task_id,
            state: TaskState::TaskRunning,
            executor_id: "e1",
            reason: None,
            message: None,
            check: Some(check_info::Type::Http),
        }
        .build([1; 16], 1.0);
        assert_eq!(status.reason, None);
        assert_eq!(status.message, None);
        let check = status.check_status.unwrap();
        assert_eq!(check.r#type(), check_info::Type::Http);
        assert_eq!(check.http, Some(check_status_info::Http::default()));
        assert_eq!((check.command, check.tcp), (None, None));
    }
}
