//! `mesos-executor`: the Mesos command executor, in Rust, for the real
//! Apache Mesos 1.11.0 master that the project's tests run.
//!
//! The master and agents in those tests come from the PyPI artifact
//! `mesos.scheduler 1.11.0` (`_scheduler.so`), which holds libmesos but
//! not the `mesos-executor` program: the executor an agent starts for
//! every task that has no executor of its own. This binary plays that part.
//! The agent starts it as `<launcher_dir>/mesos-executor
//! --launcher_dir=<dir> [...]` in the task's sandbox, with its identity and
//! its agent in the environment (`MESOS_FRAMEWORK_ID`, `MESOS_EXECUTOR_ID`,
//! `MESOS_SLAVE_PID`, `MESOS_CHECKPOINT`,
//! `MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD`, `MESOS_HTTP_COMMAND_EXECUTOR`,
//! ...).
//!
//! It follows Mesos 1.11.0's `src/launcher/executor.cpp` (`CommandExecutor`)
//! with `MESOS_HTTP_COMMAND_EXECUTOR=1`, on top of the v1 executor HTTP
//! library of `src/executor/executor.cpp` (`MesosProcess`), speaking
//! protobuf (`application/x-protobuf`) to
//! `http://<ip:port>/<agent id>/api/v1/executor` as the C++ library does:
//!
//! - `main()`: flags from the command line (and, here, `MESOS_<FLAG>`
//!   variables), the ids and the shutdown grace period from the
//!   environment;
//! - `MesosProcess::connect()/connected()/disconnected()/backoff()`: two
//!   connections to the agent; when they break, without checkpointing the
//!   executor shuts down, with it (`MESOS_CHECKPOINT=1`) it reconnects
//!   with random backoff up to `MESOS_SUBSCRIPTION_BACKOFF_MAX` until
//!   `MESOS_RECOVERY_TIMEOUT`; `MesosProcess::send()` drops calls that
//!   the connection state does not allow; `_send()` reads the answers
//!   (503 and 404 to a SUBSCRIBE: retry; other errors: an ERROR event);
//!   `ShutdownProcess` kills the executor's process group when a shutdown
//!   outlasts the shutdown grace period;
//! - `doReliableRegistration()`: SUBSCRIBE, with the unacknowledged
//!   updates and the unacknowledged task, every second until SUBSCRIBED;
//! - `received()`: SUBSCRIBED, LAUNCH, LAUNCH_GROUP (unsupported: shut
//!   down), KILL, ACKNOWLEDGED (of the terminal update: exit 0), SHUTDOWN,
//!   MESSAGE, ERROR, HEARTBEAT;
//! - `launch()`: UPDATE TASK_STARTING, the task's environment (the
//!   executor's, then `--task_environment`, then the command's, plus
//!   `MESOS_ALLOCATION_ROLE`), `launchTaskSubprocess()`:
//!   `<launcher_dir>/mesos-containerizer launch --help=false
//!   --launch_info=<mesos.slave.ContainerLaunchInfo JSON>
//!   --unshare_namespace_mnt=false` in a new session, then UPDATE
//!   TASK_RUNNING; a second task gets TASK_FAILED;
//! - `kill()`: TASK_KILLING if the framework has `TASK_KILLING_STATE`,
//!   SIGTERM to the task's process tree (`os::killtree` with groups and
//!   sessions), SIGKILL after the grace period (the KILL's kill policy, else
//!   the task's, else 3 secs; a later KILL may only shorten it);
//!   `shutdown()` kills with the shutdown grace period less 2 secs;
//!   `taskCompletionTimeout()` kills at the task's `max_completion_time`;
//! - `reaped()`: TASK_KILLED if killed, TASK_FINISHED on exit 0, else
//!   TASK_FAILED, with `Command exited with status N` / `Command
//!   terminated with signal <strsignal>`; then exit 1 if the terminal
//!   update is not acknowledged within 60 secs (`selfTerminate()`);
//! - `createTaskStatus()` / `forward()`: every update has a fresh random
//!   uuid, the time, the executor id and `SOURCE_EXECUTOR` (and an empty
//!   `check_status` when the task defines a check), and is kept until
//!   acknowledged.
//!
//! Where executor.cpp CHECK-fails or ABORTs (a KILL before the launch, a
//! task without a command, a failed `fork`/`exec`), this logs the same and
//! aborts, as glog does. Not done: checks and health checks are not run
//! (their statuses keep the `check_status` shape), the driver-based (v0)
//! executor is not available (`MESOS_HTTP_COMMAND_EXECUTOR` other than `1`
//! still uses the HTTP API, with the v0 executor's 1-sec exit after the
//! terminal update), nor are SSL and executor domain sockets.

mod config;
mod duration;
mod executor;
mod http;
mod launch;
mod log;
mod status;

use std::sync::mpsc;

use crate::config::Config;
use crate::executor::Executor;

fn main() {
    let args: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    let env: Vec<(String, String)> = std::env::vars_os()
        .map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned()))
        .collect();
    if args.iter().any(|a| a == "--help") {
        println!("Usage: mesos-executor [--launcher_dir=DIR] [--rootfs=...] [...]; see the rustdoc of main.rs");
        return;
    }
    let config = match Config::load(&args, &env) {
        Ok(config) => config,
        Err(e) => {
            error!("{e}");
            std::process::exit(1);
        }
    };
    for warning in &config.warnings {
        warning!("{warning}");
    }
    if !config.http_command_executor {
        warning!(
            "MESOS_HTTP_COMMAND_EXECUTOR is not '1': the driver-based executor is not available, \
             using the v1 executor HTTP API"
        );
    }
    info!("Version: 1.11.0 (mesos-tape command executor)");
    let (tx, rx) = mpsc::channel();
    let code = Executor::new(config, tx).run(rx);
    std::process::exit(code);
}
