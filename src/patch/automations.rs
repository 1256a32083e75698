//! `.gitpod/automations.yaml`, the start-up work of the current Gitpod (Ona): a task that
//! installs o11y when the environment has none and runs `o11y doctor`, each time the dev
//! container starts. The file's other tasks, services and comments stay byte for byte: o11y
//! only inserts its own task's lines.
//!
//! The format (`tasks:` and `services:` maps keyed by id; a task has `name`, `description`,
//! `command` and `triggeredBy`, one of `manual`, `postDevcontainerStart`,
//! `postEnvironmentStart`, `prebuild`; unknown keys are an error) is Gitpod's:
//! <https://ona.com/docs/ona/reference/automations-yaml-schema>. Newer projects keep the file
//! in `.ona/`, older ones in `.gitpod/`; o11y edits the one the project has, and creates
//! `.gitpod/automations.yaml` when it has neither.

use super::gitpod::yaml_root;
use super::text::{eol_of, indent_at, insert_lines, line_number, next_line_start};
use super::ParseError;

pub const FILE: &str = ".gitpod/automations.yaml";
/// Where the file may be, in the order Gitpod looks: today's default first.
pub const FILES: &[&str] = &[".ona/automations.yaml", FILE];
/// The id of o11y's task in `tasks:`.
pub const TASK_ID: &str = "o11y";

/// The task's lines below its id, each as `key: value` at one indent unit deeper.
fn task_lines(command: &str) -> Vec<String> {
    vec![
        "name: o11y doctor".to_string(),
        "description: Installs o11y if this environment has none, then checks every integration (files, secrets, services)".to_string(),
        "triggeredBy:".to_string(),
        "  - postDevcontainerStart".to_string(),
        format!("command: {command}"),
    ]
}

/// `text` (None: the file does not exist) with o11y's task added where it is missing.
/// `command` is what the task runs.
pub fn patch(text: Option<&str>, command: &str) -> Result<String, ParseError> {
    let text = text.unwrap_or("");
    let eol = eol_of(text);
    let root = yaml_root(text)?;
    let tasks = root.as_ref().and_then(|r| r.find_entry_by_key("tasks"));
    let Some(entry) = tasks else {
        // No `tasks:` yet: a new section at the end, two spaces a level as Gitpod's examples.
        let mut lines = format!("tasks:{eol}  {TASK_ID}:{eol}");
        for l in task_lines(command) {
            lines.push_str(&format!("    {l}{eol}"));
        }
        return Ok(insert_lines(text, text.len(), &lines, eol));
    };
    let line = line_number(text, entry.byte_range().start as usize);
    let value = entry.value_node();
    let map = match value.as_ref().map(|v| (v.as_mapping().cloned(), v)) {
        Some((Some(m), _)) => m,
        // `tasks:` with nothing under it.
        None => {
            let at = next_line_start(text, entry.byte_range().start as usize);
            let mut lines = format!("  {TASK_ID}:{eol}");
            for l in task_lines(command) {
                lines.push_str(&format!("    {l}{eol}"));
            }
            return Ok(insert_lines(text, at, &lines, eol));
        }
        Some((None, v))
            if v.as_scalar()
                .is_some_and(|s| s.as_string().trim().is_empty()) =>
        {
            let at = next_line_start(text, entry.byte_range().start as usize);
            let mut lines = format!("  {TASK_ID}:{eol}");
            for l in task_lines(command) {
                lines.push_str(&format!("    {l}{eol}"));
            }
            return Ok(insert_lines(text, at, &lines, eol));
        }
        Some((None, _)) => {
            return Err(ParseError::new(
                line,
                "`tasks:` is not a map of tasks by id",
            ));
        }
    };
    if map.get(TASK_ID).is_some() {
        return Ok(text.to_string());
    }
    if map.is_flow_style() {
        return Err(ParseError::new(
            line,
            "`tasks:` is written in flow style (`{...}`); write it as a block map",
        ));
    }
    let Some(first) = map.entries().next() else {
        return Err(ParseError::new(
            line,
            "`tasks:` is not a map of tasks by id",
        ));
    };
    let key_start = first
        .key_node()
        .map_or(first.byte_range().start, |k| k.byte_range().start) as usize;
    let indent = indent_at(text, key_start).to_string();
    // One indent unit: how much deeper the first task's own keys sit than its id.
    let unit = first
        .value_node()
        .and_then(|v| v.as_mapping().cloned())
        .and_then(|m| m.entries().next())
        .map(|e| {
            let deeper = indent_at(text, e.byte_range().start as usize).len();
            " ".repeat(deeper.saturating_sub(indent.len()).max(1))
        })
        .unwrap_or_else(|| "  ".to_string());
    let last = map
        .entries()
        .last()
        .expect("a map with a first entry has a last");
    let end = last.byte_range().end as usize;
    let at = next_line_start(
        text,
        end.saturating_sub(1).max(last.byte_range().start as usize),
    );
    let mut lines = format!("{indent}{TASK_ID}:{eol}");
    for l in task_lines(command) {
        lines.push_str(&format!("{indent}{unit}{l}{eol}"));
    }
    Ok(insert_lines(text, at, &lines, eol))
}

