//! Generates the zero-copy message views (`mesos_codec::view::v1`) from the
//! compiled descriptors: one `Copy` struct per message that borrows the
//! message's checked bytes, with one accessor per field, and a
//! `to_message` that builds the prost type from them.
//!
//! Names follow prost-build's (`heck`'s case conversions, raw identifiers
//! for keywords), so that a view sits at the same path under
//! `view::v1` as its prost type under `v1`, and the generated code can name
//! the prost types, enums and oneofs.
//!
//! Output: `$OUT_DIR/mesos.v1.views.rs` (the modules), and
//! `$OUT_DIR/mesos.v1.view_registry.rs` (every message with a prost type, by
//! full name, for the crate's tests).

use std::collections::HashMap;
use std::fmt::Write as _;

use heck::{ToSnakeCase, ToUpperCamelCase};
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FieldDescriptorProto, FileDescriptorSet};

/// prost-build's identifier rules (`prost_build::ident`, which is private).
fn sanitize(ident: String) -> String {
    match ident.as_str() {
        "as" | "break" | "const" | "continue" | "else" | "enum" | "false" | "fn" | "for" | "if" | "impl" | "in"
        | "let" | "loop" | "match" | "mod" | "move" | "mut" | "pub" | "ref" | "return" | "static" | "struct"
        | "trait" | "true" | "type" | "unsafe" | "use" | "where" | "while" | "dyn" | "abstract" | "become" | "box"
        | "do" | "final" | "macro" | "override" | "priv" | "typeof" | "unsized" | "virtual" | "yield" | "async"
        | "await" | "try" | "gen" => format!("r#{ident}"),
        "_" | "super" | "self" | "Self" | "extern" | "crate" => format!("{ident}_"),
        s if s.starts_with(|c: char| c.is_numeric()) => format!("_{ident}"),
        _ => ident,
    }
}

fn snake(s: &str) -> String {
    sanitize(s.to_snake_case())
}

fn camel(s: &str) -> String {
    sanitize(s.to_upper_camel_case())
}

/// Where a message or enum lives: its package, and its name and those of
/// the messages it is nested in.
#[derive(Clone)]
struct Place {
    package: String,
    names: Vec<String>,
    map_entry: bool,
}

impl Place {
    /// The module path (under `v1` or `view::v1`) of the package.
    fn package_modules(&self) -> Vec<String> {
        match self.package.as_str() {
            "google.protobuf" => vec!["google".into(), "protobuf".into()],
            p => p.strip_prefix("mesos.v1").unwrap_or(p).split('.').filter(|s| !s.is_empty()).map(snake).collect(),
        }
    }

    /// `package_modules` + the snake-case modules of the enclosing messages.
    fn modules(&self) -> Vec<String> {
        let mut modules = self.package_modules();
        modules.extend(self.names[..self.names.len() - 1].iter().map(|n| snake(n)));
        modules
    }

    fn prost_path(&self) -> String {
        let name = camel(self.names.last().expect("a name"));
        if self.package == "google.protobuf" {
            return format!("::prost_types::{name}");
        }
        let mut path = String::from("crate::v1");
        for m in self.modules() {
            write!(path, "::{m}").unwrap();
        }
        format!("{path}::{name}")
    }

    fn view_path(&self) -> String {
        let mut path = String::from("crate::view::v1");
        for m in self.modules() {
            write!(path, "::{m}").unwrap();
        }
        format!("{path}::{}", camel(self.names.last().expect("a name")))
    }

    fn full_name(&self) -> String {
        format!("{}.{}", self.package, self.names.join("."))
    }
}

/// A module of the output: its messages' code and its child modules.
#[derive(Default)]
struct Module {
    code: String,
    children: std::collections::BTreeMap<String, Module>,
}

impl Module {
    fn at(&mut self, path: &[String]) -> &mut Module {
        path.iter().fold(self, |m, p| m.children.entry(p.clone()).or_default())
    }

    fn render(&self, out: &mut String, depth: usize) {
        out.push_str(&self.code);
        for (name, child) in &self.children {
            let indent = "    ".repeat(depth);
            writeln!(out, "{indent}/// Views of the messages nested in the message or package of this name.").unwrap();
            writeln!(out, "{indent}pub mod {name} {{").unwrap();
            child.render(out, depth + 1);
            writeln!(out, "{indent}}}").unwrap();
        }
    }
}

struct Generator {
    messages: HashMap<String, (Place, DescriptorProto, bool)>,
    enums: HashMap<String, Place>,
}

