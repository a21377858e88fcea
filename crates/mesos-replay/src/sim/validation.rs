//! What a Mesos 1.11 master checks of a framework's `FrameworkInfo`
//! before it subscribes it (`SUBSCRIBE`) or takes its update
//! (`UPDATE_FRAMEWORK`), in its order and with its texts:
//! `Master::validateFramework` (`src/master/master.cpp`), which runs
//! `validation::framework::validate` (`src/master/validation.cpp`: the
//! roles, the framework id, the offer filters), then checks the suppressed
//! roles, the removed frameworks and the failover timeout; and
//! `validation::framework::validateUpdate` for a framework the master
//! knows. A role is checked by `roles::validate` (`src/common/roles.cpp`),
//! an id by `common::validation::validateID` and a filter's quantities by
//! `validateInputScalarValue` (`src/common/validation.cpp`).
//!
//! What the master checks besides, and the simulator does not need to:
//! `--roles` (the simulator has no whitelist: every role is in it),
//! `--root_submissions` (true by default: `root` may subscribe),
//! authorization (none configured) and `offer_constraints` (which it
//! ignores).

use mesos_codec::v1::{FrameworkInfo, framework_info};

use super::master::{framework_roles, has_capability};

/// `Master::validateFramework`: the first thing wrong with `info` (and the
/// `suppressed` roles a SUBSCRIBE or UPDATE_FRAMEWORK gave with it), or
/// `None`. `removed`: whether `info`'s id is a framework the master
/// removed (torn down, or gone past its failover timeout).
pub(crate) fn validate_framework(info: &FrameworkInfo, suppressed: &[String], removed: bool) -> Option<String> {
    if let Some(error) = validate_roles(info).or_else(|| validate_framework_id(info)).or_else(|| offer_filters(info)) {
        return Some(error);
    }
    let roles = framework_roles(info);
    if let Some(role) = suppressed.iter().find(|r| !roles.contains(r)) {
        return Some(format!("Suppressed role '{role}' is not contained in the list of roles"));
    }
    if removed {
        return Some("Framework has been removed".into());
    }
    // `isValidFailoverTimeout`: `Duration::create(seconds)`, which refuses
    // what does not fit in an int64 of nanoseconds (NaN compares false, and
    // passes).
    let timeout = info.failover_timeout.unwrap_or(0.0);
    let nanos = timeout * 1e9;
    if nanos > i64::MAX as f64 || nanos < i64::MIN as f64 {
        return Some(format!("The framework failover_timeout ({}) is invalid", cpp_double(timeout)));
    }
    None
}

/// `validation::framework::validateUpdate`: what a framework the master
/// knows (`old`) may not change. (A SUBSCRIBE keeps the old `user` and
/// `checkpoint` before this check, `preserveImmutableFields`, so only the
/// principal can fail it there.)
pub(crate) fn validate_update(old: &FrameworkInfo, new: &FrameworkInfo) -> Option<String> {
    if old.principal != new.principal {
        return Some("Changing framework's principal is not allowed.".into());
    }
    if old.user != new.user {
        return Some(format!(
            "Updating 'FrameworkInfo.user' is unsupported; attempted to update from '{}' to '{}'",
            old.user, new.user
        ));
    }
    let (old_checkpoint, new_checkpoint) = (old.checkpoint.unwrap_or(false), new.checkpoint.unwrap_or(false));
    if old_checkpoint != new_checkpoint {
        return Some(format!(
            "Updating 'FrameworkInfo.checkpoint' is unsupported; attempted to update from '{old_checkpoint}' to \
             '{new_checkpoint}'"
        ));
    }
    None
}

fn multi_role(info: &FrameworkInfo) -> bool {
    has_capability(info, framework_info::capability::Type::MultiRole)
}

/// `validateRoles`: the field that fits the framework's capabilities, no
/// role twice, each a valid role.
fn validate_roles(info: &FrameworkInfo) -> Option<String> {
    #[allow(deprecated)]
    let role = info.role.as_deref();
    let multi = multi_role(info);
    if multi && role.is_some() {
        return Some("'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable".into());
    }
    if !multi && !info.roles.is_empty() {
        return Some("'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable".into());
    }
    if multi {
        // A `hashset` of the duplicates, stringified: `{ a, b }`, in the
        // order libstdc++'s `unordered_set` gives a handful of entries,
        // the newest first.
        let mut seen: Vec<&str> = Vec::new();
        let mut duplicates: Vec<&str> = Vec::new();
        for role in &info.roles {
            if !seen.contains(&role.as_str()) {
                seen.push(role);
            } else if !duplicates.contains(&role.as_str()) {
                duplicates.insert(0, role);
            }
        }
        if !duplicates.is_empty() {
            return Some(format!("'FrameworkInfo.roles' contains duplicate items: {{ {} }}", duplicates.join(", ")));
        }
        for role in &info.roles {
            if let Err(error) = validate_role(role) {
                return Some(format!("'FrameworkInfo.roles' contains invalid role: {error}"));
            }
        }
        None
    } else {
        validate_role(role.unwrap_or("*"))
            .err()
            .map(|error| format!("'FrameworkInfo.role' is not a valid role: {error}"))
    }
}

