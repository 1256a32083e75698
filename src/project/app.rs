//! Which module is the Flask app: found as Flask and the servers find it, followed to the
//! module that creates it, and whether a service runs one at all.

use std::fs;
use std::path::{Path, PathBuf};

use crate::patch::compose;
use crate::project::read::MAX_FILE;

/// The Flask app's module, relative to the backend folder, found as Flask and the servers
/// find it: the service's (or the Dockerfile's) `FLASK_APP`, the module a `gunicorn
/// module:app`, `flask --app X` or `python X.py` command names, Flask's own defaults
/// (`app.py`, `wsgi.py`), and last the one module that calls `Flask(__name__)`.
pub fn find_app(root: &Path, backend_dir: &str, svc: &compose::Service) -> Option<String> {
    let dir = root.join(backend_dir);
    let dockerfile_name = svc.dockerfile.as_deref().unwrap_or("Dockerfile");
    let dockerfile = read_utf8(&dir.join(dockerfile_name)).unwrap_or_default();
    let exists = |rel: &str| existing(&dir, rel);
    let from_spec = |spec: &str| module_file(&dir, spec);
    let flask_app = svc
        .env
        .iter()
        .find(|(n, _)| n == "FLASK_APP")
        .map(|(_, v)| v.clone())
        .filter(|v| !v.contains('$'))
        .or_else(|| dockerfile_env(&dockerfile, "FLASK_APP"));
    if let Some(found) = flask_app.as_deref().and_then(from_spec) {
        return Some(follow_app(&dir, found));
    }
    let command = svc
        .command
        .clone()
        .or_else(|| dockerfile_command(&dockerfile));
    if let Some(found) = command
        .as_deref()
        .and_then(|c| app_in_command(c, &from_spec))
    {
        return Some(follow_app(&dir, found));
    }
    if let Some(found) = exists("app.py").or_else(|| exists("wsgi.py")) {
        return Some(follow_app(&dir, found));
    }
    let mut creating = Vec::new();
    python_files(&dir, "", 0, &mut creating);
    creating.retain(|rel| {
        read_utf8(&dir.join(rel)).is_some_and(|t| crate::patch::python::creates_flask_app(&t))
    });
    match creating.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// `rel` below `dir`, when it is a file there (no `..`).
fn existing(dir: &Path, rel: &str) -> Option<String> {
    let rel = rel.trim_start_matches("./");
    (!rel.contains("..") && dir.join(rel).is_file()).then(|| rel.to_string())
}

/// The file of a module a server or `FLASK_APP` names (`app`, `project.wsgi:app`, `app.py`).
fn module_file(dir: &Path, spec: &str) -> Option<String> {
    let module = spec
        .split(':')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches(['"', '\'']);
    if module.ends_with(".py") {
        return existing(dir, module);
    }
    if module.is_empty()
        || !module
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return None;
    }
    let path = module.replace('.', "/");
    existing(dir, &format!("{path}.py")).or_else(|| existing(dir, &format!("{path}/__init__.py")))
}

