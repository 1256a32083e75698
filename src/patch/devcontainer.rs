//! .devcontainer/devcontainer.json (GitHub Codespaces): install o11y when the container is
//! created (`postCreateCommand`) and run `o11y doctor` when it starts (`postStartCommand`).
//! A JSONC edit through jsonc-parser's concrete syntax tree: comments, order and formatting of
//! everything else stay as they are.

use jsonc_parser::cst::{CstInputValue, CstNode, CstObject, CstRootNode};
use jsonc_parser::ParseOptions;

use super::text::line_number;
use super::ParseError;

pub const FILE: &str = ".devcontainer/devcontainer.json";
/// Installs o11y once, when the codespace is created.
pub const INSTALL: &str = "pip install --user cruddur-o11y";
/// Runs at every start.
pub const RUN: &str = "o11y doctor";

/// The two lifecycle commands, what each must hold, and what o11y adds.
const HOOKS: &[(&str, &str, &str)] = &[
    ("postCreateCommand", "cruddur-o11y", INSTALL),
    ("postStartCommand", "o11y doctor", RUN),
];

/// Adds the install and the doctor run where they are missing.
pub fn patch(text: &str) -> Result<String, ParseError> {
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
    Ok(root.to_string())
}

/// Whether this file runs o11y at all, and whether it installs it first.
pub fn runs_without_install(text: &str) -> bool {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    code.contains("o11y ") && !code.contains("cruddur-o11y")
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

    #[test]
    fn adds_both_commands_and_keeps_comments() {
        let text = "// Codespaces\n{\n  // the image\n  \"image\": \"mcr.microsoft.com/devcontainers/python:3\"\n}\n";
        let out = patch(text).unwrap();
        assert!(out.contains("// Codespaces\n{\n  // the image\n"), "{out}");
        assert!(
            out.contains("\"postCreateCommand\": \"pip install --user cruddur-o11y\""),
            "{out}"
        );
        assert!(
            out.contains("\"postStartCommand\": \"o11y doctor\""),
            "{out}"
        );
        assert_eq!(patch(&out).unwrap(), out, "a second run changes nothing");
    }

    #[test]
    fn joins_the_students_own_commands() {
        let text = "{\n  \"postCreateCommand\": \"pip install -r backend-flask/requirements.txt\", // deps\n  \"postStartCommand\": [\"bash\", \"start.sh\"]\n}\n";
        let out = patch(text).unwrap();
        assert!(out.contains("\"pip install -r backend-flask/requirements.txt && pip install --user cruddur-o11y\", // deps"), "{out}");
        assert!(
            out.contains("\"setup\": [\"bash\", \"start.sh\"]") || out.contains("\"setup\": [\n"),
            "{out}"
        );
        assert!(out.contains("\"o11y\": \"o11y doctor\""), "{out}");
        assert_eq!(patch(&out).unwrap(), out);
        let objects = "{ \"postCreateCommand\": { \"deps\": \"npm ci\" } }";
        let out = patch(objects).unwrap();
        assert!(out.contains("\"deps\": \"npm ci\""), "{out}");
        assert!(
            out.contains("\"o11y\": \"pip install --user cruddur-o11y\""),
            "{out}"
        );
    }

    #[test]
    fn refuses_what_it_cannot_edit() {
        assert!(patch("[1, 2]").is_err());
        assert_eq!(patch("{\n  \"image\": ,\n}\n").unwrap_err().line, 2);
        assert!(patch("{ \"postCreateCommand\": 42 }").is_err());
        assert!(runs_without_install(
            "{ \"postStartCommand\": \"o11y doctor\" }"
        ));
        assert!(!runs_without_install(&patch("{}").unwrap()));
    }
}
