//! Which compose file a folder has: as docker compose itself would take it, else the one the
//! workspace starts.

use std::fs;
use std::path::Path;

use crate::project::error::ProjectError;
use crate::project::read::read_text;

/// Compose file names, in the order docker compose itself prefers them.
pub const COMPOSE_NAMES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// The compose file of `dir`, as docker compose would take it there: COMPOSE_FILE (of this
/// shell, else of the folder's `.env`), then the standard names; else the file the
/// workspace starts (`docker compose -f docker-compose-gitpod.yml up` in .gitpod.yml or
/// an automations file, `dockerComposeFile` of the dev container). With where it came from.
pub(super) fn find_compose(dir: &Path) -> Result<Option<(String, String)>, ProjectError> {
    let from_env = std::env::var(crate::env::COMPOSE_FILE)
        .ok()
        .map(|v| (v, "COMPOSE_FILE".to_string()))
        .or_else(|| {
            let text = read_text(dir, ".env").ok().flatten()?;
            crate::patch::envfile::parse(&text)
                .into_iter()
                .find(|(k, _)| k == crate::env::COMPOSE_FILE)
                .map(|(_, v)| (v, "COMPOSE_FILE in .env".to_string()))
        });
    if let Some((list, from)) = from_env.filter(|(v, _)| !v.trim().is_empty()) {
        let sep = std::env::var(crate::env::COMPOSE_PATH_SEPARATOR)
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| ":".into());
        let first = list.split(sep.as_str()).next().unwrap_or("").trim();
        let rel = first.trim_start_matches("./").to_string();
        if rel.contains("..") || Path::new(&rel).is_absolute() {
            return Ok(None);
        }
        // Not in this folder: a parent folder may hold it.
        return Ok(dir.join(&rel).is_file().then_some((rel, from)));
    }
    if let Some(n) = COMPOSE_NAMES.iter().find(|n| dir.join(n).is_file()) {
        return Ok(Some((n.to_string(), String::new())));
    }
    Ok(started_compose(dir))
}

/// The compose file a workspace start file names: `-f FILE` / `--file FILE` of a `docker
/// compose` (or `docker-compose`) line, or the dev container's `dockerComposeFile`.
fn started_compose(dir: &Path) -> Option<(String, String)> {
    static FLAG: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let flag = FLAG.get_or_init(|| {
        regex::Regex::new(r#"docker[ -]compose\b[^\n]*?(?:-f|--file)(?:\s+|=)["']?([^\s"';&|]+)"#)
            .expect("a valid pattern")
    });
    for start in [
        ".gitpod.yml",
        ".gitpod/automations.yaml",
        ".ona/automations.yaml",
        ".devcontainer/devcontainer.json",
    ] {
        let Ok(Some(text)) = read_text(dir, start) else {
            continue;
        };
        let mut named: Vec<String> = flag
            .captures_iter(&text)
            .map(|c| c[1].to_string())
            .collect();
        if start.ends_with(".json") {
            // Relative to the .devcontainer folder.
            let files: Vec<String> =
                match jsonc_parser::parse_to_value(text.as_str(), &Default::default()) {
                    Ok(Some(jsonc_parser::JsonValue::Object(o))) => {
                        match o.get("dockerComposeFile") {
                            Some(jsonc_parser::JsonValue::String(s)) => vec![s.to_string()],
                            Some(jsonc_parser::JsonValue::Array(a)) => a
                                .iter()
                                .filter_map(|x| match x {
                                    jsonc_parser::JsonValue::String(s) => Some(s.to_string()),
                                    _ => None,
                                })
                                .collect(),
                            _ => Vec::new(),
                        }
                    }
                    _ => Vec::new(),
                };
            named.extend(files.into_iter().map(|f| {
                let f = f.trim_start_matches("./").to_string();
                match f.strip_prefix("../") {
                    Some(up) => up.to_string(),
                    None => format!(".devcontainer/{f}"),
                }
            }));
        }
        for n in named {
            let rel = n.trim_start_matches("./").to_string();
            if !rel.contains("..") && !Path::new(&rel).is_absolute() && dir.join(&rel).is_file() {
                return Some((rel, format!("the one {start} starts")));
            }
        }
    }
    None
}

/// Files of `dir` that look like compose files by their name.
pub(super) fn compose_candidates(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("compose") && (n.ends_with(".yml") || n.ends_with(".yaml")))
        .collect();
    out.sort();
    out
}
