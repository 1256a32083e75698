//! requirements.txt: adds the packages an integration needs, removes them when it is switched off.
//! Names are compared as PEP 503 normalised names, so `Flask_Cors` and `flask-cors` are one package;
//! every other line (pins, extras, markers, comments, options, blank lines) stays as it is.

use std::str::FromStr;

use pep508_rs::Requirement;

use super::text::{eol_of, insert_lines, lines_with_offsets, remove_lines};
use super::ParseError;

/// PEP 503 normalisation: lower case, runs of `-`, `_`, `.` become one `-`.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The package name a requirement starts with (`sentry-sdk` of `sentry-sdk[flask]>=2`).
pub fn name_part(spec: &str) -> &str {
    let spec = spec.trim();
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(spec.len());
    &spec[..end]
}

/// One requirement line, as far as o11y cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    pub line: usize,
    start: usize,
    end: usize,
}

/// The packages a requirements file names, normalised, with the line each is on.
pub fn listed(text: &str) -> Result<Vec<Listed>, ParseError> {
    let mut out = Vec::new();
    for (n, (start, raw)) in lines_with_offsets(text).enumerate() {
        let line = raw.trim_end_matches(['\n', '\r']);
        let Some(spec) = requirement_part(line) else {
            continue;
        };
        check_name(spec).map_err(|what| ParseError::new(n + 1, what))?;
        let req = Requirement::<pep508_rs::VerbatimUrl>::from_str(spec).map_err(|e| {
            let first = e.to_string();
            let first = first.lines().next().unwrap_or("").to_string();
            ParseError::new(
                n + 1,
                format!(
                    "`{}` is not a requirement pip understands: {first}",
                    spec.trim()
                ),
            )
        })?;
        // A byte order mark stays where it is, before whatever o11y adds or removes.
        let bom = if raw.starts_with('\u{feff}') { 3 } else { 0 };
        out.push(Listed {
            name: normalise(req.name.as_ref()),
            line: n + 1,
            start: start + bom,
            end: start + raw.len(),
        });
    }
    Ok(out)
}

/// The name at the start of a requirement must begin and end with a letter or digit
/// (PEP 508). Checked here because pep508_rs 0.9 panics on names such as `a..` instead of
/// returning an error.
fn check_name(spec: &str) -> Result<(), String> {
    let name: &str = spec
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .next()
        .unwrap_or("");
    let ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if ok(name.chars().next()) && ok(name.chars().last()) {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a requirement pip understands: a package name starts and ends with a letter or digit",
            spec.trim()
        ))
    }
}

/// Whether the file pins `package` to versions below `version` only: no version from
/// `version` on (nor a few later ones) satisfies what it asks for. A package not listed, or
/// listed without a version, is not pinned.
pub fn pinned_below(text: &str, package: &str, version: &str) -> bool {
    use pep508_rs::pep440_rs::Version;
    let want = normalise(package);
    let Ok(floor) = Version::from_str(version) else {
        return false;
    };
    let later: Vec<Version> = ["", ".1", ".3", ".9"]
        .iter()
        .filter_map(|s| Version::from_str(&format!("{version}{s}")).ok())
        .chain(
            ["3.0", "3.1.3", "4.0", "99.0"]
                .iter()
                .filter_map(|v| Version::from_str(v).ok()),
        )
        .filter(|v| *v >= floor)
        .collect();
    text.lines().any(|line| {
        let Some(spec) = requirement_part(line) else {
            return false;
        };
        if check_name(spec).is_err() {
            return false;
        }
        let Ok(req) = Requirement::<pep508_rs::VerbatimUrl>::from_str(spec) else {
            return false;
        };
        if normalise(req.name.as_ref()) != want {
            return false;
        }
        match req.version_or_url {
            Some(pep508_rs::VersionOrUrl::VersionSpecifier(specs)) if !specs.is_empty() => {
                !later.iter().any(|v| specs.contains(v))
            }
            _ => false,
        }
    })
}

/// The part of a line that is a PEP 508 requirement, or None for comments, blank lines,
/// pip options (`-r`, `--index-url`, `-e`) and direct paths or URLs, which o11y leaves alone.
fn requirement_part(line: &str) -> Option<&str> {
    // pip reads a file that starts with a UTF-8 byte order mark (pip's `auto_decode`).
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    let no_comment = match line.find(" #").or_else(|| line.find("\t#")) {
        Some(i) => &line[..i],
        None if line.trim_start().starts_with('#') => "",
        None => line,
    };
    // pip's per-requirement options (`--hash=...`) follow the requirement after a space.
    let spec = match no_comment.find(" --") {
        Some(i) => &no_comment[..i],
        None => no_comment,
    };
    let spec = spec.trim();
    if spec.is_empty()
        || spec.starts_with('-')
        || spec.starts_with('.')
        || spec.starts_with('/')
        || spec.contains("://")
        || spec.ends_with('\\')
    {
        return None;
    }
    Some(spec)
}

/// `text` with every package of `add` that is missing added and every line naming a package
/// of `remove` taken out. A package goes before the first listed package that follows it in
/// `order`, else at the end, so that adding it later gives the same file as adding it first.
pub fn patch_ordered(
    text: &str,
    add: &[&str],
    remove: &[&str],
    order: &[&str],
) -> Result<String, ParseError> {
    patch_lines(text, add, remove, &[], order)
}

