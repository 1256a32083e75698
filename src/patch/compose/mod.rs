//! docker-compose.yml: the backend's environment and the xray-daemon service.
//!
//! The file is parsed with a lossless YAML parser to find where things are; edits are whole
//! lines inserted or removed at those places, so every byte outside them stays as it was
//! (comments, quoting, anchors, line endings, a missing final newline).

use yaml_edit::anchor_resolution::{AnchorRegistry, DocumentResolvedExt, MappingMergedExt};
use yaml_edit::{Mapping, YamlFile, YamlNode};

use crate::patch::text::{
    eol_of, indent_at, insert_lines, line_number, line_start, next_line_start,
};
use crate::patch::ParseError;

mod classic;

pub use classic::{classic_urls, overridable_urls, ClassicUrl};

/// Why a compose file was not edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposeError {
    /// Not YAML, or not a compose file.
    Parse(ParseError),
    /// Valid, but shaped so that an edit could change its meaning; the user places the lines.
    Unsafe(String),
}

impl From<ParseError> for ComposeError {
    fn from(e: ParseError) -> Self {
        ComposeError::Parse(e)
    }
}

/// A service of the compose file and what detection needs to know of it, read through
/// anchors and merge keys (`<<: *default-app`) as docker compose reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Service {
    pub name: String,
    /// The build context (`build: DIR` or `build: {context: DIR}`), as written.
    pub build_context: Option<String>,
    /// `build: {dockerfile: FILE}`, relative to the context, when set.
    pub dockerfile: Option<String>,
    /// `environment:` as (name, value written; "" when the item has no value).
    pub env: Vec<(String, String)>,
    /// `env_file:` paths as written (a string, a list of strings, or a list of `{path:}`).
    pub env_files: Vec<String>,
    /// `command:` joined by spaces, when set.
    pub command: Option<String>,
}

fn parse(text: &str) -> Result<Mapping, ParseError> {
    if text.contains('\0') {
        return Err(ParseError::new(1, "the file holds binary data, not YAML"));
    }
    let parsed = YamlFile::parse(text);
    if let Some(e) = parsed.positioned_errors().first() {
        let line = line_number(text, (e.range.start as usize).min(text.len()));
        return Err(ParseError::new(
            line,
            format!("not valid YAML: {}", e.message),
        ));
    }
    let doc = parsed
        .tree()
        .documents()
        .next()
        .ok_or_else(|| ParseError::new(1, "the file is empty"))?;
    let root = doc
        .as_mapping()
        .ok_or_else(|| ParseError::new(1, "the top level is not a mapping of keys"))?;
    no_duplicate_keys(&YamlNode::Mapping(root.clone()), text, 0)?;
    Ok(root)
}

/// Docker compose v2 refuses a file in which one mapping names a key twice: its YAML parser
/// (yaml.v3) answers "mapping key ... already defined at line N". (Compose v1 kept the last
/// value silently: docker/compose#5267.) So does o11y, rather than read one of the two values
/// and edit the other.
fn no_duplicate_keys(node: &YamlNode, text: &str, depth: usize) -> Result<(), ParseError> {
    if depth > 256 {
        return Ok(());
    }
    if let Some(m) = node.as_mapping() {
        let mut seen: Vec<(String, usize)> = Vec::new();
        for e in m.entries() {
            if let Some(k) = e.key_node() {
                if let Some(name) = scalar(&k).filter(|n| n != "<<") {
                    let line = line_number(text, k.byte_range().start as usize);
                    if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
                        return Err(ParseError::new(
                            line,
                            format!("the key `{name}` is given twice in the same mapping (first on line {first}); docker compose refuses such a file: keep one of the two"),
                        ));
                    }
                    seen.push((name, line));
                }
            }
            if let Some(v) = e.value_node() {
                no_duplicate_keys(&v, text, depth + 1)?;
            }
        }
    } else if let Some(seq) = node.as_sequence() {
        for v in seq.values() {
            no_duplicate_keys(&v, text, depth + 1)?;
        }
    }
    Ok(())
}

fn services_of(root: &Mapping, text: &str) -> Result<Mapping, ParseError> {
    match root.get("services") {
        Some(node) => node.as_mapping().cloned().ok_or_else(|| {
            let line = line_number(text, node.byte_range().start as usize);
            ParseError::new(line, "`services:` is not a mapping of services")
        }),
        None if is_legacy(root) => Err(ParseError::new(1, LEGACY)),
        None => Err(ParseError::new(1, "there is no `services:` section")),
    }
}