/// Writes the views and the registry into `out_dir`.
pub fn generate(fds: &FileDescriptorSet, out_dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut generator = Generator { messages: HashMap::new(), enums: HashMap::new() };
    for file in &fds.file {
        let proto3 = file.syntax() == "proto3";
        for message in &file.message_type {
            generator.collect(file.package(), &[], message, proto3);
        }
        for e in &file.enum_type {
            let place = Place { package: file.package().into(), names: vec![e.name().into()], map_entry: false };
            generator.enums.insert(format!(".{}", place.full_name()), place);
        }
    }
    let mut root = Module::default();
    let mut registry = String::new();
    let mut names: Vec<&String> = generator.messages.keys().collect();
    names.sort();
    for name in names {
        let (place, message, proto3) = &generator.messages[name];
        let code = generator.message(place, message, *proto3)?;
        root.at(&place.modules()).code.push_str(&code);
        if !place.map_entry {
            writeln!(
                registry,
                "({:?}, check::<{}>),",
                place.full_name(),
                place.prost_path().replace("crate::", "mesos_codec::")
            )?;
        }
    }
    let mut out = String::new();
    root.render(&mut out, 0);
    std::fs::write(out_dir.join("mesos.v1.views.rs"), out)?;
    std::fs::write(out_dir.join("mesos.v1.view_registry.rs"), format!("&[\n{registry}]\n"))?;
    Ok(())
}

impl Generator {
    fn collect(&mut self, package: &str, outer: &[String], message: &DescriptorProto, proto3: bool) {
        let mut names = outer.to_vec();
        names.push(message.name().into());
        let map_entry = message.options.as_ref().is_some_and(|o| o.map_entry());
        let place = Place { package: package.into(), names: names.clone(), map_entry };
        for nested in &message.nested_type {
            self.collect(package, &names, nested, proto3);
        }
        for e in &message.enum_type {
            let mut names = names.clone();
            names.push(e.name().into());
            let place = Place { package: package.into(), names, map_entry: false };
            self.enums.insert(format!(".{}", place.full_name()), place);
        }
        self.messages.insert(format!(".{}", place.full_name()), (place, message.clone(), proto3));
    }

