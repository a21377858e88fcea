//! `cargo xtask schema`: the Mesos v1 `.proto` files, generated from the wire
//! facts.
//!
//! The facts (`crates/mesos-codec/schema/mesos-v1-schema.json`, copied from
//! `../shared/reference/mesos-v1-schema.json` when that file is beside the
//! checkout) list every file of the Mesos v1 schema: its syntax, package and
//! imports, every message (nested ones under their full dotted names) with its
//! fields, and every enum with its values. [`generate`] turns them into one
//! `.proto` file per entry under `crates/mesos-codec/proto/`, which the
//! crate's build script compiles with `protox` (no `protoc` needed).
//!
//! - `cargo xtask schema`: refresh the facts copy, then (re)write the `.proto`
//!   files, only those whose text changed, and delete stale ones.
//! - `cargo xtask schema --check`: regenerate in memory and fail if the
//!   checked-in facts copy or `.proto` files differ from what it would write.
//!
//! [`generate`] is a pure function of the facts' text; `mesos-codec`'s
//! `tests/schema.rs` includes this file with `#[path]` and checks the
//! checked-in files against it, so this module uses nothing but `std`,
//! `anyhow` and `serde_json`, and nothing from the rest of xtask.
//!
//! How the facts map onto `.proto` text:
//! - nested messages and enums are emitted inside their parents (enums first,
//!   then messages, then the fields, each in the facts' order); top-level
//!   enums come before top-level messages;
//! - messages marked `map_entry` are not emitted: the field that uses one
//!   becomes `map<K, V> name = N;` (protoc rejects explicit map entries, and
//!   it derives the same entry name, which is checked here);
//! - fields sharing a `oneof` name are emitted in a `oneof` block where its
//!   first member stands;
//! - proto2 fields carry their label; proto3 singular fields carry none;
//! - `[default = ...]` is written as the facts give it: strings quoted and
//!   escaped, enums by value name, numbers and booleans verbatim;
//! - `[deprecated = true]` and `[packed = ...]` only where the facts say so.
//!
//! Anything the generator does not understand (an unknown key, a type it does
//! not know, a reference to a type the facts do not define) is an error rather
//! than silently dropped.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Map, Value};

/// The facts copy, relative to the `mesos-codec` crate.
pub const FACTS: &str = "schema/mesos-v1-schema.json";
/// Where the generated `.proto` files go, relative to the `mesos-codec` crate.
pub const PROTO_DIR: &str = "proto";
/// The facts as the project receives them, relative to the workspace root.
const SHARED_FACTS: &str = "../shared/reference/mesos-v1-schema.json";

/// `cargo xtask schema [--check]`.
pub fn run(root: &Path) -> Result<()> {
    let mut check = false;
    for arg in std::env::args().skip(2) {
        match arg.as_str() {
            "--check" => check = true,
            other => bail!("unknown argument `{other}` to `cargo xtask schema` (expected nothing or `--check`)"),
        }
    }
    let krate = root.join("crates/mesos-codec");
    let facts_path = krate.join(FACTS);
    let shared = root.join(SHARED_FACTS);
    let proto_dir = krate.join(PROTO_DIR);

    let mut drift = Vec::new();
    if shared.is_file() {
        let theirs = read(&shared)?;
        let ours = std::fs::read(&facts_path).ok();
        if ours.as_deref() != Some(theirs.as_slice()) {
            if check {
                drift.push(format!("{} differs from {}", facts_path.display(), shared.display()));
            } else {
                write(&facts_path, &theirs)?;
                println!("copied the facts from {}", shared.display());
            }
        }
    } else {
        println!("{} not found: using the facts already in {}", shared.display(), facts_path.display());
    }

    let facts =
        String::from_utf8(read(&facts_path)?).with_context(|| format!("{} is not UTF-8", facts_path.display()))?;
    let files =
        generate(&facts).with_context(|| format!("cannot generate .proto files from {}", facts_path.display()))?;

    let existing = proto_files(&proto_dir)?;
    let mut written = 0;
    for (name, text) in &files {
        let path = proto_dir.join(name);
        if std::fs::read(&path).ok().as_deref() == Some(text.as_bytes()) {
            continue;
        }
        if check {
            drift.push(format!("{} is missing or out of date", path.display()));
        } else {
            write(&path, text.as_bytes())?;
            written += 1;
        }
    }
    for stale in existing.iter().filter(|name| !files.contains_key(name.as_str())) {
        let path = proto_dir.join(stale);
        if check {
            drift.push(format!("{} is not generated from the facts", path.display()));
        } else {
            std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
            println!("removed stale {}", path.display());
        }
    }

    if check {
        if !drift.is_empty() {
            bail!("the generated schema drifted; run `cargo xtask schema`:\n  {}", drift.join("\n  "));
        }
        println!("{} .proto files in {} match the facts", files.len(), proto_dir.display());
    } else {
        println!("{} .proto files in {} ({written} rewritten)", files.len(), proto_dir.display());
    }
    Ok(())
}