/// What a legacy version-1 compose file is told.
pub const LEGACY: &str = "this compose file is in the legacy version-1 format (services at the top level, no `services:` section), which docker compose v2 no longer reads";

/// Version 1 of the compose format: no `services:`, and the top-level keys are services
/// (mappings with `build:` or `image:`).
fn is_legacy(root: &Mapping) -> bool {
    root.get("services").is_none()
        && root.values().any(|v| {
            v.as_mapping()
                .is_some_and(|m| m.get("build").is_some() || m.get("image").is_some())
        })
}

fn scalar(node: &YamlNode) -> Option<String> {
    node.as_scalar().map(|s| s.as_string())
}

/// The anchors of the file, for reading through aliases and merge keys.
fn registry(text: &str) -> AnchorRegistry {
    YamlFile::parse(text)
        .tree()
        .documents()
        .next()
        .map(|d| d.build_anchor_registry())
        .unwrap_or_default()
}

/// A mapping node with its merge keys resolved, as (key, value) pairs; the mapping itself
/// when the merge cannot be resolved (docker compose would refuse such a file anyway).
fn merged_entries(node: &YamlNode, reg: &AnchorRegistry) -> Vec<(String, YamlNode)> {
    let node = match node.as_alias() {
        Some(a) => reg.resolve_alias(a).unwrap_or_else(|_| node.clone()),
        None => node.clone(),
    };
    let Some(m) = node.as_mapping() else {
        return Vec::new();
    };
    match m.merged(reg) {
        Ok(view) => view
            .iter()
            .filter_map(|(k, v)| Some((scalar(&k)?, v)))
            .collect(),
        Err(_) => m
            .entries()
            .filter_map(|e| Some((scalar(e.key_node().as_ref()?)?, e.value_node()?)))
            .collect(),
    }
}

fn words(node: &YamlNode) -> Option<String> {
    scalar(node).or_else(|| {
        let seq = node.as_sequence()?;
        Some(
            seq.values()
                .filter_map(|v| scalar(&v))
                .collect::<Vec<_>>()
                .join(" "),
        )
    })
}

/// The services of a compose file, in file order.
pub fn services(text: &str) -> Result<Vec<Service>, ParseError> {
    let root = parse(text)?;
    let services = services_of(&root, text)?;
    let reg = registry(text);
    let mut out = Vec::new();
    for entry in services.entries() {
        let Some(name) = entry.key_node().as_ref().and_then(scalar) else {
            continue;
        };
        let mut svc = Service {
            name,
            ..Service::default()
        };
        let fields = entry
            .value_node()
            .map(|v| merged_entries(&v, &reg))
            .unwrap_or_default();
        for (key, value) in fields {
            match key.as_str() {
                "build" => {
                    if let Some(ctx) = scalar(&value) {
                        svc.build_context = Some(ctx);
                    } else {
                        for (k, v) in merged_entries(&value, &reg) {
                            match k.as_str() {
                                "context" => svc.build_context = scalar(&v),
                                "dockerfile" => svc.dockerfile = scalar(&v),
                                _ => {}
                            }
                        }
                    }
                }
                "environment" => {
                    if value.as_sequence().is_some() {
                        for v in value.as_sequence().into_iter().flat_map(|s| s.values()) {
                            if let Some(item) = scalar(&v) {
                                let (n, val) = item.split_once('=').unwrap_or((&item, ""));
                                svc.env.push((n.trim().to_string(), val.to_string()));
                            }
                        }
                    } else {
                        for (n, v) in merged_entries(&value, &reg) {
                            svc.env.push((n, scalar(&v).unwrap_or_default()));
                        }
                    }
                }
                "env_file" => {
                    if let Some(one) = scalar(&value) {
                        svc.env_files.push(one);
                    } else if let Some(seq) = value.as_sequence() {
                        for v in seq.values() {
                            if let Some(p) = scalar(&v) {
                                svc.env_files.push(p);
                            } else if let Some((_, p)) = merged_entries(&v, &reg)
                                .into_iter()
                                .find(|(k, _)| k == "path")
                            {
                                svc.env_files.extend(scalar(&p));
                            }
                        }
                    }
                }
                "command" => svc.command = words(&value),
                _ => {}
            }
        }
        out.push(svc);
    }
    Ok(out)
}

