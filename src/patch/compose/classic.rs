//! Backend URLs built from Gitpod Classic's variables, which the current Gitpod does not set,
//! made overridable by a variable of the same name.

/// A backend URL the Cruddur compose file builds from Gitpod Classic's variables
/// (`https://4567-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}`), which the current
/// Gitpod does not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassicUrl {
    /// The variable the service gets (`BACKEND_URL`).
    pub var: String,
    pub port: u16,
    /// Already `${BACKEND_URL:-https://4567-...}`: a value in `.env` takes its place.
    pub overridable: bool,
    /// Where the value is in the text, quotes included.
    start: usize,
    end: usize,
}

fn classic_url_pattern() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r#"(?m)^([ \t]*(?:-[ \t]*)?)([A-Za-z_][A-Za-z0-9_]*)([ \t]*[:=][ \t]*)(["']?)(\$\{([A-Za-z_][A-Za-z0-9_]*):-)?(https?://([0-9]+)-\$\{GITPOD_WORKSPACE_ID\}\.\$\{GITPOD_WORKSPACE_CLUSTER_HOST\}[^"'\s}]*)(\})?(["']?)[ \t]*\r?$"#,
        )
        .expect("a valid pattern")
    })
}

/// The URLs of the file built from Gitpod Classic's variables, in file order.
pub fn classic_urls(text: &str) -> Vec<ClassicUrl> {
    classic_url_pattern()
        .captures_iter(text)
        .filter_map(|c| {
            let var = c.get(2)?.as_str().to_string();
            let wrapped = c.get(6).is_some_and(|w| w.as_str() == var) && c.get(9).is_some();
            Some(ClassicUrl {
                port: c.get(8)?.as_str().parse().ok()?,
                overridable: wrapped,
                start: c.get(4)?.start(),
                end: c.get(10)?.end(),
                var,
            })
        })
        .collect()
}

/// `text` with each Classic URL a default that a variable of the same name overrides:
/// `"${BACKEND_URL:-https://4567-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}}"`.
/// Gitpod Classic keeps its value; elsewhere `.env` gives the real one. (Nested defaults are
/// docker compose v2's interpolation: <https://docs.docker.com/compose/how-tos/environment-variables/variable-interpolation/>.)
pub fn overridable_urls(text: &str) -> String {
    let mut out = text.to_string();
    for u in classic_urls(text).into_iter().rev() {
        if u.overridable {
            continue;
        }
        let value = text[u.start..u.end].trim_matches(['"', '\'']);
        out.replace_range(u.start..u.end, &format!("\"${{{}:-{value}}}\"", u.var));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::compose::services;

    #[test]
    fn classic_urls_become_overridable_defaults_once() {
        let text = "services:\n  backend-flask:\n    environment:\n      FRONTEND_URL: \"https://3000-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}\"\n      BACKEND_URL: \"https://4567-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}\"\n      OTHER: x\n  frontend-react-js:\n    environment:\n      - REACT_APP_BACKEND_URL=https://4567-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}\n";
        let found = classic_urls(text);
        assert_eq!(
            found
                .iter()
                .map(|u| (u.var.as_str(), u.port))
                .collect::<Vec<_>>(),
            [
                ("FRONTEND_URL", 3000),
                ("BACKEND_URL", 4567),
                ("REACT_APP_BACKEND_URL", 4567)
            ]
        );
        assert!(found.iter().all(|u| !u.overridable));
        let out = overridable_urls(text);
        assert!(out.contains("      FRONTEND_URL: \"${FRONTEND_URL:-https://3000-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}}\"\n"), "{out}");
        assert!(out.contains("      - REACT_APP_BACKEND_URL=\"${REACT_APP_BACKEND_URL:-https://4567-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}}\"\n"), "{out}");
        assert!(classic_urls(&out).iter().all(|u| u.overridable));
        assert_eq!(overridable_urls(&out), out);
        services(&out).unwrap();
        // Everything else stays.
        assert_eq!(out.matches('\n').count(), text.matches('\n').count());
        assert!(out.contains("      OTHER: x\n"));
    }
}