/// Every `.proto` file under `dir`, as `/`-separated paths relative to it, sorted.
pub fn proto_files(dir: &Path) -> Result<BTreeSet<String>> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) -> Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
            if entry.file_type()?.is_dir() {
                walk(&entry.path(), &rel, out)?;
            } else if name.ends_with(".proto") {
                out.insert(rel);
            }
        }
        Ok(())
    }
    let mut out = BTreeSet::new();
    if dir.is_dir() {
        walk(dir, "", &mut out)?;
    }
    Ok(out)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// The `.proto` files for the facts' text: file path (as the facts name it,
/// e.g. `mesos/v1/mesos.proto`) to its contents. Deterministic: the same facts
/// give the same bytes.
pub fn generate(facts_json: &str) -> Result<BTreeMap<String, String>> {
    let facts = parse(facts_json)?;
    let mut types = HashMap::new();
    for file in &facts {
        for message in &file.messages {
            ensure!(
                types.insert(message.name.as_str(), Kind::Message).is_none(),
                "`{}` is defined twice",
                message.name
            );
        }
        for en in &file.enums {
            ensure!(types.insert(en.name.as_str(), Kind::Enum).is_none(), "`{}` is defined twice", en.name);
        }
    }
    let enums: HashMap<&str, &Enum> = facts.iter().flat_map(|f| &f.enums).map(|e| (e.name.as_str(), e)).collect();
    let ctx = Ctx { types, enums };
    let mut out = BTreeMap::new();
    for file in &facts {
        let text = render_file(file, &ctx).with_context(|| format!("in {}", file.file))?;
        ensure!(out.insert(file.file.clone(), text).is_none(), "{} is listed twice", file.file);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// The facts.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Syntax {
    Proto2,
    Proto3,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Message,
    Enum,
}

struct File {
    file: String,
    syntax: Syntax,
    package: String,
    dependencies: Vec<String>,
    messages: Vec<Message>,
    enums: Vec<Enum>,
}

struct Message {
    name: String,
    fields: Vec<Field>,
    map_entry: bool,
}

struct Field {
    name: String,
    number: i64,
    label: Label,
    ty: String,
    type_name: Option<String>,
    default: Option<String>,
    deprecated: bool,
    oneof: Option<String>,
    packed: Option<bool>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Label {
    Required,
    Optional,
    Repeated,
}

struct Enum {
    name: String,
    values: Vec<EnumValue>,
}

struct EnumValue {
    name: String,
    number: i64,
    deprecated: bool,
}

/// The scalar types a field's `type` may name, as `.proto` spells them.
const SCALARS: &[&str] = &[
    "double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32",
    "sfixed64", "bool", "string", "bytes",
];

fn object<'a>(value: &'a Value, what: &str, keys: &[&str]) -> Result<&'a Map<String, Value>> {
    let map = value.as_object().with_context(|| format!("{what} is not a JSON object"))?;
    for key in map.keys() {
        ensure!(keys.contains(&key.as_str()), "{what} has an unknown key `{key}` (known: {})", keys.join(", "));
    }
    Ok(map)
}

fn string(map: &Map<String, Value>, key: &str, what: &str) -> Result<String> {
    match map.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => bail!("`{key}` of {what} is not a string"),
        None => bail!("{what} has no `{key}`"),
    }
}

fn opt_string(map: &Map<String, Value>, key: &str, what: &str) -> Result<Option<String>> {
    map.get(key).map(|_| string(map, key, what)).transpose()
}

fn opt_bool(map: &Map<String, Value>, key: &str, what: &str) -> Result<Option<bool>> {
    map.get(key).map(|v| v.as_bool().with_context(|| format!("`{key}` of {what} is not a boolean"))).transpose()
}