/// What to do with the backend's environment and the daemon service.
#[derive(Debug, Clone, Default)]
pub struct ComposeChange<'a> {
    pub service: &'a str,
    /// Variables to add when missing: (name, value), value a `${VAR}` reference.
    pub add_env: Vec<(String, String)>,
    /// Variables to take out when present.
    pub remove_env: Vec<String>,
    /// Every variable o11y knows, in the order they are kept in, so that a variable added
    /// later lands where a first run would have put it.
    pub order: Vec<String>,
    /// Services to add when missing: (name, text with `{i}` for one indent and `{e}` for a
    /// line break).
    pub add_services: Vec<(&'a str, &'a str)>,
    /// Names of services to take out when present.
    pub remove_services: Vec<&'a str>,
    /// Services to take out only where they read exactly as o11y wrote them (name, template as
    /// in `add_services`): a service of that name the student wrote stays.
    pub remove_own_services: Vec<(&'a str, &'a str)>,
    /// An `extra_hosts` entry the backend needs (local mode: `host.docker.internal:host-gateway`).
    pub extra_host: Option<&'a str>,
}

/// Applies `change` to a compose file.
pub fn patch(text: &str, change: &ComposeChange) -> Result<String, ComposeError> {
    let mut out = text.to_string();
    out = patch_env(&out, change)?;
    for name in &change.remove_services {
        out = remove_service(&out, name)?;
    }
    for (name, template) in &change.remove_own_services {
        out = remove_own_service(&out, name, template)?;
    }
    for (name, template) in &change.add_services {
        out = add_service(&out, name, template)?;
    }
    if let Some(entry) = change.extra_host {
        out = add_extra_host(&out, change.service, entry)?;
    }
    Ok(out)
}

fn add_extra_host(text: &str, service: &str, entry: &str) -> Result<String, ComposeError> {
    let eol = eol_of(text);
    let root = parse(text)?;
    let services = services_of(&root, text)?;
    let unit = unit_of(&services, text);
    let Some(svc) = services.get(service).and_then(|v| v.as_mapping().cloned()) else {
        return Err(ComposeError::Parse(ParseError::new(
            1,
            format!("there is no service `{service}`"),
        )));
    };
    let host = entry.split(':').next().unwrap_or(entry);
    match svc.find_entry_by_key("extra_hosts") {
        Some(e) => {
            let Some(seq) = e
                .value_node()
                .and_then(|v| v.as_sequence().cloned())
                .filter(|s| !s.is_flow_style())
            else {
                return Err(ComposeError::Unsafe(format!(
                    "`extra_hosts:` of `{service}` is not a block list; add `- \"{entry}\"` to it"
                )));
            };
            if seq.values().any(|v| {
                scalar(&v).is_some_and(|s| {
                    s.starts_with(&format!("{host}:")) || s.starts_with(&format!("{host}="))
                })
            }) {
                return Ok(text.to_string());
            }
            let Some(last) = seq.values().last() else {
                return Err(ComposeError::Unsafe(format!(
                    "`extra_hosts:` of `{service}` is empty"
                )));
            };
            let r = last.byte_range();
            let indent = indent_at(text, r.start as usize).to_string();
            let at = next_line_start(
                text,
                (r.end as usize).saturating_sub(1).max(r.start as usize),
            );
            Ok(insert_lines(
                text,
                at,
                &format!("{indent}- \"{entry}\"{eol}"),
                eol,
            ))
        }
        None => {
            let first = svc
                .entries()
                .next()
                .ok_or_else(|| ComposeError::Unsafe(format!("service `{service}` is empty")))?;
            let start = first.byte_range().start as usize;
            let indent = indent_at(text, start).to_string();
            let lines = format!("{indent}extra_hosts:{eol}{indent}{unit}- \"{entry}\"{eol}");
            Ok(insert_lines(text, line_start(text, start), &lines, eol))
        }
    }
}

enum EnvStyle {
    Map,
    List,
}

struct EnvItem {
    name: String,
    start: usize,
    end: usize,
}

fn unit_of(services: &Mapping, text: &str) -> String {
    // One level of indentation, as the file uses it below `services:`.
    services
        .entries()
        .next()
        .map(|e| indent_at(text, e.byte_range().start as usize).to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "  ".to_string())
}

