//! What the agent tells the executor: its flags (command line, as
//! executor.cpp's `Flags` class has them) and its environment (as
//! executor.cpp's `main()` and the v1 executor library's `MesosProcess`
//! constructor read it). Pure: the caller hands in argv and the environment.

use mesos_codec::v1::{CapabilityInfo, Environment};

use crate::duration::Dur;

/// stout's `PKGLIBEXECDIR` default of `--launcher_dir` for a default
/// `./configure && make install` of Mesos.
pub const DEFAULT_LAUNCHER_DIR: &str = "/usr/local/libexec/mesos";

/// The variable the library reads the authentication token from, and then
/// erases from the environment so that the task does not see it.
pub const AUTH_TOKEN_VAR: &str = "MESOS_EXECUTOR_AUTHENTICATION_TOKEN";

/// The command executor's own flags (executor.cpp's `class Flags`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Flags {
    pub rootfs: Option<String>,
    pub sandbox_directory: Option<String>,
    pub working_directory: Option<String>,
    pub user: Option<String>,
    /// A JSON `CommandInfo` replacing the task's command.
    pub task_command: Option<String>,
    /// An `Environment` (JSON on the command line) merged into the task's
    /// environment.
    pub task_environment: Option<Environment>,
    /// A `CapabilityInfo` (JSON on the command line).
    pub effective_capabilities: Option<CapabilityInfo>,
    /// A `CapabilityInfo` (JSON on the command line).
    pub bounding_capabilities: Option<CapabilityInfo>,
    pub tty_slave_path: Option<String>,
    /// A JSON `mesos.slave.ContainerLaunchInfo`.
    pub task_launch_info: Option<serde_json::Map<String, serde_json::Value>>,
    pub task_supplementary_groups: Option<Vec<u32>>,
    pub launcher_dir: String,
}

/// Flags of `mesos::internal::logging::Flags` (and stout's `help`), which
/// executor.cpp's `Flags` inherits: accepted and ignored here (the log goes
/// to stderr).
const LOGGING_FLAGS: [&str; 7] =
    ["help", "quiet", "logging_level", "log_dir", "logbufsecs", "initialize_driver_logging", "external_log_file"];

const FLAG_NAMES: [&str; 12] = [
    "rootfs",
    "sandbox_directory",
    "working_directory",
    "user",
    "task_command",
    "task_environment",
    "effective_capabilities",
    "bounding_capabilities",
    "tty_slave_path",
    "task_launch_info",
    "task_supplementary_groups",
    "launcher_dir",
];

/// What the flags were loaded into, plus warnings about what was ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedFlags {
    pub flags: Flags,
    pub warnings: Vec<String>,
}

impl Flags {
    /// Loads the flags from the command line (`args` without `argv[0]`) as
    /// stout's `FlagsBase::load` does (`--name=value`, `--name` for
    /// booleans, `--no-name`, `--` ends the flags), then from
    /// `MESOS_<NAME>` variables of `env` for flags the command line did not
    /// give. Unknown flags and positional arguments are warned about and
    /// ignored. A value of a JSON flag starting with `file://` is read from
    /// that file, as stout's `fetch` does.
    pub fn load(args: &[String], env: &[(String, String)]) -> Result<LoadedFlags, String> {
        let mut given: Vec<(String, String)> = Vec::new();
        let mut warnings = Vec::new();
        let mut iter = args.iter();
        for arg in iter.by_ref() {
            if arg == "--" {
                break;
            }
            let Some(flag) = arg.strip_prefix("--") else {
                warnings.push(format!("Ignoring positional argument '{arg}'"));
                continue;
            };
            let (name, value) = match flag.split_once('=') {
                Some((name, value)) => (name.to_string(), Some(value.to_string())),
                None => (flag.to_string(), None),
            };
            if LOGGING_FLAGS.contains(&name.as_str())
                || name.strip_prefix("no-").is_some_and(|n| LOGGING_FLAGS.contains(&n))
            {
                continue;
            }
            if !FLAG_NAMES.contains(&name.as_str()) {
                warnings.push(format!("Ignoring unknown flag '{name}'"));
                continue;
            }
            let Some(value) = value else {
                return Err(format!("Failed to load non-boolean flag '{name}': missing value"));
            };
            given.retain(|(n, _)| *n != name);
            given.push((name, value));
        }
        for arg in iter {
            warnings.push(format!("Ignoring positional argument '{arg}'"));
        }
        for name in FLAG_NAMES {
            if given.iter().any(|(n, _)| n == name) {
                continue;
            }
            let var = format!("MESOS_{}", name.to_ascii_uppercase());
            if let Some((_, value)) = env.iter().find(|(k, _)| *k == var) {
                given.push((name.to_string(), value.clone()));
            }
        }

        let mut flags = Flags { launcher_dir: DEFAULT_LAUNCHER_DIR.to_string(), ..Flags::default() };
        for (name, value) in given {
            let bad = |e: String| format!("Failed to load flag '{name}': {e}");
            match name.as_str() {
                "rootfs" => flags.rootfs = Some(value),
                "sandbox_directory" => flags.sandbox_directory = Some(value),
                "working_directory" => flags.working_directory = Some(value),
                "user" => flags.user = Some(value),
                "task_command" => flags.task_command = Some(fetch(&value).map_err(bad)?),
                "tty_slave_path" => flags.tty_slave_path = Some(value),
                "launcher_dir" => flags.launcher_dir = value,
                "task_environment" => flags.task_environment = Some(message(&value).map_err(bad)?),
                "effective_capabilities" => flags.effective_capabilities = Some(message(&value).map_err(bad)?),
                "bounding_capabilities" => flags.bounding_capabilities = Some(message(&value).map_err(bad)?),
                "task_launch_info" => flags.task_launch_info = Some(json_object(&value).map_err(bad)?),
                "task_supplementary_groups" => flags.task_supplementary_groups = Some(gids(&value).map_err(bad)?),
                _ => {}
            }
        }
        Ok(LoadedFlags { flags, warnings })
    }
}

