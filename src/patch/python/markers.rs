//! o11y's blocks in a Python file: the marker comments around them, and the student's own code
//! outside them.

use crate::patch::text::lines_with_offsets;
use crate::patch::ParseError;
use crate::spec::Integration;

pub(super) const BEGIN: &str = "# >>> o11y:";
pub(super) const END: &str = "# <<< o11y:";

/// A block that o11y wrote earlier, found by its markers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub integration: Integration,
    pub part: String,
    /// Line start of the begin marker.
    pub start: usize,
    /// Line start after the end marker (or the end of the text).
    pub end: usize,
}

/// The o11y blocks of a file.
pub fn blocks(text: &str, known: &[Integration]) -> Result<Vec<Found>, ParseError> {
    let mut out = Vec::new();
    let mut open: Option<(Integration, String, usize, usize)> = None;
    for (n, (at, line)) in lines_with_offsets(text).enumerate() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix(BEGIN) {
            if let Some((_, _, _, l)) = open {
                return Err(ParseError::new(
                    l,
                    "an o11y block starts here but never ends; restore its `# <<< o11y:` line or delete the block",
                ));
            }
            let (i, part) = split_marker(rest, n + 1, known)?;
            open = Some((i, part, at, n + 1));
        } else if let Some(rest) = t.strip_prefix(END) {
            let (i, part) = split_marker(rest, n + 1, known)?;
            match open.take() {
                Some((oi, op, start, _)) if oi == i && op == part => out.push(Found {
                    integration: i,
                    part,
                    start,
                    end: at + line.len(),
                }),
                _ => {
                    return Err(ParseError::new(
                        n + 1,
                        "this o11y end marker has no matching start; delete the line or restore the block",
                    ))
                }
            }
        }
    }
    if let Some((_, _, _, l)) = open {
        return Err(ParseError::new(
            l,
            "an o11y block starts here but never ends; restore its `# <<< o11y:` line or delete the block",
        ));
    }
    Ok(out)
}

pub(super) fn split_marker(
    rest: &str,
    line: usize,
    known: &[Integration],
) -> Result<(Integration, String), ParseError> {
    let mut it = rest.splitn(2, ':');
    let name = it.next().unwrap_or("");
    let part = it.next().unwrap_or("").trim().to_string();
    let i = known
        .iter()
        .copied()
        .find(|i| i.name() == name.trim())
        .ok_or_else(|| ParseError::new(line, format!("unknown o11y marker `{name}`")))?;
    Ok((i, part))
}

/// The file's code outside o11y blocks, without comments: what a student wrote.
pub(super) fn hand_written(text: &str, found: &[Found]) -> String {
    let mut s = String::new();
    for (at, line) in lines_with_offsets(text) {
        if found.iter().any(|b| at >= b.start && at < b.end) {
            continue;
        }
        let code = line.trim_start();
        if code.starts_with('#') {
            continue;
        }
        s.push_str(code.split(" #").next().unwrap_or(code));
    }
    s
}

pub(super) fn wrap(
    integration: Integration,
    part: &str,
    body: &str,
    base: &str,
    eol: &str,
) -> String {
    format!("{base}{BEGIN}{integration}:{part}{eol}{body}{base}{END}{integration}:{part}{eol}")
}