fn patch_env(text: &str, change: &ComposeChange) -> Result<String, ComposeError> {
    if change.add_env.is_empty() && change.remove_env.is_empty() {
        return Ok(text.to_string());
    }
    let eol = eol_of(text);
    let root = parse(text)?;
    let services = services_of(&root, text)?;
    let unit = unit_of(&services, text);
    let Some(svc_entry) = services.find_entry_by_key(change.service) else {
        return Err(ComposeError::Parse(ParseError::new(
            1,
            format!("there is no service `{}`", change.service),
        )));
    };
    let svc_line = line_number(text, svc_entry.byte_range().start as usize);
    let Some(svc) = svc_entry.value_node().and_then(|v| v.as_mapping().cloned()) else {
        return Err(ComposeError::Unsafe(format!(
            "service `{}` (line {svc_line}) is not a block mapping",
            change.service
        )));
    };
    if svc.is_flow_style() {
        return Err(ComposeError::Unsafe(format!(
            "service `{}` (line {svc_line}) is written in flow style (`{{...}}`)",
            change.service
        )));
    }
    let Some(env_entry) = svc.find_entry_by_key("environment") else {
        // No environment yet: a new map-style one, as the first key of the service. When the
        // service takes one through a merge key (`<<: *default-app`), its own would replace
        // that one as a whole, so the inherited variables are written into it too.
        let first = svc.entries().next().ok_or_else(|| {
            ComposeError::Unsafe(format!("service `{}` is empty", change.service))
        })?;
        let first_start = first.byte_range().start as usize;
        let indent = indent_at(text, first_start).to_string();
        let mut lines = format!("{indent}environment:{eol}");
        let inherited: Vec<(String, String)> = self::services(text)
            .ok()
            .and_then(|all| all.into_iter().find(|s| s.name == change.service))
            .map(|s| s.env)
            .unwrap_or_default();
        let quote = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"");
        for (name, value) in &inherited {
            if !change.remove_env.contains(name) {
                lines.push_str(&format!("{indent}{unit}{name}: \"{}\"{eol}", quote(value)));
            }
        }
        for (name, value) in &change.add_env {
            if !inherited.iter().any(|(n, _)| n == name) {
                lines.push_str(&format!("{indent}{unit}{name}: \"{value}\"{eol}"));
            }
        }
        if change.add_env.is_empty() {
            return Ok(text.to_string());
        }
        return Ok(insert_lines(
            text,
            line_start(text, first_start),
            &lines,
            eol,
        ));
    };
    let env_line = line_number(text, env_entry.byte_range().start as usize);
    let env_value = env_entry.value_node();
    let (style, items, item_indent) = match &env_value {
        Some(v) if v.as_mapping().is_some() => {
            let m = v.as_mapping().unwrap();
            if m.is_flow_style() {
                return Err(ComposeError::Unsafe(format!(
                    "`environment:` of `{}` (line {env_line}) is in flow style",
                    change.service
                )));
            }
            let mut items = Vec::new();
            for e in m.entries() {
                let r = e.byte_range();
                let name = e.key_node().as_ref().and_then(scalar).unwrap_or_default();
                items.push(EnvItem {
                    name,
                    start: r.start as usize,
                    end: r.end as usize,
                });
            }
            let indent = items
                .first()
                .map(|i| indent_at(text, i.start).to_string())
                .unwrap_or_default();
            (EnvStyle::Map, items, indent)
        }
        Some(v) if v.as_sequence().is_some() => {
            let s = v.as_sequence().unwrap();
            if s.is_flow_style() {
                return Err(ComposeError::Unsafe(format!(
                    "`environment:` of `{}` (line {env_line}) is in flow style",
                    change.service
                )));
            }
            let mut items = Vec::new();
            for node in s.values() {
                let r = node.byte_range();
                let raw = scalar(&node).unwrap_or_default();
                let name = raw.split('=').next().unwrap_or("").trim().to_string();
                items.push(EnvItem {
                    name,
                    start: r.start as usize,
                    end: r.end as usize,
                });
            }
            let indent = items
                .first()
                .map(|i| indent_at(text, i.start).to_string())
                .unwrap_or_default();
            (EnvStyle::List, items, indent)
        }
        Some(v)
            if v.as_scalar()
                .map(|s| s.as_string().is_empty())
                .unwrap_or(false) =>
        {
            (EnvStyle::Map, Vec::new(), String::new())
        }
        None => (EnvStyle::Map, Vec::new(), String::new()),
        Some(_) => {
            return Err(ComposeError::Unsafe(format!(
                "`environment:` of `{}` (line {env_line}) is neither a list nor a mapping",
                change.service
            )))
        }
    };
    let item_indent = if items.is_empty() {
        format!(
            "{}{unit}",
            indent_at(text, env_entry.byte_range().start as usize)
        )
    } else {
        item_indent
    };

    // Removals first, bottom up, then additions on the result (offsets recomputed by re-parsing).
    let mut out = text.to_string();
    let mut removed = false;
    for item in items.iter().rev() {
        if change.remove_env.contains(&item.name) {
            let start = line_start(&out, item.start);
            let end = next_line_start(&out, item.end.saturating_sub(1).max(item.start));
            out = super::text::remove_lines(&out, start, end);
            removed = true;
        }
    }
    if removed {
        let again = ComposeChange {
            remove_env: Vec::new(),
            add_services: Vec::new(),
            remove_services: Vec::new(),
            remove_own_services: Vec::new(),
            ..change.clone()
        };
        return patch_env(&out, &again);
    }

    let present: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
    // Insert one variable at a time, each before the first present variable that follows it
    // in o11y's order, else after the last item; recomputing positions from the edited text.
    let mut pending: Vec<&(String, String)> = change
        .add_env
        .iter()
        .filter(|(n, _)| !present.contains(&n.as_str()))
        .collect();
    if pending.is_empty() {
        return Ok(out);
    }
    let (name, value) = pending.remove(0);
    let line = match style {
        EnvStyle::Map => format!("{item_indent}{name}: \"{value}\"{eol}"),
        EnvStyle::List => format!("{item_indent}- {name}={value}{eol}"),
    };
    let rank = |n: &str| change.order.iter().position(|o| o == n);
    let my_rank = rank(name);
    let before = items.iter().find(|i| match (rank(&i.name), my_rank) {
        (Some(r), Some(m)) => r > m,
        _ => false,
    });
    let at = match (before, items.last()) {
        (Some(b), _) => line_start(text, b.start),
        (None, Some(last)) => next_line_start(text, last.end.saturating_sub(1).max(last.start)),
        (None, None) => next_line_start(text, env_entry.byte_range().start as usize),
    };
    let out = insert_lines(text, at, &line, eol);
    patch_env(&out, change)
}