/// Whether the file runs o11y at start without the install step before it.
pub fn runs_without_install(text: &str) -> bool {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    code.contains("o11y ") && !super::gitpod::installs_o11y(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: &str = "sh bin/install-o11y doctor";

    #[test]
    fn a_new_file_gets_the_task() {
        let out = patch(None, CMD).unwrap();
        assert_eq!(
            out,
            "tasks:\n  o11y:\n    name: o11y doctor\n    description: Installs o11y if this environment has none, then checks every integration (files, secrets, services)\n    triggeredBy:\n      - postDevcontainerStart\n    command: sh bin/install-o11y doctor\n"
        );
        assert_eq!(patch(Some(&out), CMD).unwrap(), out);
    }

    #[test]
    fn existing_tasks_services_and_comments_stay_byte_for_byte() {
        let text = "# Gitpod automations\nservices:\n    db:\n        name: Postgres # the database\n        commands:\n            start: docker compose up db\n\ntasks:\n    # front end first\n    npm:\n        name: npm install\n        command: |\n            cd frontend-react-js\n            npm install\n        triggeredBy:\n            - postDevcontainerStart\n\n# the end\n";
        let out = patch(Some(text), CMD).unwrap();
        let added = "    o11y:\n        name: o11y doctor\n        description: Installs o11y if this environment has none, then checks every integration (files, secrets, services)\n        triggeredBy:\n          - postDevcontainerStart\n        command: sh bin/install-o11y doctor\n";
        let at = text.find("\n# the end").unwrap();
        // After the block scalar's last line, before the blank line that follows it.
        let want = format!(
            "{}{}{}",
            &text[..text[..at]
                .rfind("            - postDevcontainerStart\n")
                .unwrap()
                + "            - postDevcontainerStart\n".len()],
            added,
            &text[text[..at]
                .rfind("            - postDevcontainerStart\n")
                .unwrap()
                + "            - postDevcontainerStart\n".len()..]
        );
        assert_eq!(out, want);
        assert_eq!(patch(Some(&out), CMD).unwrap(), out);
        // Nothing but o11y's lines was added.
        let removed: String = out.replacen(added, "", 1);
        assert_eq!(removed, text);
    }

    #[test]
    fn services_only_and_crlf() {
        let text = "services:\r\n  db:\r\n    name: db\r\n    commands:\r\n      start: x\r\n";
        let out = patch(Some(text), CMD).unwrap();
        assert!(out.starts_with(text), "{out}");
        assert!(
            out.ends_with("    command: sh bin/install-o11y doctor\r\n"),
            "{out:?}"
        );
        assert!(!out.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn refuses_what_it_cannot_edit() {
        assert!(patch(Some("tasks: [a, b]\n"), CMD).is_err());
        assert!(patch(Some("tasks: {a: {name: x}}\n"), CMD).is_err());
        assert!(patch(Some("tasks: 3\n"), CMD).is_err());
        assert!(patch(Some("- a\n- b\n"), CMD).is_err());
        assert_eq!(
            patch(Some("tasks:\n"), CMD).unwrap(),
            format!(
                "tasks:\n  o11y:\n{}",
                patch(None, CMD).unwrap().split_once("  o11y:\n").unwrap().1
            )
        );
    }

    #[test]
    fn install_before_run_is_recognised() {
        assert!(runs_without_install(
            "tasks:\n  x:\n    command: o11y doctor\n"
        ));
        assert!(!runs_without_install(&patch(None, CMD).unwrap()));
        assert!(!runs_without_install(
            "tasks:\n  x:\n    command: echo hi\n"
        ));
    }
}