    fn message(
        &self,
        place: &Place,
        message: &DescriptorProto,
        proto3: bool,
    ) -> Result<String, Box<dyn std::error::Error>> {
        let name = camel(place.names.last().expect("a name"));
        let full = place.full_name();
        let indent = "    ".repeat(place.modules().len());
        let mut accessors = String::new();
        let mut owned = String::new();
        // Oneofs: each member's siblings (a member is only there when it is
        // the last of its oneof on the wire), and prost's oneof enums.
        let mut oneofs: Vec<Vec<&FieldDescriptorProto>> = vec![Vec::new(); message.oneof_decl.len()];
        for field in &message.field {
            if let Some(i) = field.oneof_index {
                if !field.proto3_optional() {
                    oneofs[i as usize].push(field);
                }
            }
        }
        for field in &message.field {
            let number = field.number();
            let fname = snake(field.name());
            let siblings: Option<Vec<i32>> = field
                .oneof_index
                .filter(|_| !field.proto3_optional())
                .map(|i| oneofs[i as usize].iter().map(|f| f.number()).collect());
            let label = field.label();
            let repeated = label == Label::Repeated;
            let required = label == Label::Required;
            // proto3 singular scalars are plain values in prost, zero when absent.
            let plain = required || (proto3 && !repeated && field.r#type() != Type::Message);
            let kind = self.kind(field)?;
            let type_name = match field.r#type() {
                Type::Message | Type::Enum => field.type_name().trim_start_matches('.').to_string(),
                t => t.as_str_name().trim_start_matches("TYPE_").to_lowercase(),
            };
            let label_name = if field_is_map(self, field) {
                "map entries:"
            } else {
                match label {
                    Label::Repeated => "repeated",
                    Label::Required => "required",
                    Label::Optional => "optional",
                }
            };
            let mut doc = format!("`{}` (field {number}, {label_name} `{type_name}`", field.name());
            if field.options.as_ref().is_some_and(|o| o.deprecated()) {
                doc.push_str(", deprecated");
            }
            doc.push(')');
            let read = |codec: &str| match &siblings {
                Some(s) => {
                    format!("self.raw.one_of({number}, &{s:?}).and_then(<{codec} as crate::view::Scalar>::from_wire)")
                }
                None => format!("self.raw.scalar::<{codec}>({number})"),
            };
            let (ty, body, to_owned) = match &kind {
                Kind::Scalar { rust, codec } => {
                    if repeated {
                        (
                            format!("crate::view::Scalars<'a, {codec}>"),
                            format!("self.raw.scalars({number})"),
                            format!("self.{fname}().collect::<Vec<{rust}>>()"),
                        )
                    } else if plain {
                        (
                            rust.clone(),
                            format!("self.raw.scalar::<{codec}>({number}).unwrap_or_default()"),
                            format!("self.{fname}()"),
                        )
                    } else {
                        (format!("Option<{rust}>"), read(codec), format!("self.{fname}()"))
                    }
                }
                Kind::Enum { path } => {
                    // Typed: an unknown number reads as absent (proto2, as
                    // Mesos's C++ parser keeps it among the unknown fields);
                    // `to_message` keeps the number, as prost does.
                    if repeated {
                        (
                            format!("impl Iterator<Item = {path}> + 'a"),
                            format!(
                                "self.raw.scalars::<crate::view::scalar::Int32>({number}).filter_map(|n| {path}::try_from(n).ok())"
                            ),
                            format!("self.raw.scalars::<crate::view::scalar::Int32>({number}).collect::<Vec<i32>>()"),
                        )
                    } else {
                        let raw = read("crate::view::scalar::Int32");
                        if plain {
                            (
                                path.clone(),
                                format!("{raw}.and_then(|n| {path}::try_from(n).ok()).unwrap_or_default()"),
                                format!("{raw}.unwrap_or_default()"),
                            )
                        } else {
                            (format!("Option<{path}>"), format!("{raw}.and_then(|n| {path}::try_from(n).ok())"), raw)
                        }
                    }
                }
                Kind::Len { rust, owned: own, .. } => {
                    let get = match &siblings {
                        Some(s) => {
                            format!("self.raw.one_of({number}, &{s:?}).and_then(crate::view::Element::from_wire)")
                        }
                        None => format!("self.raw.element({number})"),
                    };
                    let own_one = |v: &str| match own {
                        Own::Str => format!("{v}.to_owned()"),
                        Own::Bytes => format!("::bytes::Bytes::copy_from_slice({v})"),
                        Own::Message => format!("{v}.to_message_at(depth + 1).into()"),
                    };
                    if field_is_map(self, field) {
                        (
                            format!("crate::view::Repeated<'a, {rust}>"),
                            format!("self.raw.repeated({number})"),
                            format!("self.{fname}().map(|e| e.map_pair_at(depth + 1)).collect()"),
                        )
                    } else if repeated {
                        (
                            format!("crate::view::Repeated<'a, {rust}>"),
                            format!("self.raw.repeated({number})"),
                            format!("self.{fname}().map(|v| {}).collect()", own_one("v")),
                        )
                    } else if plain {
                        (rust.clone(), format!("{get}.unwrap_or_default()"), own_one(&format!("self.{fname}()")))
                    } else {
                        (format!("Option<{rust}>"), get, format!("self.{fname}().map(|v| {})", own_one("v")))
                    }
                }
            };
            writeln!(accessors, "{indent}    /// {doc}.")?;
            writeln!(accessors, "{indent}    #[inline]")?;
            writeln!(accessors, "{indent}    pub fn {fname}(&self) -> {ty} {{ {body} }}")?;
            if siblings.is_none() {
                writeln!(owned, "{indent}            {fname}: {to_owned},")?;
            }
        }
        // prost's oneof fields: `Option<module::Oneof>`, one variant per member.
        for (i, members) in oneofs.iter().enumerate() {
            if members.is_empty() {
                continue;
            }
            let oneof = &message.oneof_decl[i];
            let mut module = place.prost_path();
            let cut = module.rfind("::").expect("a path");
            module.truncate(cut);
            let module = format!("{module}::{}", snake(place.names.last().expect("a name")));
            let enum_path = format!("{module}::{}", camel(oneof.name()));
            let numbers: Vec<i32> = members.iter().map(|f| f.number()).collect();
            let mut arms = String::new();
            for f in members {
                let kind = self.kind(f)?;
                let value = match kind {
                    Kind::Scalar { .. } => format!("self.{}()", snake(f.name())),
                    Kind::Enum { .. } => format!(
                        "self.raw.one_of({}, &{numbers:?}).and_then(<crate::view::scalar::Int32 as crate::view::Scalar>::from_wire)",
                        f.number()
                    ),
                    Kind::Len { owned: Own::Str, .. } => format!("self.{}().map(str::to_owned)", snake(f.name())),
                    Kind::Len { owned: Own::Bytes, .. } => {
                        format!("self.{}().map(::bytes::Bytes::copy_from_slice)", snake(f.name()))
                    }
                    Kind::Len { owned: Own::Message, .. } => {
                        format!("self.{}().map(|v| v.to_message_at(depth + 1).into())", snake(f.name()))
                    }
                };
                writeln!(
                    arms,
                    "{indent}                Some({}) => {value}.map({enum_path}::{}),",
                    f.number(),
                    camel(f.name())
                )?;
            }
            writeln!(
                owned,
                "{indent}            {}: match self.raw.last_of(&{numbers:?}) {{\n{arms}{indent}                _ => None,\n{indent}            }},",
                snake(oneof.name())
            )?;
        }

        let mut out = String::new();
        let prost = place.prost_path();
        if place.map_entry {
            writeln!(out, "{indent}/// A view of an entry of a map field (`{full}`): see [`crate::view`].")?;
        } else {
            writeln!(out, "{indent}/// A view of `{full}`: see [`{prost}`] for its fields, and")?;
            writeln!(out, "{indent}/// [`crate::view`] for how views read them.")?;
        }
        writeln!(out, "{indent}#[derive(Clone, Copy, Default, PartialEq, Eq)]")?;
        writeln!(out, "{indent}pub struct {name}<'a> {{ raw: crate::view::RawMessage<'a> }}")?;
        writeln!(out, "{indent}impl<'a> {name}<'a> {{")?;
        out.push_str(&accessors);
        writeln!(out, "{indent}    /// The message's bytes, unknown fields included.")?;
        writeln!(out, "{indent}    #[inline]")?;
        writeln!(out, "{indent}    pub fn as_raw(&self) -> crate::view::RawMessage<'a> {{ self.raw }}")?;
        if place.map_entry {
            let key = self.kind(&message.field[0])?;
            let value = self.kind(&message.field[1])?;
            let own = |k: &Kind, v: &str| match k {
                Kind::Scalar { .. } => format!("{v}.unwrap_or_default()"),
                Kind::Enum { .. } => "self.raw.scalar::<crate::view::scalar::Int32>(2).unwrap_or_default()".to_string(),
                Kind::Len { owned: Own::Str, .. } => format!("{v}.unwrap_or_default().to_owned()"),
                Kind::Len { owned: Own::Bytes, .. } => {
                    format!("::bytes::Bytes::copy_from_slice({v}.unwrap_or_default())")
                }
                Kind::Len { owned: Own::Message, .. } => {
                    format!("{v}.map(|v| v.to_message_at(depth + 1)).unwrap_or_default()")
                }
            };
            let (k, v) = (own(&key, "self.key()"), own(&value, "self.value()"));
            let types = (key.prost_type(), value.prost_type());
            writeln!(
                out,
                "{indent}    /// The entry as prost's map holds it: key and value, defaults for absent ones."
            )?;
            writeln!(
                out,
                "{indent}    pub fn map_pair(&self) -> ({}, {}) {{ self.map_pair_at(0) }}",
                types.0, types.1
            )?;
            writeln!(out, "{indent}    #[doc(hidden)]")?;
            writeln!(out, "{indent}    #[allow(unused_variables)]")?;
            writeln!(
                out,
                "{indent}    pub fn map_pair_at(&self, depth: usize) -> ({}, {}) {{ ({k}, {v}) }}",
                types.0, types.1
            )?;
        } else {
            writeln!(out, "{indent}    /// The message as its prost type: every field read through this view,")?;
            writeln!(out, "{indent}    /// enums as the numbers on the wire (as prost keeps them).")?;
            writeln!(out, "{indent}    #[allow(deprecated, clippy::needless_update)]")?;
            writeln!(out, "{indent}    pub fn to_message(&self) -> {prost} {{ self.to_message_at(0) }}")?;
            writeln!(out, "{indent}    /// [`to_message`](Self::to_message) of a message nested `depth` deep:")?;
            writeln!(out, "{indent}    /// past the nesting limit (possible only on unchecked bytes), empty.")?;
            writeln!(out, "{indent}    #[doc(hidden)]")?;
            writeln!(out, "{indent}    #[allow(deprecated, clippy::needless_update)]")?;
            writeln!(out, "{indent}    pub fn to_message_at(&self, depth: usize) -> {prost} {{")?;
            writeln!(out, "{indent}        if depth >= crate::view::MAX_DEPTH {{ return Default::default(); }}")?;
            writeln!(
                out,
                "{indent}        {prost} {{\n{owned}{indent}            ..Default::default()\n{indent}        }}"
            )?;
            writeln!(out, "{indent}    }}")?;
        }
        writeln!(out, "{indent}}}")?;
        writeln!(out, "{indent}impl<'a> crate::view::MessageView<'a> for {name}<'a> {{")?;
        writeln!(out, "{indent}    const FULL_NAME: &'static str = {full:?};")?;
        writeln!(out, "{indent}    fn message_id() -> crate::schema::MessageId {{")?;
        writeln!(
            out,
            "{indent}        static ID: ::std::sync::OnceLock<crate::schema::MessageId> = ::std::sync::OnceLock::new();"
        )?;
        writeln!(out, "{indent}        *ID.get_or_init(|| crate::view::lookup_message_id({full:?}))")?;
        writeln!(out, "{indent}    }}")?;
        writeln!(out, "{indent}    #[inline]")?;
        writeln!(out, "{indent}    fn from_raw(raw: crate::view::RawMessage<'a>) -> Self {{ Self {{ raw }} }}")?;
        writeln!(out, "{indent}}}")?;
        writeln!(out, "{indent}impl ::std::fmt::Debug for {name}<'_> {{")?;
        writeln!(out, "{indent}    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {{")?;
        writeln!(out, "{indent}        f.debug_tuple({name:?}).field(&self.raw).finish()")?;
        writeln!(out, "{indent}    }}")?;
        writeln!(out, "{indent}}}")?;
        if !place.map_entry {
            writeln!(out, "{indent}impl crate::view::HasView for {prost} {{")?;
            writeln!(out, "{indent}    type View<'a> = {name}<'a>;")?;
            writeln!(out, "{indent}    fn from_view(view: {name}<'_>) -> Self {{ view.to_message() }}")?;
            writeln!(out, "{indent}}}")?;
        }
        Ok(out)
    }

