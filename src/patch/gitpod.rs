//! .gitpod.yml (Gitpod Classic): the ports o11y needs open (the backend's 4567, and those of
//! the integrations' containers) and a start task that installs o11y and runs `o11y doctor`. Only edited where
//! the project has one; the current Gitpod reads `.gitpod/automations.yaml` instead.

use yaml_edit::{Mapping, YamlFile, YamlNode};

use super::text::{eol_of, indent_at, insert_lines, line_number, next_line_start};
use super::ParseError;
use crate::spec::WorkspacePort;

/// The backend's port, named after the project's backend service, public so that the
/// frontend reaches it.
pub const BACKEND_PORT: u16 = 4567;
pub const TASK_COMMAND: &str = "o11y doctor";
/// The script that installs o11y in a workspace that has none, then runs it with its
/// arguments: pip first, else the release's binary checked against its `.sha256`.
pub const INSTALL_SCRIPT: &str = "bin/install-o11y";
/// What every workspace start runs: only `/workspace` outlives a Gitpod prebuild, so o11y is
/// installed in the task's `command`, not its `init`.
pub const TASK_LINE: &str = "sh bin/install-o11y doctor";
/// Task lines earlier versions wrote: without an install, or with a `pip install` of a package
/// that may not be published yet.
const OLD_TASK_LINES: &[&str] = &[
    "command: o11y doctor",
    "command: pip install --quiet cruddur-o11y && o11y doctor",
];

/// Whether a workspace file's `code` installs o11y before it runs it.
pub fn installs_o11y(code: &str) -> bool {
    code.contains("install-o11y") || code.contains("cruddur-o11y")
}

/// The top-level mapping of a YAML file (None when it is empty or all comments).
pub(crate) fn yaml_root(text: &str) -> Result<Option<Mapping>, ParseError> {
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
    let Some(doc) = parsed.tree().documents().next() else {
        return Ok(None);
    };
    match doc.as_mapping() {
        Some(m) => Ok(Some(m)),
        None if text.trim().is_empty()
            || text
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) =>
        {
            Ok(None)
        }
        None => Err(ParseError::new(1, "the top level is not a mapping of keys")),
    }
}

fn scalar(n: &YamlNode) -> Option<String> {
    n.as_scalar().map(|s| s.as_string())
}

/// Adds the missing ports and the doctor task.
pub fn patch(text: &str, service: &str, ports: &[WorkspacePort]) -> Result<String, ParseError> {
    let mut out = text.to_string();
    out = add_ports(&out, service, ports)?;
    out = add_task(&out)?;
    Ok(out)
}

fn item_lines(indent: &str, pairs: &[String], eol: &str) -> String {
    let mut s = String::new();
    for (k, p) in pairs.iter().enumerate() {
        if k == 0 {
            s.push_str(&format!("{indent}- {p}{eol}"));
        } else {
            s.push_str(&format!("{indent}  {p}{eol}"));
        }
    }
    s
}

/// Appends `items` to the top-level sequence `key`, or adds `key` at the end of the file.
fn append_to(text: &str, key: &str, items: &[Vec<String>]) -> Result<String, ParseError> {
    if items.is_empty() {
        return Ok(text.to_string());
    }
    let eol = eol_of(text);
    let root = yaml_root(text)?;
    let seq = root.as_ref().and_then(|r| r.find_entry_by_key(key));
    match seq {
        Some(entry) => {
            let Some(s) = entry.value_node().and_then(|v| v.as_sequence().cloned()) else {
                let line = line_number(text, entry.byte_range().start as usize);
                return Err(ParseError::new(line, format!("`{key}:` is not a list")));
            };
            if s.is_flow_style() {
                let line = line_number(text, entry.byte_range().start as usize);
                return Err(ParseError::new(
                    line,
                    format!("`{key}:` is a flow-style list (`[...]`); write it as a block list"),
                ));
            }
            let last = s.values().last();
            let (indent, at) = match (s.values().next(), last) {
                (Some(first), Some(last)) => {
                    let r = last.byte_range();
                    (
                        indent_at(text, first.byte_range().start as usize).to_string(),
                        next_line_start(
                            text,
                            (r.end as usize).saturating_sub(1).max(r.start as usize),
                        ),
                    )
                }
                _ => (
                    "  ".to_string(),
                    next_line_start(text, entry.byte_range().start as usize),
                ),
            };
            let mut lines = String::new();
            for item in items {
                lines.push_str(&item_lines(&indent, item, eol));
            }
            Ok(insert_lines(text, at, &lines, eol))
        }
        None => {
            let mut lines = format!("{key}:{eol}");
            for item in items {
                lines.push_str(&item_lines("  ", item, eol));
            }
            Ok(insert_lines(text, text.len(), &lines, eol))
        }
    }
}

fn add_ports(text: &str, service: &str, ports: &[WorkspacePort]) -> Result<String, ParseError> {
    let root = yaml_root(text)?;
    let mut have: Vec<u16> = Vec::new();
    if let Some(seq) = root
        .as_ref()
        .and_then(|r| r.get("ports"))
        .and_then(|v| v.as_sequence().cloned())
    {
        for item in seq.values() {
            let port = item
                .as_mapping()
                .and_then(|m| m.get("port"))
                .and_then(|p| scalar(&p))
                .unwrap_or_default();
            if let Some((a, b)) = port.split_once('-') {
                if let (Ok(a), Ok(b)) = (a.trim().parse::<u16>(), b.trim().parse::<u16>()) {
                    have.extend(a..=b);
                }
            } else if let Ok(p) = port.trim().parse::<u16>() {
                have.push(p);
            }
        }
    }
    let wanted = std::iter::once((BACKEND_PORT, service, "visibility: public"))
        .chain(ports.iter().map(|p| (p.port, p.name, p.gitpod)));
    let items: Vec<Vec<String>> = wanted
        .filter(|(p, _, _)| !have.contains(p))
        .map(|(p, name, extra)| {
            vec![
                format!("name: {name}"),
                format!("port: {p}"),
                extra.to_string(),
            ]
        })
        .collect();
    append_to(text, "ports", &items)
}

fn add_task(text: &str) -> Result<String, ParseError> {
    let root = yaml_root(text)?;
    let present = root
        .as_ref()
        .and_then(|r| r.get("tasks"))
        .is_some_and(|t| t.to_string().contains(TASK_COMMAND));
    if present {
        // The task of an earlier version: give it the install.
        let mut out = String::with_capacity(text.len() + 40);
        for line in text.split_inclusive('\n') {
            let body = line.trim_end_matches(['\n', '\r']);
            if OLD_TASK_LINES.contains(&body.trim()) {
                let indent = &body[..body.len() - body.trim_start().len()];
                out.push_str(&format!(
                    "{indent}command: {TASK_LINE}{}",
                    &line[body.len()..]
                ));
            } else {
                out.push_str(line);
            }
        }
        return Ok(out);
    }
    append_to(
        text,
        "tasks",
        &[vec![
            "name: o11y".to_string(),
            format!("command: {TASK_LINE}"),
        ]],
    )
}