fn add_service(text: &str, name: &str, template: &str) -> Result<String, ComposeError> {
    let root = parse(text)?;
    let services = services_of(&root, text)?;
    if services.find_entry_by_key(name).is_some() {
        return Ok(text.to_string());
    }
    if services.is_flow_style() {
        return Err(ComposeError::Unsafe("`services:` is in flow style".into()));
    }
    let eol = eol_of(text);
    let unit = unit_of(&services, text);
    let block = template.replace("{i}", &unit).replace("{e}", eol);
    let at = match services.entries().next() {
        Some(first) => line_start(text, first.byte_range().start as usize),
        None => return Err(ComposeError::Unsafe("`services:` is empty".into())),
    };
    Ok(insert_lines(text, at, &block, eol))
}

fn remove_own_service(text: &str, name: &str, template: &str) -> Result<String, ComposeError> {
    let root = parse(text)?;
    let services = services_of(&root, text)?;
    let Some(entry) = services.find_entry_by_key(name) else {
        return Ok(text.to_string());
    };
    let own = template
        .replace("{i}", &unit_of(&services, text))
        .replace("{e}", eol_of(text));
    let start = line_start(text, entry.byte_range().start as usize);
    if text[start..].starts_with(&own) {
        remove_service(text, name)
    } else {
        Ok(text.to_string())
    }
}

fn remove_service(text: &str, name: &str) -> Result<String, ComposeError> {
    let root = parse(text)?;
    let services = services_of(&root, text)?;
    let Some(entry) = services.find_entry_by_key(name) else {
        return Ok(text.to_string());
    };
    let r = entry.byte_range();
    let start = line_start(text, r.start as usize);
    let end = next_line_start(
        text,
        (r.end as usize).saturating_sub(1).max(r.start as usize),
    );
    Ok(super::text::remove_lines(text, start, end))
}

/// The environment variable names of a service (map keys or `NAME=` items), through merge keys.
pub fn env_names(text: &str, service: &str) -> Result<Vec<String>, ParseError> {
    Ok(services(text)?
        .into_iter()
        .find(|s| s.name == service)
        .map(|s| s.env.into_iter().map(|(n, _)| n).collect())
        .unwrap_or_default())
}

/// Whether the compose file parses as a compose file.
pub fn validate(text: &str) -> Result<(), ParseError> {
    let root = parse(text)?;
    services_of(&root, text).map(|_| ())
}