/// [`patch_ordered`], and also the lines that read exactly as one of `remove_exact` (o11y's own
/// line for a package, `aws-xray-sdk>=2.15.0`) taken out, while the student's own line for
/// the same package (`aws-xray-sdk`, `rollbar==0.16.3`) stays.
pub fn patch_lines(
    text: &str,
    add: &[&str],
    remove: &[&str],
    remove_exact: &[&str],
    order: &[&str],
) -> Result<String, ParseError> {
    let mut out = text.to_string();
    // Remove from the bottom so earlier offsets stay valid.
    let remove: Vec<String> = remove.iter().map(|p| normalise(name_part(p))).collect();
    for l in listed(text)?.iter().rev() {
        let exact = remove_exact
            .iter()
            .any(|p| text[l.start..l.end].trim() == p.trim());
        if remove.contains(&l.name) || exact {
            out = remove_lines(&out, l.start, l.end.min(out.len()));
        }
    }
    let eol = eol_of(text);
    let rank = |n: &str| order.iter().position(|o| normalise(name_part(o)) == n);
    for pkg in add {
        let n = normalise(name_part(pkg));
        let present = listed(&out)?;
        if present.iter().any(|l| l.name == n) || remove.contains(&n) {
            continue;
        }
        let mine = rank(&n);
        let before = present.iter().find(|l| match (rank(&l.name), mine) {
            (Some(r), Some(m)) => r > m,
            _ => false,
        });
        let at = before.map_or(out.len(), |l| l.start);
        out = insert_lines(&out, at, &format!("{pkg}{eol}"), eol);
    }
    Ok(out)
}

/// [`patch_ordered`] with the order of `add`.
pub fn patch(text: &str, add: &[&str], remove: &[&str]) -> Result<String, ParseError> {
    patch_ordered(text, add, remove, add)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flask_pins_below_two_three() {
        for (text, below) in [
            ("Flask==2.2.5\n", true),
            ("flask<2.3\n", true),
            ("flask>=2.0,<2.3  # old\n", true),
            ("flask~=2.2.0\n", true),
            ("flask\n", false),
            ("flask==3.1.3\n", false),
            ("flask>=2.2\n", false),
            ("flask~=2.2\n", false),
            ("flask-cors==3.0.10\n", false),
            ("# Flask==2.2.5\n", false),
        ] {
            assert_eq!(pinned_below(text, "flask", "2.3"), below, "{text}");
        }
    }

    #[test]
    fn names_are_normalised() {
        assert_eq!(normalise("Flask_Cors"), "flask-cors");
        assert_eq!(normalise("zope.interface"), "zope-interface");
        assert_eq!(normalise("a__b"), "a-b");
    }

    #[test]
    fn keeps_pins_and_adds_missing() {
        let t = "Flask==2.2.3\nflask_cors  # cors\n-r base.txt\n\naws-xray-sdk>=2\n";
        let out = patch(t, &["flask-cors", "aws-xray-sdk", "watchtower"], &[]).unwrap();
        assert_eq!(out, format!("{t}watchtower\n"));
    }

    #[test]
    fn no_final_newline_and_crlf_kept() {
        assert_eq!(patch("flask", &["rollbar"], &[]).unwrap(), "flask\nrollbar");
        assert_eq!(
            patch("flask\r\n", &["rollbar"], &[]).unwrap(),
            "flask\r\nrollbar\r\n"
        );
    }

    #[test]
    fn removes_only_named_packages() {
        let t = "flask\nrollbar==1.0 ; python_version > '3'\nblinker\n";
        assert_eq!(patch(t, &[], &["rollbar", "Blinker"]).unwrap(), "flask\n");
        assert_eq!(patch("flask\nrollbar", &[], &["rollbar"]).unwrap(), "flask");
    }

    #[test]
    fn a_byte_order_mark_is_read_as_pip_reads_it_and_kept() {
        let t = "\u{feff}flask\nrollbar\n";
        assert_eq!(listed(t).unwrap()[0].name, "flask");
        assert_eq!(
            patch(t, &["blinker"], &[]).unwrap(),
            "\u{feff}flask\nrollbar\nblinker\n"
        );
        assert_eq!(
            patch("\u{feff}rollbar\nflask\n", &[], &["rollbar"]).unwrap(),
            "\u{feff}flask\n"
        );
        assert!(pinned_below("\u{feff}Flask==2.2.5\n", "flask", "2.3"));
    }

    #[test]
    fn versions_and_extras_are_written_and_compared_by_name() {
        let t = "flask\nsentry-sdk[flask]\n";
        let out = patch(t, &["sentry-sdk[flask]>=2", "rollbar>=1.5.0"], &[]).unwrap();
        assert_eq!(out, "flask\nsentry-sdk[flask]\nrollbar>=1.5.0\n");
        assert_eq!(
            patch(&out, &["sentry-sdk[flask]>=2", "rollbar>=1.5.0"], &[]).unwrap(),
            out
        );
        assert_eq!(
            patch(&out, &[], &["sentry-sdk[flask]>=2", "rollbar>=1.5.0"]).unwrap(),
            "flask\n"
        );
        assert_eq!(name_part(" opentelemetry-api==1.45.1"), "opentelemetry-api");
    }

    #[test]
    fn bad_line_is_named() {
        let e = patch("flask\nnot a ==== req\n", &["x"], &[]).unwrap_err();
        assert_eq!(e.line, 2);
    }
}