/// stout's `fetch`: a value `file://PATH` is the content of that file.
fn fetch(value: &str) -> Result<String, String> {
    match value.strip_prefix("file://") {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("Error reading file '{path}': {e}")),
        None => Ok(value.to_string()),
    }
}

/// A protobuf message flag: JSON in Mesos's mapping (stout's
/// `flags::parse` of a protobuf type).
fn message<T: prost::Message + prost::Name + Default>(value: &str) -> Result<T, String> {
    mesos_codec::json::from_json(fetch(value)?.as_bytes()).map_err(|e| format!("Failed to parse JSON: {e}"))
}

fn json_object(value: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_str(&fetch(value)?) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err("expecting a JSON object".into()),
        Err(e) => Err(format!("Failed to parse JSON: {e}")),
    }
}

/// A comma-separated list of group ids (stout parses a `vector<gid_t>`
/// flag by splitting on commas).
fn gids(value: &str) -> Result<Vec<u32>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("Failed to convert '{s}' to number")))
        .collect()
}

/// The agent's executor endpoint, from `MESOS_SLAVE_PID`
/// (`slave(1)@127.0.0.1:5051` → `http://127.0.0.1:5051/slave(1)/api/v1/executor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl Endpoint {
    /// Parses a libprocess UPID `id@ip:port`.
    pub fn from_pid(pid: &str) -> Result<Endpoint, String> {
        let bad = || format!("Failed to parse MESOS_SLAVE_PID '{pid}'");
        let (id, address) = pid.split_once('@').ok_or_else(bad)?;
        let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        if id.is_empty() || host.is_empty() || id.contains(['/', ' ']) {
            return Err(bad());
        }
        Ok(Endpoint { host: host.to_string(), port, path: format!("/{id}/api/v1/executor") })
    }

    /// `host:port`, for the `Host` header and for connecting.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "http://{}:{}{}", self.host, self.port, self.path)
    }
}

/// Everything the executor is started with.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub flags: Flags,
    pub framework_id: String,
    pub executor_id: String,
    pub agent: Endpoint,
    pub shutdown_grace_period: Dur,
    /// `MESOS_HTTP_COMMAND_EXECUTOR == "1"`.
    pub http_command_executor: bool,
    /// `MESOS_CHECKPOINT == "1"`.
    pub checkpoint: bool,
    /// `MESOS_RECOVERY_TIMEOUT`, required when checkpointing.
    pub recovery_timeout: Option<Dur>,
    /// `MESOS_SUBSCRIPTION_BACKOFF_MAX`, required when checkpointing.
    pub max_backoff: Option<Dur>,
    /// `MESOS_LOCAL` is set.
    pub local: bool,
    pub auth_token: Option<String>,
    /// The environment the task inherits: the executor's, less the
    /// authentication token.
    pub environment: Vec<(String, String)>,
    pub warnings: Vec<String>,
}

