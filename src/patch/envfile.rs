//! Files of variables (`.env`, compose `env_file:`s and their templates), read: one
//! `KEY=value` a line, as docker compose reads them.

/// KEY=value lines of a .env file (quotes and `export ` taken off).
pub fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                return None;
            }
            let l = l.strip_prefix("export ").unwrap_or(l);
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            if let Some(inner) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                let mut out = String::new();
                let mut chars = inner.chars();
                while let Some(c) = chars.next() {
                    match (c, chars.clone().next()) {
                        ('\\', Some(n @ ('\\' | '"' | '$'))) => {
                            out.push(n);
                            chars.next();
                        }
                        (c, _) => out.push(c),
                    }
                }
                return Some((k.trim().to_string(), out));
            }
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}