    fn kind(&self, field: &FieldDescriptorProto) -> Result<Kind, String> {
        let scalar = |rust: &str, codec: &str| Kind::Scalar {
            rust: rust.into(),
            codec: format!("crate::view::scalar::{codec}"),
        };
        Ok(match field.r#type() {
            Type::Double => scalar("f64", "Double"),
            Type::Float => scalar("f32", "Float"),
            Type::Int64 => scalar("i64", "Int64"),
            Type::Sfixed64 => scalar("i64", "Sfixed64"),
            Type::Sint64 => scalar("i64", "Sint64"),
            Type::Uint64 => scalar("u64", "Uint64"),
            Type::Fixed64 => scalar("u64", "Fixed64"),
            Type::Int32 => scalar("i32", "Int32"),
            Type::Uint32 => scalar("u32", "Uint32"),
            Type::Fixed32 => scalar("u32", "Fixed32"),
            Type::Sfixed32 => scalar("i32", "Sfixed32"),
            Type::Sint32 => scalar("i32", "Sint32"),
            Type::Bool => scalar("bool", "Bool"),
            Type::String => Kind::Len { rust: "&'a str".into(), owned: Own::Str, prost: "String".into() },
            Type::Bytes => Kind::Len { rust: "&'a [u8]".into(), owned: Own::Bytes, prost: "::bytes::Bytes".into() },
            Type::Enum => {
                let place =
                    self.enums.get(field.type_name()).ok_or_else(|| format!("no enum {}", field.type_name()))?;
                Kind::Enum { path: place.prost_path() }
            }
            Type::Message => {
                let (place, ..) =
                    self.messages.get(field.type_name()).ok_or_else(|| format!("no message {}", field.type_name()))?;
                Kind::Len { rust: format!("{}<'a>", place.view_path()), owned: Own::Message, prost: place.prost_path() }
            }
            Type::Group => return Err(format!("field {} is a group, which views do not read", field.name())),
        })
    }
}

fn field_is_map(generator: &Generator, field: &FieldDescriptorProto) -> bool {
    field.r#type() == Type::Message
        && generator.messages.get(field.type_name()).is_some_and(|(place, ..)| place.map_entry)
}

enum Kind {
    /// A scalar: its Rust type, and its reader in `view::scalar`.
    Scalar { rust: String, codec: String },
    /// An enum: its prost type.
    Enum { path: String },
    /// A string, bytes or message: its view's type, and its prost type.
    Len { rust: String, owned: Own, prost: String },
}

impl Kind {
    /// The type prost stores one value as.
    fn prost_type(&self) -> String {
        match self {
            Kind::Scalar { rust, .. } => rust.clone(),
            Kind::Enum { .. } => "i32".into(),
            Kind::Len { prost, .. } => prost.clone(),
        }
    }
}

enum Own {
    Str,
    Bytes,
    Message,
}