impl Config {
    /// Reads the flags and the environment as executor.cpp's `main()` and
    /// the library's `MesosProcess` constructor do; an error is what they
    /// `EXIT(EXIT_FAILURE)` with.
    pub fn load(args: &[String], env: &[(String, String)]) -> Result<Config, String> {
        let LoadedFlags { flags, warnings } = Flags::load(args, env)?;
        let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let require = |name: &str| get(name).ok_or_else(|| format!("Expecting '{name}' to be set in the environment"));
        let duration = |name: &str, value: &str| {
            Dur::parse(value).map_err(|e| format!("Failed to parse value '{value}' of '{name}': {e}"))
        };

        let framework_id = require("MESOS_FRAMEWORK_ID")?.to_string();
        let executor_id = require("MESOS_EXECUTOR_ID")?.to_string();
        // main() would default it (5 secs), but the library insists on it.
        let shutdown_grace_period = match get("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD") {
            Some(value) => duration("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", value)?,
            None => {
                return Err("Expecting 'MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD' to be set in the environment".into());
            }
        };
        let agent = Endpoint::from_pid(require("MESOS_SLAVE_PID")?)?;
        if get("MESOS_DOMAIN_SOCKET").is_some() {
            return Err("MESOS_DOMAIN_SOCKET is set: executor domain sockets are not supported".into());
        }
        let checkpoint = get("MESOS_CHECKPOINT") == Some("1");
        let (mut recovery_timeout, mut max_backoff) = (None, None);
        if checkpoint {
            let name = "MESOS_RECOVERY_TIMEOUT";
            recovery_timeout = Some(duration(name, require(name)?)?);
            let name = "MESOS_SUBSCRIPTION_BACKOFF_MAX";
            max_backoff = Some(duration(name, require(name)?)?);
        }
        Ok(Config {
            flags,
            framework_id,
            executor_id,
            agent,
            shutdown_grace_period,
            http_command_executor: get("MESOS_HTTP_COMMAND_EXECUTOR") == Some("1"),
            checkpoint,
            recovery_timeout,
            max_backoff,
            local: get("MESOS_LOCAL").is_some(),
            auth_token: get(AUTH_TOKEN_VAR).map(str::to_string),
            environment: env.iter().filter(|(k, _)| k != AUTH_TOKEN_VAR).cloned().collect(),
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn env(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn agent_env() -> Vec<(String, String)> {
        env(&[
            ("MESOS_FRAMEWORK_ID", "fw-1"),
            ("MESOS_EXECUTOR_ID", "task-1"),
            ("MESOS_SLAVE_PID", "slave(1)@127.0.0.1:5051"),
            ("MESOS_AGENT_ENDPOINT", "127.0.0.1:5051"),
            ("MESOS_DIRECTORY", "/tmp/sandbox"),
            ("MESOS_SANDBOX", "/tmp/sandbox"),
            ("MESOS_CHECKPOINT", "0"),
            ("MESOS_HTTP_COMMAND_EXECUTOR", "1"),
            ("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5secs"),
            ("MESOS_EXECUTOR_AUTHENTICATION_TOKEN", "secret"),
            ("PATH", "/usr/bin:/bin"),
        ])
    }

    #[test]
    fn flags_from_the_command_line() {
        let loaded = Flags::load(
            &strings(&[
                "--launcher_dir=/opt/mesos",
                "--user=nobody",
                "--task_supplementary_groups=10,20",
                "--task_environment={\"variables\":[{\"name\":\"A\",\"value\":\"1\"}]}",
                "--no-quiet",
                "--logging_level=INFO",
                "--frobnicate=1",
                "extra",
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(loaded.flags.launcher_dir, "/opt/mesos");
        assert_eq!(loaded.flags.user.as_deref(), Some("nobody"));
        assert_eq!(loaded.flags.task_supplementary_groups, Some(vec![10, 20]));
        let variables = &loaded.flags.task_environment.as_ref().unwrap().variables;
        assert_eq!((variables[0].name.as_str(), variables[0].value.as_deref()), ("A", Some("1")));
        assert_eq!(loaded.flags.rootfs, None);
        assert_eq!(loaded.warnings, ["Ignoring unknown flag 'frobnicate'", "Ignoring positional argument 'extra'"]);
    }

    #[test]
    fn flags_default_and_from_the_environment() {
        let loaded = Flags::load(&[], &[]).unwrap();
        assert_eq!(loaded.flags.launcher_dir, DEFAULT_LAUNCHER_DIR);
        let loaded = Flags::load(
            &strings(&["--launcher_dir=/cli"]),
            &env(&[("MESOS_LAUNCHER_DIR", "/env"), ("MESOS_ROOTFS", "/rootfs")]),
        )
        .unwrap();
        assert_eq!(loaded.flags.launcher_dir, "/cli");
        assert_eq!(loaded.flags.rootfs.as_deref(), Some("/rootfs"));
        // The last of two equal flags wins.
        let loaded = Flags::load(&strings(&["--user=a", "--user=b", "--", "--user=c"]), &[]).unwrap();
        assert_eq!(loaded.flags.user.as_deref(), Some("b"));
        assert_eq!(loaded.warnings, ["Ignoring positional argument '--user=c'"]);
    }

    #[test]
    fn bad_flags_are_clear_errors() {
        let err = Flags::load(&strings(&["--user"]), &[]).unwrap_err();
        assert!(err.contains("'user'"), "{err}");
        let err = Flags::load(&strings(&["--task_launch_info=[1]"]), &[]).unwrap_err();
        assert!(err.contains("task_launch_info") && err.contains("JSON object"), "{err}");
        let err = Flags::load(&strings(&["--effective_capabilities={"]), &[]).unwrap_err();
        assert!(err.contains("Failed to parse JSON"), "{err}");
        let err = Flags::load(&strings(&["--task_environment={\"variables\":[{}]}"]), &[]).unwrap_err();
        assert!(err.contains("task_environment") && err.contains("name"), "{err}");
        let err = Flags::load(&strings(&["--task_supplementary_groups=1,x"]), &[]).unwrap_err();
        assert!(err.contains("'x'"), "{err}");
        let err = Flags::load(&strings(&["--task_command=file:///nonexistent/x"]), &[]).unwrap_err();
        assert!(err.contains("/nonexistent/x"), "{err}");
    }

    #[test]
    fn endpoint_from_the_agent_pid() {
        let endpoint = Endpoint::from_pid("slave(1)@127.0.0.1:5051").unwrap();
        assert_eq!(endpoint.to_string(), "http://127.0.0.1:5051/slave(1)/api/v1/executor");
        assert_eq!(endpoint.authority(), "127.0.0.1:5051");
        for bad in ["", "slave(1)", "slave(1)@127.0.0.1", "slave(1)@127.0.0.1:x", "@1.2.3.4:5", "slave(1)@:5"] {
            assert!(Endpoint::from_pid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_from_the_agent_environment() {
        let config = Config::load(&strings(&["--launcher_dir=/bin"]), &agent_env()).unwrap();
        assert_eq!(config.framework_id, "fw-1");
        assert_eq!(config.executor_id, "task-1");
        assert_eq!(config.agent.path, "/slave(1)/api/v1/executor");
        assert_eq!(config.shutdown_grace_period, Dur::secs(5));
        assert!(config.http_command_executor);
        assert!(!config.checkpoint && !config.local);
        assert_eq!(config.auth_token.as_deref(), Some("secret"));
        assert!(config.environment.iter().all(|(k, _)| k != AUTH_TOKEN_VAR));
        assert!(config.environment.iter().any(|(k, v)| k == "PATH" && v == "/usr/bin:/bin"));
    }

    #[test]
    fn config_errors_name_the_variable() {
        for var in
            ["MESOS_FRAMEWORK_ID", "MESOS_EXECUTOR_ID", "MESOS_SLAVE_PID", "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"]
        {
            let env: Vec<_> = agent_env().into_iter().filter(|(k, _)| k != var).collect();
            let err = Config::load(&[], &env).unwrap_err();
            assert_eq!(err, format!("Expecting '{var}' to be set in the environment"));
        }
        let mut env = agent_env();
        env.push(("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD".into(), "5".into()));
        env.retain(|(k, v)| k != "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD" || v == "5");
        let err = Config::load(&[], &env).unwrap_err();
        assert!(err.starts_with("Failed to parse value '5' of 'MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD'"), "{err}");
    }

    #[test]
    fn checkpointing_needs_recovery_settings() {
        let mut env = agent_env();
        env.retain(|(k, _)| k != "MESOS_CHECKPOINT");
        env.push(("MESOS_CHECKPOINT".into(), "1".into()));
        let err = Config::load(&[], &env).unwrap_err();
        assert_eq!(err, "Expecting 'MESOS_RECOVERY_TIMEOUT' to be set in the environment");
        env.push(("MESOS_RECOVERY_TIMEOUT".into(), "15mins".into()));
        let err = Config::load(&[], &env).unwrap_err();
        assert_eq!(err, "Expecting 'MESOS_SUBSCRIPTION_BACKOFF_MAX' to be set in the environment");
        env.push(("MESOS_SUBSCRIPTION_BACKOFF_MAX".into(), "2secs".into()));
        let config = Config::load(&[], &env).unwrap();
        assert!(config.checkpoint);
        assert_eq!(config.recovery_timeout, Some(Dur::secs(900)));
        assert_eq!(config.max_backoff, Some(Dur::secs(2)));
    }
}