/// `roles::validate`: a role is `*`, or a path of components separated by
/// single slashes, none of them `.`, `..` or `*`, none starting with a
/// dash or holding whitespace or backspace.
pub(crate) fn validate_role(role: &str) -> Result<(), String> {
    if role == "*" {
        return Ok(());
    }
    if role.starts_with('/') {
        return Err(format!("Role '{role}' cannot start with a slash"));
    }
    if role.ends_with('/') {
        return Err(format!("Role '{role}' cannot end with a slash"));
    }
    if role.contains("//") {
        return Err(format!("Role '{role}' cannot contain two adjacent slashes"));
    }
    if role.is_empty() {
        return Err("Role names cannot be the empty string".into());
    }
    for component in role.split('/') {
        match component {
            "." => return Err(format!("Role '{role}' cannot include '.' as a component")),
            ".." => return Err(format!("Role '{role}' cannot include '..' as a component")),
            "*" => return Err(format!("Role '{role}' cannot include '*' as a component")),
            _ if component.starts_with('-') => {
                return Err(format!("Role component '{component}' is invalid because it starts with a dash"));
            }
            // `INVALID_CHARACTERS`: "\x09\x0a\x0b\x0c\x0d\x20\x7f" (the
            // message says backspace; DEL is what it checks).
            _ if component.bytes().any(|b| matches!(b, 0x09..=0x0d | 0x20 | 0x7f)) => {
                return Err(format!(
                    "Role component '{component}' is invalid because it contains backspace or whitespace"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// `validateFrameworkId`: an id given must be one `validateID` takes.
fn validate_framework_id(info: &FrameworkInfo) -> Option<String> {
    let id = info.id.as_ref().map(|id| id.value.as_str()).filter(|id| !id.is_empty())?;
    validate_id(id).err()
}

/// `common::validation::validateID`.
fn validate_id(id: &str) -> Result<(), String> {
    // `NAME_MAX` on Linux.
    const NAME_MAX: usize = 255;
    if id.is_empty() {
        return Err("ID must not be empty".into());
    }
    if id.len() > NAME_MAX {
        return Err(format!("ID must not be greater than {NAME_MAX} characters"));
    }
    if id == "." || id == ".." {
        return Err(format!("'{id}' is disallowed"));
    }
    // `iscntrl`, and both path separators.
    if id.bytes().any(|b| b < 0x20 || b == 0x7f || b == b'/' || b == b'\\') {
        return Err(format!("'{id}' contains invalid characters"));
    }
    Ok(())
}

/// `validateOfferFilters`, for each role's filters in the map's order
/// (a master's `protobuf::Map`; a framework gives one or two).
fn offer_filters(info: &FrameworkInfo) -> Option<String> {
    let mut roles: Vec<&String> = info.offer_filters.keys().collect();
    roles.sort();
    for role in roles {
        let Some(min) = &info.offer_filters[role].min_allocatable_resources else { continue };
        for quantities in &min.quantities {
            if quantities.quantities.is_empty() {
                return Some("Resource quantities must contain at least one quantity".into());
            }
            let mut names: Vec<&String> = quantities.quantities.keys().collect();
            names.sort();
            for name in names {
                let value = quantities.quantities[name].value;
                if let Err(error) = input_scalar(value) {
                    return Some(format!("Invalid resource quantity for '{name}': {error}"));
                }
            }
        }
    }
    None
}

/// `validateInputScalarValue`.
fn input_scalar(value: f64) -> Result<(), &'static str> {
    match value.classify() {
        std::num::FpCategory::Infinite => Err("Infinite values not supported"),
        std::num::FpCategory::Nan => Err("NaN not supported"),
        std::num::FpCategory::Subnormal => Err("Subnormal values not supported"),
        std::num::FpCategory::Zero => Ok(()),
        std::num::FpCategory::Normal if value < 0.0 => Err("Negative values not supported"),
        std::num::FpCategory::Normal => Ok(()),
    }
}

/// A double as C++'s `std::ostream` writes it by default (`stringify`):
/// `%g`, six significant digits, trailing zeros dropped.
pub(crate) fn cpp_double(v: f64) -> String {
    if v.is_nan() {
        return if v.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf" } else { "inf" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // The exponent after rounding to six significant digits.
    let scientific = format!("{v:.5e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let trim = |s: String| -> String {
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s }
    };
    if !(-4..6).contains(&exponent) {
        let mantissa = trim(mantissa.to_owned());
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
    } else {
        let decimals = (5 - exponent).max(0) as usize;
        trim(format!("{v:.decimals$}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_codec::v1::FrameworkId;

    fn info(json: serde_json::Value) -> FrameworkInfo {
        mesos_codec::json::from_json(json.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn doubles_as_an_ostream_writes_them() {
        for (v, text) in [
            (0.0, "0"),
            (1.0, "1"),
            (-5.0, "-5"),
            (0.5, "0.5"),
            (123456.0, "123456"),
            (1234567.0, "1.23457e+06"),
            (1e20, "1e+20"),
            (-9.3e9, "-9.3e+09"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (999999.5, "1e+06"),
            (1.5e300, "1.5e+300"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(cpp_double(v), text, "{v}");
        }
    }

    #[test]
    fn roles_as_roles_validate_checks_them() {
        for role in ["*", "a", "a/b", "a.b", "a-b", "a/b/c", "é"] {
            assert_eq!(validate_role(role), Ok(()), "{role}");
        }
        for (role, error) in [
            ("", "Role names cannot be the empty string"),
            ("/a", "Role '/a' cannot start with a slash"),
            ("a/", "Role 'a/' cannot end with a slash"),
            ("/", "Role '/' cannot start with a slash"),
            ("a//b", "Role 'a//b' cannot contain two adjacent slashes"),
            (".", "Role '.' cannot include '.' as a component"),
            ("a/..", "Role 'a/..' cannot include '..' as a component"),
            ("a/*", "Role 'a/*' cannot include '*' as a component"),
            ("-a", "Role component '-a' is invalid because it starts with a dash"),
            ("a/b c", "Role component 'b c' is invalid because it contains backspace or whitespace"),
            ("a\u{7f}", "Role component 'a\u{7f}' is invalid because it contains backspace or whitespace"),
        ] {
            assert_eq!(validate_role(role), Err(error.to_owned()), "{role:?}");
        }
    }

    #[test]
    fn the_first_error_in_the_masters_order() {
        let multi = serde_json::json!([{"type": "MULTI_ROLE"}]);
        let cases = [
            (
                serde_json::json!({"user": "u", "name": "n", "roles": ["a"]}),
                vec![],
                false,
                Some("'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable"),
            ),
            (
                serde_json::json!({"user": "u", "name": "n", "role": "a", "capabilities": multi}),
                vec![],
                false,
                Some("'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable"),
            ),
            (
                serde_json::json!({"user": "u", "name": "n", "roles": ["a", "b", "a", "b"], "capabilities": multi}),
                vec![],
                false,
                Some("'FrameworkInfo.roles' contains duplicate items: { b, a }"),
            ),
            (
                serde_json::json!({"user": "u", "name": "n", "roles": ["a", "-b"], "capabilities": multi}),
                vec![],
                false,
                Some(
                    "'FrameworkInfo.roles' contains invalid role: Role component '-b' is invalid because it starts with a dash",
                ),
            ),
            (
                serde_json::json!({"user": "u", "name": "n", "role": "a b"}),
                vec![],
                false,
                Some(
                    "'FrameworkInfo.role' is not a valid role: Role component 'a b' is invalid because it contains backspace or whitespace",
                ),
            ),
            (
                serde_json::json!({"user": "u", "name": "n", "id": {"value": "a/b"}}),
                vec![],
                true,
                Some("'a/b' contains invalid characters"),
            ),
            (
                serde_json::json!({"user": "u", "name": "n", "offer_filters": {"*": {"min_allocatable_resources":
                {"quantities": [{"quantities": {"cpus": {"value": -1}}}]}}}}),
                vec![],
                false,
                Some("Invalid resource quantity for 'cpus': Negative values not supported"),
            ),
            (
                serde_json::json!({"user": "u", "name": "n"}),
                vec!["x".to_owned()],
                true,
                Some("Suppressed role 'x' is not contained in the list of roles"),
            ),
            (
                serde_json::json!({"user": "u", "name": "n"}),
                vec!["*".to_owned()],
                true,
                Some("Framework has been removed"),
            ),
            (
                serde_json::json!({"user": "u", "name": "n", "failover_timeout": 1e10}),
                vec![],
                false,
                Some("The framework failover_timeout (1e+10) is invalid"),
            ),
            (serde_json::json!({"user": "u", "name": "n", "failover_timeout": -9e9}), vec![], false, None),
            (
                serde_json::json!({"user": "u", "name": "n", "roles": ["a", "b"], "capabilities": multi}),
                vec!["b".to_owned()],
                false,
                None,
            ),
        ];
        for (json, suppressed, removed, error) in cases {
            let text = json.to_string();
            assert_eq!(validate_framework(&info(json), &suppressed, removed).as_deref(), error, "{text}");
        }
    }

    #[test]
    fn what_an_update_may_not_change() {
        let old = info(serde_json::json!({"user": "u", "name": "n", "principal": "p", "checkpoint": true}));
        let mut new = old.clone();
        new.name = "other".into();
        new.id = Some(FrameworkId { value: "f".into() });
        assert_eq!(validate_update(&old, &new), None);
        new.principal = None;
        assert_eq!(validate_update(&old, &new).as_deref(), Some("Changing framework's principal is not allowed."));
        new.principal = old.principal.clone();
        new.user = "v".into();
        assert_eq!(
            validate_update(&old, &new).as_deref(),
            Some("Updating 'FrameworkInfo.user' is unsupported; attempted to update from 'u' to 'v'")
        );
        new.user = "u".into();
        new.checkpoint = None;
        assert_eq!(
            validate_update(&old, &new).as_deref(),
            Some("Updating 'FrameworkInfo.checkpoint' is unsupported; attempted to update from 'true' to 'false'")
        );
    }
}
