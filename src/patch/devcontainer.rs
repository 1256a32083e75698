//! .devcontainer/devcontainer.json (GitHub Codespaces, and the current Gitpod's dev
//! containers): install o11y when the container is created (`postCreateCommand`), run
//! `o11y doctor` when it starts (`postStartCommand`), and forward the backend's and the X-Ray
//! daemon's ports (`forwardPorts`).
//! A JSONC edit through jsonc-parser's concrete syntax tree: comments, order and formatting of
//! everything else stay as they are.

use jsonc_parser::cst::{CstInputValue, CstNode, CstObject, CstRootNode};
use jsonc_parser::ParseOptions;

use super::text::line_number;
use super::ParseError;

pub const FILE: &str = ".devcontainer/devcontainer.json";
/// Installs o11y once, when the container is created.
pub const INSTALL: &str = "sh bin/install-o11y";
/// Runs at every start (installing first, should the container have lost it).
pub const RUN: &str = "sh bin/install-o11y doctor";
/// What earlier versions wrote, replaced where found: a `pip install` of a package that may not
/// be published yet.
const LEGACY: &[(&str, &str)] = &[("pip install --user cruddur-o11y", INSTALL)];

/// The two lifecycle commands, what each must hold, and what o11y adds.
const HOOKS: &[(&str, &str, &str)] = &[
    ("postCreateCommand", "install-o11y", INSTALL),
    ("postStartCommand", "o11y doctor", RUN),
];

/// Adds the install and the doctor run where they are missing.
/// `ports`: those forwarded, the backend's and those of the integrations' containers.
pub fn patch(text: &str, ports: &[u16]) -> Result<String, ParseError> {
    let root = CstRootNode::parse(text, &ParseOptions::default()).map_err(|e| {
        ParseError::new(
            line_number(text, e.range().start.min(text.len())),
            format!("not valid JSON with comments: {}", e.kind()),
        )
    })?;
    let obj = match root.value() {
        None => root.object_value_or_set(),
        Some(v) => v
            .as_object()
            .ok_or_else(|| ParseError::new(1, "the top level is not an object (`{ ... }`)"))?,
    };
    for (key, marker, command) in HOOKS {
        add_command(text, &obj, key, marker, command)?;
    }
    forward_ports(text, &obj, ports)?;
    Ok(root.to_string())
}

fn forward_ports(text: &str, obj: &CstObject, ports: &[u16]) -> Result<(), ParseError> {
    let Some(prop) = obj.get("forwardPorts") else {
        obj.append(
            "forwardPorts",
            CstInputValue::Array(
                ports
                    .iter()
                    .map(|p| CstInputValue::Number(p.to_string()))
                    .collect(),
            ),
        );
        return Ok(());
    };
    let Some(list) = prop.value().and_then(|v| v.as_array()) else {
        return Err(ParseError::new(
            line_number(text, text.find("\"forwardPorts\"").unwrap_or(0)),
            "`forwardPorts` is not a list",
        ));
    };
    // Ports are numbers, or "host:port" strings.
    let have: Vec<String> = list
        .elements()
        .iter()
        .map(|e| {
            e.as_string_lit()
                .and_then(|s| s.decoded_value().ok())
                .unwrap_or_else(|| e.to_string())
        })
        .collect();
    for p in ports {
        let p = p.to_string();
        if !have
            .iter()
            .any(|h| h.trim() == p || h.rsplit(':').next() == Some(p.as_str()))
        {
            list.append(CstInputValue::Number(p));
        }
    }
    Ok(())
}

/// Whether this file runs o11y at all, and whether it installs it first.
pub fn runs_without_install(text: &str) -> bool {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    code.contains("o11y ") && !super::gitpod::installs_o11y(&code)
}