fn integer(map: &Map<String, Value>, key: &str, what: &str) -> Result<i64> {
    map.get(key)
        .with_context(|| format!("{what} has no `{key}`"))?
        .as_i64()
        .with_context(|| format!("`{key}` of {what} is not an integer"))
}

fn array<'a>(map: &'a Map<String, Value>, key: &str, what: &str) -> Result<&'a Vec<Value>> {
    map.get(key)
        .with_context(|| format!("{what} has no `{key}`"))?
        .as_array()
        .with_context(|| format!("`{key}` of {what} is not an array"))
}

fn identifier(name: &str, what: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    ensure!(ok, "{what} `{name}` is not a .proto identifier");
    Ok(())
}

fn dotted(name: &str, what: &str) -> Result<()> {
    name.split('.')
        .try_for_each(|part| identifier(part, what))
        .with_context(|| format!("{what} `{name}` is not a dotted name"))
}

fn parse(json: &str) -> Result<Vec<File>> {
    let root: Value = serde_json::from_str(json).context("the facts are not JSON")?;
    let root = object(&root, "the facts", &["format", "files"])?;
    let mut files = Vec::new();
    for (i, file) in array(root, "files", "the facts")?.iter().enumerate() {
        let what = format!("files[{i}]");
        let map = object(file, &what, &["file", "syntax", "package", "dependencies", "messages", "enums"])?;
        let name = string(map, "file", &what)?;
        let what = format!("file {name}");
        ensure!(
            name.ends_with(".proto") && name.split('/').all(|p| !p.is_empty() && p != "." && p != ".."),
            "{what}: not a relative .proto path"
        );
        let syntax = match string(map, "syntax", &what)?.as_str() {
            "proto2" => Syntax::Proto2,
            "proto3" => Syntax::Proto3,
            other => bail!("{what}: unknown syntax `{other}`"),
        };
        let package = string(map, "package", &what)?;
        dotted(&package, "package")?;
        let dependencies = array(map, "dependencies", &what)?
            .iter()
            .map(|d| d.as_str().map(str::to_owned).with_context(|| format!("{what}: a dependency is not a string")))
            .collect::<Result<Vec<_>>>()?;
        let messages = array(map, "messages", &what)?.iter().map(parse_message).collect::<Result<Vec<_>>>()?;
        let enums = match map.get("enums") {
            Some(_) => array(map, "enums", &what)?.iter().map(parse_enum).collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        files.push(File { file: name, syntax, package, dependencies, messages, enums });
    }
    Ok(files)
}

fn parse_message(value: &Value) -> Result<Message> {
    let map = object(value, "a message", &["name", "fields", "map_entry"])?;
    let name = string(map, "name", "a message")?;
    dotted(&name, "message name")?;
    let what = format!("message {name}");
    let map_entry = opt_bool(map, "map_entry", &what)?.unwrap_or(false);
    let mut fields = Vec::new();
    for field in array(map, "fields", &what)? {
        let f = object(
            field,
            &format!("a field of {name}"),
            &["name", "number", "label", "type", "type_name", "default", "deprecated", "oneof", "packed"],
        )?;
        let field_name = string(f, "name", &format!("a field of {name}"))?;
        let what = format!("field {name}.{field_name}");
        identifier(&field_name, "field name")?;
        let label = match string(f, "label", &what)?.as_str() {
            "required" => Label::Required,
            "optional" => Label::Optional,
            "repeated" => Label::Repeated,
            other => bail!("{what}: unknown label `{other}`"),
        };
        let ty = string(f, "type", &what)?;
        let type_name = opt_string(f, "type_name", &what)?;
        match (ty.as_str(), &type_name) {
            ("message" | "enum", Some(t)) => dotted(t, "type name")?,
            ("message" | "enum", None) => bail!("{what}: a {ty} field needs a `type_name`"),
            (scalar, None) if SCALARS.contains(&scalar) => {}
            (scalar, Some(_)) if SCALARS.contains(&scalar) => bail!("{what}: a {ty} field has a `type_name`"),
            (other, _) => bail!("{what}: unknown type `{other}`"),
        }
        let oneof = opt_string(f, "oneof", &what)?;
        if let Some(o) = &oneof {
            identifier(o, "oneof name")?;
        }
        fields.push(Field {
            number: integer(f, "number", &what)?,
            label,
            ty,
            type_name,
            default: opt_string(f, "default", &what)?,
            deprecated: opt_bool(f, "deprecated", &what)?.unwrap_or(false),
            oneof,
            packed: opt_bool(f, "packed", &what)?,
            name: field_name,
        });
    }
    Ok(Message { name, fields, map_entry })
}

fn parse_enum(value: &Value) -> Result<Enum> {
    let map = object(value, "an enum", &["name", "values"])?;
    let name = string(map, "name", "an enum")?;
    dotted(&name, "enum name")?;
    let what = format!("enum {name}");
    let mut values = Vec::new();
    for value in array(map, "values", &what)? {
        let v = object(value, &format!("a value of {name}"), &["name", "number", "deprecated"])?;
        let value_name = string(v, "name", &format!("a value of {name}"))?;
        identifier(&value_name, "enum value name")?;
        let what = format!("enum value {name}.{value_name}");
        values.push(EnumValue {
            number: integer(v, "number", &what)?,
            deprecated: opt_bool(v, "deprecated", &what)?.unwrap_or(false),
            name: value_name,
        });
    }
    ensure!(!values.is_empty(), "{what} has no values");
    Ok(Enum { name, values })
}

// ---------------------------------------------------------------------------
// Rendering.

struct Ctx<'a> {
    /// Every message and enum of every file, by full name.
    types: HashMap<&'a str, Kind>,
    enums: HashMap<&'a str, &'a Enum>,
}