/// A file's text, when it is a regular UTF-8 file of at most [`MAX_FILE`] bytes.
fn read_utf8(path: &Path) -> Option<String> {
    crate::patch::apply::read_regular(path, MAX_FILE)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

/// Whether `svc`'s command (its own, else its Dockerfile's) runs a Flask app: `flask run`, or a
/// server or `python` running a module that calls `Flask(...)`; None when it says nothing.
pub(super) fn runs_flask(root: &Path, backend_dir: &str, svc: &compose::Service) -> Option<bool> {
    let dir = root.join(backend_dir);
    let dockerfile =
        read_utf8(&dir.join(svc.dockerfile.as_deref().unwrap_or("Dockerfile"))).unwrap_or_default();
    let command = svc
        .command
        .clone()
        .or_else(|| dockerfile_command(&dockerfile))?;
    let words: Vec<&str> = command.split_whitespace().collect();
    if words
        .windows(2)
        .any(|w| w[0].ends_with("flask") && w[1] == "run")
    {
        return Some(true);
    }
    let from_spec = |spec: &str| module_file(&dir, spec);
    let module = app_in_command(&command, &from_spec)?;
    let text = read_utf8(&dir.join(follow_app(&dir, module)))?;
    Some(crate::patch::python::creates_flask_app(&text))
}

/// The module that creates the app `rel` serves: `rel` itself when it calls `Flask(...)`,
/// else the backend module it imports the app (or its factory) from, followed up to three
/// steps (`manage.py`: `from project import app` → `project/__init__.py`).
fn follow_app(dir: &Path, rel: String) -> String {
    let read = |rel: &str| read_utf8(&dir.join(rel));
    let mut at = rel.clone();
    for _ in 0..3 {
        let Some(text) = read(&at) else {
            return rel;
        };
        if crate::patch::python::creates_flask_app(&text) {
            return at;
        }
        let package = Path::new(&at)
            .parent()
            .map(|p| p.to_string_lossy().to_string())
            .unwrap_or_default();
        let next = crate::patch::python::imports(&text)
            .into_iter()
            .find_map(|i| {
                if !i.names.iter().any(|n| n == "app" || n == "create_app") {
                    return None;
                }
                // Relative imports start from the module's package, one folder up for each
                // further dot; absolute ones from the backend folder.
                let mut base = PathBuf::from(if i.dots == 0 { "" } else { package.as_str() });
                for _ in 1..i.dots.max(1) {
                    base.pop();
                }
                let path = base.join(i.module.replace('.', "/"));
                let path = path.to_string_lossy().trim_start_matches('/').to_string();
                [format!("{path}.py"), format!("{path}/__init__.py")]
                    .into_iter()
                    .find(|c| !c.contains("..") && dir.join(c).is_file())
            });
        match next {
            Some(n) => at = n,
            None => return rel,
        }
    }
    if read(&at).is_some_and(|t| crate::patch::python::creates_flask_app(&t)) {
        at
    } else {
        rel
    }
}

/// `.py` files below `dir`, three levels at most, skipping virtualenvs, tests and hidden folders.
fn python_files(base: &Path, rel: &str, depth: usize, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(base.join(rel)) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().to_string();
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            let skip = name.starts_with('.')
                || matches!(
                    name.as_str(),
                    "venv"
                        | "env"
                        | "node_modules"
                        | "__pycache__"
                        | "tests"
                        | "test"
                        | "site-packages"
                );
            if depth < 3 && !skip {
                python_files(base, &path, depth + 1, out);
            }
        } else if kind.is_file() && name.ends_with(".py") && out.len() < 500 {
            out.push(path);
        }
    }
}

/// `ENV NAME=value` or `ENV NAME value` in a Dockerfile (the last one wins).
fn dockerfile_env(dockerfile: &str, name: &str) -> Option<String> {
    let mut found = None;
    for line in dockerfile.lines() {
        let t = line.trim();
        let Some(rest) = t.strip_prefix("ENV ").or_else(|| t.strip_prefix("env ")) else {
            continue;
        };
        for item in rest.split_whitespace() {
            if let Some(v) = item.strip_prefix(&format!("{name}=")) {
                found = Some(v.trim_matches(['"', '\'']).to_string());
            }
        }
        if let Some(v) = rest.trim().strip_prefix(&format!("{name} ")) {
            found = Some(v.trim().trim_matches(['"', '\'']).to_string());
        }
    }
    found
}

/// The Dockerfile's ENTRYPOINT and CMD, as one line of words.
fn dockerfile_command(dockerfile: &str) -> Option<String> {
    let words = |rest: &str| -> String {
        let rest = rest.trim();
        match serde_json::from_str::<Vec<String>>(rest) {
            Ok(list) => list.join(" "),
            Err(_) => rest.to_string(),
        }
    };
    let (mut entry, mut cmd) = (None, None);
    for line in dockerfile.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("CMD ") {
            cmd = Some(words(rest));
        } else if let Some(rest) = t.strip_prefix("ENTRYPOINT ") {
            entry = Some(words(rest));
        }
    }
    match (entry, cmd) {
        (Some(e), Some(c)) => Some(format!("{e} {c}")),
        (e, c) => e.or(c),
    }
}

/// The app module a command line names.
fn app_in_command(command: &str, from_spec: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        let w = w.trim_matches(['"', '\'']);
        if let Some(v) = w.strip_prefix("--app=") {
            return from_spec(v);
        }
        if w == "--app" || w == "-A" {
            return words.get(i + 1).and_then(|v| from_spec(v));
        }
        // `gunicorn module:app` (uvicorn, hypercorn and waitress-serve alike).
        if let Some((module, attr)) = w.split_once(':') {
            let ident = |s: &str| {
                s.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            };
            if ident(module) && ident(attr) && !w.contains('/') {
                if let Some(found) = from_spec(w) {
                    return Some(found);
                }
            }
        }
        if w.ends_with(".py") && i > 0 && words[..i].iter().any(|p| p.contains("python")) {
            return from_spec(w);
        }
    }
    None
}
