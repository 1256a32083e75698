//! The layers, read from the source: which module (file) uses which, with no circle, and the
//! low layers free of what sits above them. See docs/ARCHITECTURE.md.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Module path (`integrations::honeycomb`) → its file's text.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().to_string();
            let path = e.path();
            if path.is_dir() {
                let p = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}::{name}")
                };
                walk(&path, &p, out);
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let module = match (prefix.is_empty(), stem) {
                    (true, "lib") => "crate".to_string(),
                    (true, "main") => continue,
                    (true, s) => s.to_string(),
                    (false, "mod") => prefix.to_string(),
                    (false, s) => format!("{prefix}::{s}"),
                };
                out.insert(module, fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        "",
        &mut out,
    );
    out
}

/// The code of a file without comments and without its `#[cfg(test)]` module.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b` and `super::a` path a file names (in `use` lists too), as the longest
/// module it reaches.
fn uses(module: &str, text: &str, all: &BTreeMap<String, String>) -> BTreeSet<String> {
    let code = code(text);
    let mut paths: Vec<String> = Vec::new();
    // Expand `use crate::{a, b::{c, d}}` into full paths, roughly: every identifier path that
    // follows `crate::` or `super::`, with braces opened one level.
    for start in ["crate::", "super::"] {
        let mut rest = code.as_str();
        while let Some(i) = rest.find(start) {
            let before = rest[..i].chars().last();
            rest = &rest[i..];
            let tail: String = rest
                .chars()
                .take_while(|c| {
                    c.is_alphanumeric()
                        || matches!(c, '_' | ':' | '{' | '}' | ',' | ' ' | '\n' | '*')
                })
                .collect();
            rest = &rest[start.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let base = if start == "super::" {
                let is_dir = all.keys().any(|k| k.starts_with(&format!("{module}::")));
                let parent = if is_dir {
                    module
                        .rsplit_once("::")
                        .map(|(p, _)| p.to_string())
                        .unwrap_or_default()
                } else {
                    module
                        .rsplit_once("::")
                        .map(|(p, _)| p.to_string())
                        .unwrap_or_default()
                };
                // `super` of `a::b` (a file) is `a`; of `a` (a mod.rs) it is the crate.
                if module.contains("::") {
                    parent
                } else {
                    String::new()
                }
            } else {
                String::new()
            };
            let tail = &tail[start.len()..];
            let head: String = tail
                .chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | ':'))
                .collect();
            let head = head.trim_end_matches(':').to_string();
            let join = |a: &str, b: &str| match (a.is_empty(), b.is_empty()) {
                (true, _) => b.to_string(),
                (_, true) => a.to_string(),
                _ => format!("{a}::{b}"),
            };
            let prefix = join(&base, &head);
            paths.push(prefix.clone());
            if let Some(open) = tail.find('{') {
                let inner = &tail[open + 1..];
                let inner = &inner[..inner.find('}').unwrap_or(inner.len())];
                for item in inner.split(',') {
                    let item = item.trim().split("::").collect::<Vec<_>>().join("::");
                    let item: String = item
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | ':'))
                        .collect();
                    if !item.is_empty() {
                        paths.push(join(&prefix, item.trim_end_matches(':')));
                    }
                }
            }
        }
    }
    // A parent names its children bare (`init::run`, `self::honeycomb::SPEC`).
    for child in all.keys().filter_map(|k| {
        let rest = if module == "crate" {
            Some(k.as_str())
        } else {
            k.strip_prefix(&format!("{module}::"))
        }?;
        (!rest.contains("::")).then(|| rest.to_string())
    }) {
        let needle = format!("{child}::");
        let named = code.match_indices(&needle).any(|(i, _)| {
            let before = code[..i].chars().last();
            let word = before.is_some_and(|c| c.is_alphanumeric() || c == '_');
            let pathed = code[..i].ends_with("::") && !code[..i].ends_with("self::");
            !word && !pathed
        });
        if named {
            paths.push(if module == "crate" {
                child.clone()
            } else {
                format!("{module}::{child}")
            });
        }
    }
    let mut out = BTreeSet::new();
    for p in paths {
        // The longest module that the path starts with.
        let mut parts: Vec<&str> = p.split("::").filter(|s| !s.is_empty()).collect();
        while !parts.is_empty() {
            let m = parts.join("::");
            if all.contains_key(&m) {
                if m != module {
                    out.insert(m);
                }
                break;
            }
            parts.pop();
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let all = modules();
    all.iter()
        .filter(|(m, _)| m.as_str() != "crate")
        .map(|(m, t)| (m.clone(), uses(m, t, &all)))
        .collect()
}

/// Every circle of the graph, each as the modules on it.
fn circles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Tarjan's strongly connected components; a component of two or more is a circle.
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on: BTreeSet<String>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit(t: &mut T, v: &str) {
        t.index.insert(v.to_string(), t.next);
        t.low.insert(v.to_string(), t.next);
        t.next += 1;
        t.stack.push(v.to_string());
        t.on.insert(v.to_string());
        for w in t.g.get(v).cloned().unwrap_or_default() {
            if !t.index.contains_key(&w) {
                visit(t, &w);
                let lw = t.low[&w];
                let lv = t.low[v];
                t.low.insert(v.to_string(), lv.min(lw));
            } else if t.on.contains(&w) {
                let iw = t.index[&w];
                let lv = t.low[v];
                t.low.insert(v.to_string(), lv.min(iw));
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(&w);
                comp.push(w.clone());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn the_graph_is_read() {
    let g = graph();
    // The reader must see the edges it is there to see, or "no circle" proves nothing.
    assert!(g.len() >= 40, "{} modules", g.len());
    assert!(
        g["commands::init"].contains("integrations"),
        "{:?}",
        g["commands::init"]
    );
    assert!(
        g["patch::plan"].contains("patch::python"),
        "{:?}",
        g["patch::plan"]
    );
    let edges: usize = g.values().map(|s| s.len()).sum();
    eprintln!("{} modules, {edges} edges", g.len());
    assert!(edges >= 150, "only {edges} edges read");
    let two = BTreeMap::from([
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["a".to_string()])),
    ]);
    assert_eq!(circles(&two).len(), 1);
}

#[test]
fn modules_use_each_other_in_one_direction() {
    let g = graph();
    let found = circles(&g);
    assert!(
        found.is_empty(),
        "modules that use each other in a circle:\n{}",
        found
            .iter()
            .map(|c| format!("  {}", c.join(" <-> ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The modules a layer may use (a module's own submodules aside), by the first segment.
fn uses_only(g: &BTreeMap<String, BTreeSet<String>>, layer: &str, allowed: &[&str]) {
    for (m, deps) in g
        .iter()
        .filter(|(m, _)| *m == layer || m.starts_with(&format!("{layer}::")))
    {
        for d in deps {
            let top = d.split("::").next().unwrap();
            assert!(
                top == layer || allowed.contains(&top),
                "{m} uses {d}, but {layer} may use only {allowed:?}"
            );
        }
    }
}

#[test]
fn layers_point_down() {
    let g = graph();
    // Leaves: data and words, nothing of the crate.
    for leaf in ["spec", "exit", "env"] {
        assert!(
            g[leaf].is_empty(),
            "{leaf} is a leaf but uses {:?}",
            g[leaf]
        );
    }
    uses_only(&g, "report", &["spec", "exit"]);
    // patch/ is pure text in, text out.
    uses_only(&g, "patch", &["spec", "exit"]);
    let all = modules();
    for (m, text) in all.iter().filter(|(m, _)| m.starts_with("patch")) {
        for word in ["reqwest", "aws_config", "aws_sdk", "tokio"] {
            assert!(
                !code(text).contains(word),
                "{m} uses {word}: patch/ must build without it"
            );
        }
    }
    uses_only(&g, "net", &["spec", "exit", "env"]);
    uses_only(&g, "project", &["spec", "exit", "env", "patch"]);
    uses_only(
        &g,
        "context",
        &[
            "spec", "report", "exit", "env", "net", "patch", "project", "secrets",
        ],
    );
    // The runner runs the checks it is given; the commands gather them from the registry.
    uses_only(
        &g,
        "doctor",
        &[
            "spec", "report", "exit", "env", "context", "net", "patch", "project", "secrets",
            "listen",
        ],
    );
    uses_only(&g, "secrets", &["spec", "exit", "env", "patch"]);
    uses_only(&g, "listen", &["spec", "exit", "env"]);
    // ui shows data; it does not run anything.
    uses_only(
        &g,
        "ui",
        &[
            "spec", "report", "patch", "listen", "error", "cli", "env", "exit",
        ],
    );
    uses_only(
        &g,
        "integrations",
        &[
            "spec", "report", "exit", "env", "context", "net", "patch", "project", "secrets",
            "listen",
        ],
    );
}

/// The most lines one source file may have: a reader holds a file whole, or splits it along
/// what it does (docs/ARCHITECTURE.md, "Files").
const MAX_LINES: usize = 700;

#[test]
fn every_source_file_fits_in_a_reader_s_head() {
    fn walk(dir: &Path, out: &mut Vec<(std::path::PathBuf, usize)>) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let lines = fs::read_to_string(&path).unwrap().lines().count();
                out.push((path, lines));
            }
        }
    }
    let mut files = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    walk(&root.join("src"), &mut files);
    assert!(files.len() >= 40, "only {} files read", files.len());
    let long: Vec<String> = files
        .iter()
        .filter(|(_, n)| *n > MAX_LINES)
        .map(|(p, n)| {
            format!(
                "  {}: {n} lines",
                p.strip_prefix(root).unwrap_or(p).display()
            )
        })
        .collect();
    assert!(
        long.is_empty(),
        "source files over {MAX_LINES} lines; split them along what they do:\n{}",
        long.join("\n")
    );
}