fn add_command(
    text: &str,
    obj: &CstObject,
    key: &str,
    marker: &str,
    command: &str,
) -> Result<(), ParseError> {
    let Some(prop) = obj.get(key) else {
        obj.append(key, CstInputValue::String(command.to_string()));
        return Ok(());
    };
    let line = || line_number(text, text.find(&format!("\"{key}\"")).unwrap_or(0));
    let value = prop.value();
    if let Some(old) = value
        .as_ref()
        .and_then(|v| v.as_string_lit())
        .and_then(|s| s.decoded_value().ok())
    {
        let new = LEGACY
            .iter()
            .fold(old.clone(), |t, (from, to)| t.replace(from, to));
        if new != old {
            prop.set_value(CstInputValue::String(new));
            return Ok(());
        }
    }
    let holds = |n: &CstNode| n.to_string().contains(marker);
    match value {
        Some(v) if holds(&v) => Ok(()),
        Some(CstNode::Leaf(_)) | None => {
            let before = prop
                .value()
                .and_then(|v| v.as_string_lit())
                .and_then(|s| s.decoded_value().ok());
            match before {
                Some(s) if s.trim().is_empty() => {
                    prop.set_value(CstInputValue::String(command.to_string()))
                }
                Some(s) => prop.set_value(CstInputValue::String(format!("{s} && {command}"))),
                None => {
                    return Err(ParseError::new(
                        line(),
                        format!("`{key}` is neither a command string, a list nor an object"),
                    ))
                }
            }
            Ok(())
        }
        Some(v) => {
            if let Some(o) = v.as_object() {
                // Commands that run in parallel: o11y's is one more.
                o.append("o11y", CstInputValue::String(command.to_string()));
            } else if let Some(a) = v.as_array() {
                // One command without a shell: kept as it is, beside o11y's, run in parallel.
                let items: Vec<CstInputValue> = a
                    .elements()
                    .iter()
                    .filter_map(|e| e.as_string_lit().and_then(|s| s.decoded_value().ok()))
                    .map(CstInputValue::String)
                    .collect();
                if items.len() != a.elements().len() {
                    return Err(ParseError::new(
                        line(),
                        format!("`{key}` is a list of something other than strings"),
                    ));
                }
                prop.set_value(CstInputValue::Object(vec![
                    ("setup".to_string(), CstInputValue::Array(items)),
                    (
                        "o11y".to_string(),
                        CstInputValue::String(command.to_string()),
                    ),
                ]));
            } else {
                return Err(ParseError::new(
                    line(),
                    format!("`{key}` is neither a command string, a list nor an object"),
                ));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORTS: &[u16] = &[4567, 2000];

    #[test]
    fn adds_both_commands_and_keeps_comments() {
        let text = "// Codespaces\n{\n  // the image\n  \"image\": \"mcr.microsoft.com/devcontainers/python:3\"\n}\n";
        let out = patch(text, PORTS).unwrap();
        assert!(out.contains("// Codespaces\n{\n  // the image\n"), "{out}");
        assert!(
            out.contains("\"postCreateCommand\": \"sh bin/install-o11y\""),
            "{out}"
        );
        assert!(
            out.contains("\"postStartCommand\": \"sh bin/install-o11y doctor\""),
            "{out}"
        );
        assert!(out.contains("\"forwardPorts\": [4567, 2000]"), "{out}");
        assert_eq!(
            patch(&out, PORTS).unwrap(),
            out,
            "a second run changes nothing"
        );
    }

    #[test]
    fn joins_the_students_own_commands() {
        let text = "{\n  \"postCreateCommand\": \"pip install -r backend-flask/requirements.txt\", // deps\n  \"postStartCommand\": [\"bash\", \"start.sh\"]\n}\n";
        let out = patch(text, PORTS).unwrap();
        assert!(
            out.contains(
                "\"pip install -r backend-flask/requirements.txt && sh bin/install-o11y\", // deps"
            ),
            "{out}"
        );
        assert!(
            out.contains("\"setup\": [\"bash\", \"start.sh\"]") || out.contains("\"setup\": [\n"),
            "{out}"
        );
        assert!(
            out.contains("\"o11y\": \"sh bin/install-o11y doctor\""),
            "{out}"
        );
        assert_eq!(patch(&out, PORTS).unwrap(), out);
        let objects = "{ \"postCreateCommand\": { \"deps\": \"npm ci\" } }";
        let out = patch(objects, PORTS).unwrap();
        assert!(out.contains("\"deps\": \"npm ci\""), "{out}");
        assert!(out.contains("\"o11y\": \"sh bin/install-o11y\""), "{out}");
    }

    #[test]
    fn an_earlier_pip_install_is_replaced_and_ports_are_added_once() {
        let text = "{\n  \"postCreateCommand\": \"npm ci && pip install --user cruddur-o11y\",\n  \"postStartCommand\": \"o11y doctor\",\n  \"forwardPorts\": [3000, \"localhost:4567\"]\n}\n";
        let out = patch(text, PORTS).unwrap();
        assert!(out.contains("\"npm ci && sh bin/install-o11y\""), "{out}");
        assert!(!out.contains("pip install --user cruddur-o11y"), "{out}");
        assert!(
            out.contains("\"postStartCommand\": \"o11y doctor\""),
            "{out}"
        );
        assert!(out.contains("3000, \"localhost:4567\", 2000]"), "{out}");
        assert_eq!(patch(&out, PORTS).unwrap(), out);
        assert!(patch("{ \"forwardPorts\": 4567 }", PORTS).is_err());
    }

    #[test]
    fn refuses_what_it_cannot_edit() {
        assert!(patch("[1, 2]", PORTS).is_err());
        assert_eq!(patch("{\n  \"image\": ,\n}\n", PORTS).unwrap_err().line, 2);
        assert!(patch("{ \"postCreateCommand\": 42 }", PORTS).is_err());
        assert!(runs_without_install(
            "{ \"postStartCommand\": \"o11y doctor\" }"
        ));
        assert!(!runs_without_install(&patch("{}", PORTS).unwrap()));
    }
}