/// One message or enum of a file, with its nested ones.
enum Item<'a> {
    Message(&'a Message),
    Enum(&'a Enum),
}

/// What a file's messages and enums contain: parent full name (the package
/// for top-level ones) to children, enums first, each in the facts' order.
type Children<'a> = HashMap<&'a str, Vec<Item<'a>>>;

fn render_file<'a>(file: &'a File, ctx: &Ctx) -> Result<String> {
    let messages: HashMap<&str, &Message> = file.messages.iter().map(|m| (m.name.as_str(), m)).collect();
    let mut children: Children = HashMap::new();
    let package = file.package.as_str();
    let parent_of = |name: &'a str| -> Result<&'a str> {
        let (parent, _) = name.rsplit_once('.').with_context(|| format!("`{name}` has no package"))?;
        ensure!(
            parent == package || messages.contains_key(parent),
            "`{name}` is neither in package {package} nor nested in a message of this file"
        );
        Ok(parent)
    };
    for en in &file.enums {
        children.entry(parent_of(&en.name)?).or_default().push(Item::Enum(en));
    }
    for message in &file.messages {
        children.entry(parent_of(&message.name)?).or_default().push(Item::Message(message));
    }

    let mut out = String::new();
    let syntax = match file.syntax {
        Syntax::Proto2 => "proto2",
        Syntax::Proto3 => "proto3",
    };
    out.push_str("// Generated by `cargo xtask schema` from schema/mesos-v1-schema.json.\n");
    out.push_str("// Do not edit by hand: change the facts (or xtask/src/schema.rs) and regenerate.\n\n");
    writeln!(out, "syntax = \"{syntax}\";\n")?;
    writeln!(out, "package {};", file.package)?;
    if !file.dependencies.is_empty() {
        out.push('\n');
    }
    for dep in &file.dependencies {
        writeln!(out, "import \"{}\";", escape(dep))?;
    }
    let top = children.get(file.package.as_str()).map(Vec::as_slice).unwrap_or_default();
    let mut used_entries = BTreeSet::new();
    for item in top {
        out.push('\n');
        render_item(&mut out, item, 0, file, ctx, &children, &messages, &mut used_entries)?;
    }
    for message in file.messages.iter().filter(|m| m.map_entry) {
        ensure!(used_entries.contains(message.name.as_str()), "map entry {} is used by no field", message.name);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn render_item<'a>(
    out: &mut String,
    item: &Item<'a>,
    depth: usize,
    file: &File,
    ctx: &Ctx,
    children: &Children<'a>,
    messages: &HashMap<&str, &'a Message>,
    used_entries: &mut BTreeSet<&'a str>,
) -> Result<()> {
    let pad = "  ".repeat(depth);
    match item {
        Item::Enum(en) => {
            writeln!(out, "{pad}enum {} {{", short(&en.name))?;
            for value in &en.values {
                let options = if value.deprecated { " [deprecated = true]" } else { "" };
                writeln!(out, "{pad}  {} = {}{options};", value.name, value.number)?;
            }
            writeln!(out, "{pad}}}")?;
        }
        Item::Message(message) => {
            if message.map_entry {
                // Emitted as the `map<K, V>` field that uses it.
                ensure!(!children.contains_key(message.name.as_str()), "map entry {} has nested types", message.name);
                return Ok(());
            }
            writeln!(out, "{pad}message {} {{", short(&message.name))?;
            let nested = children.get(message.name.as_str()).map(Vec::as_slice).unwrap_or_default();
            let mut first = true;
            for child in nested {
                if matches!(child, Item::Message(m) if m.map_entry) {
                    continue;
                }
                if !first {
                    out.push('\n');
                }
                first = false;
                render_item(out, child, depth + 1, file, ctx, children, messages, used_entries)?;
            }
            if !first && !message.fields.is_empty() {
                out.push('\n');
            }
            let mut oneofs_done = BTreeSet::new();
            for field in &message.fields {
                let what = format!("field {}.{}", message.name, field.name);
                match &field.oneof {
                    None => {
                        let line = render_field(field, message, file, ctx, messages, used_entries, false)
                            .with_context(|| what.clone())?;
                        writeln!(out, "{pad}  {line}")?;
                    }
                    Some(oneof) if oneofs_done.insert(oneof.as_str()) => {
                        writeln!(out, "{pad}  oneof {oneof} {{")?;
                        for member in message.fields.iter().filter(|f| f.oneof.as_ref() == Some(oneof)) {
                            let line = render_field(member, message, file, ctx, messages, used_entries, true)
                                .with_context(|| format!("field {}.{}", message.name, member.name))?;
                            writeln!(out, "{pad}    {line}")?;
                        }
                        writeln!(out, "{pad}  }}")?;
                    }
                    Some(_) => {} // Emitted with the first member of its oneof.
                }
            }
            writeln!(out, "{pad}}}")?;
        }
    }
    Ok(())
}

/// One field's declaration, without indentation.
fn render_field<'a>(
    field: &Field,
    message: &Message,
    file: &File,
    ctx: &Ctx,
    messages: &HashMap<&str, &'a Message>,
    used_entries: &mut BTreeSet<&'a str>,
    in_oneof: bool,
) -> Result<String> {
    ensure!((1..=536_870_911).contains(&field.number), "number {} is out of range", field.number);
    let ty = field_type(field, ctx)?;

    // A repeated field of a map entry nested in this message is a map.
    let entry = field.type_name.as_deref().and_then(|t| messages.get(t)).filter(|m| m.map_entry);
    let declaration = if let Some(entry) = entry {
        ensure!(field.label == Label::Repeated, "a map entry field must be repeated");
        ensure!(!in_oneof, "a map field cannot be in a oneof");
        ensure!(field.default.is_none() && field.packed.is_none(), "a map field takes no default or packed option");
        let expected = format!("{}.{}Entry", message.name, camel_case(&field.name));
        ensure!(
            entry.name == expected,
            "protoc names the entry of map field `{}` {expected}, but the facts use {}",
            field.name,
            entry.name
        );
        ensure!(used_entries.insert(entry.name.as_str()), "map entry {} is used twice", entry.name);
        let [key, value] = entry.fields.as_slice() else {
            bail!("map entry {} does not have exactly two fields", entry.name);
        };
        ensure!(
            key.name == "key" && key.number == 1 && value.name == "value" && value.number == 2,
            "map entry {} is not `key = 1, value = 2`",
            entry.name
        );
        for f in [key, value] {
            ensure!(
                f.label == Label::Optional
                    && f.default.is_none()
                    && !f.deprecated
                    && f.oneof.is_none()
                    && f.packed.is_none(),
                "map entry field {}.{} must be a plain optional field",
                entry.name,
                f.name
            );
        }
        ensure!(
            matches!(
                key.ty.as_str(),
                "int32"
                    | "int64"
                    | "uint32"
                    | "uint64"
                    | "sint32"
                    | "sint64"
                    | "fixed32"
                    | "fixed64"
                    | "sfixed32"
                    | "sfixed64"
                    | "bool"
                    | "string"
            ),
            "map entry {} has a key of type {}",
            entry.name,
            key.ty
        );
        format!("map<{}, {}> {} = {}", field_type(key, ctx)?, field_type(value, ctx)?, field.name, field.number)
    } else {
        let label = match (file.syntax, field.label, in_oneof) {
            (_, Label::Optional, true) => "",
            (_, _, true) => bail!("a oneof member must be optional, not {:?}", field.label),
            (Syntax::Proto2, Label::Required, _) => "required ",
            (Syntax::Proto2, Label::Optional, _) => "optional ",
            (_, Label::Repeated, _) => "repeated ",
            (Syntax::Proto3, Label::Optional, _) => "",
            (Syntax::Proto3, Label::Required, _) => bail!("proto3 has no required fields"),
        };
        format!("{label}{ty} {} = {}", field.name, field.number)
    };

    let mut options = Vec::new();
    if let Some(default) = &field.default {
        ensure!(file.syntax == Syntax::Proto2, "proto3 has no explicit defaults");
        ensure!(field.label != Label::Repeated, "a repeated field has no default");
        options.push(format!("default = {}", render_default(field, default, ctx)?));
    }
    if field.deprecated {
        options.push("deprecated = true".to_owned());
    }
    if let Some(packed) = field.packed {
        ensure!(field.label == Label::Repeated, "only repeated fields can be packed");
        options.push(format!("packed = {packed}"));
    }
    if options.is_empty() {
        Ok(format!("{declaration};"))
    } else {
        Ok(format!("{declaration} [{}];", options.join(", ")))
    }
}

/// A field's type as `.proto` spells it: the scalar, or the fully-qualified
/// message or enum name.
fn field_type(field: &Field, ctx: &Ctx) -> Result<String> {
    match (field.ty.as_str(), field.type_name.as_deref()) {
        (kind @ ("message" | "enum"), Some(name)) => {
            let expected = if kind == "message" { Kind::Message } else { Kind::Enum };
            match ctx.types.get(name) {
                Some(&found) if found == expected => Ok(format!(".{name}")),
                Some(found) => bail!("`{name}` is a {found:?}, not a {kind}"),
                None => bail!("`{name}` is not defined in the facts"),
            }
        }
        (scalar, _) => Ok(scalar.to_owned()),
    }
}

/// A `[default = ...]` value as the facts give it, checked against the type.
fn render_default(field: &Field, default: &str, ctx: &Ctx) -> Result<String> {
    let bad = || format!("default `{default}` is not a valid {}", field.ty);
    match field.ty.as_str() {
        "string" => Ok(format!("\"{}\"", escape(default))),
        // Descriptors hold bytes defaults C-escaped; the same text is a valid literal.
        "bytes" => {
            ensure!(!default.contains('"') && !default.ends_with('\\'), "{}", bad());
            Ok(format!("\"{default}\""))
        }
        "bool" => {
            ensure!(default == "true" || default == "false", "{}", bad());
            Ok(default.to_owned())
        }
        "double" | "float" => {
            let special = ["inf", "-inf", "nan"].contains(&default);
            ensure!(special || default.parse::<f64>().is_ok_and(f64::is_finite), "{}", bad());
            Ok(default.to_owned())
        }
        "int32" | "sint32" | "sfixed32" => {
            default.parse::<i32>().with_context(bad)?;
            Ok(default.to_owned())
        }
        "int64" | "sint64" | "sfixed64" => {
            default.parse::<i64>().with_context(bad)?;
            Ok(default.to_owned())
        }
        "uint32" | "fixed32" => {
            default.parse::<u32>().with_context(bad)?;
            Ok(default.to_owned())
        }
        "uint64" | "fixed64" => {
            default.parse::<u64>().with_context(bad)?;
            Ok(default.to_owned())
        }
        "enum" => {
            let name = field.type_name.as_deref().unwrap_or_default();
            let en = ctx.enums.get(name).with_context(|| format!("enum `{name}` is not defined in the facts"))?;
            ensure!(en.values.iter().any(|v| v.name == default), "default `{default}` is not a value of {name}");
            Ok(default.to_owned())
        }
        other => bail!("a {other} field cannot have a default"),
    }
}

/// `s` as the inside of a `.proto` string literal.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\{:03o}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The last component of a dotted name.
fn short(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(_, last)| last)
}

/// protoc's name for a map field's entry message, less the `Entry` suffix:
/// `offer_filters` becomes `OfferFilters`.
fn camel_case(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = true;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
