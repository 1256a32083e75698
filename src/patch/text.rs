//! Line-level helpers shared by the editors: line endings, offsets, indentation.

/// The line ending a file uses: CRLF when its first line break is one, else LF.
pub fn eol_of(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// Offset of the start of the line holding `offset`.
pub fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// Offset just past the line break of the line holding `offset` (or the end of the text).
pub fn next_line_start(text: &str, offset: usize) -> usize {
    text[offset..]
        .find('\n')
        .map_or(text.len(), |i| offset + i + 1)
}

/// 1-based line number of `offset`.
pub fn line_number(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The leading spaces and tabs of the line holding `offset`.
pub fn indent_at(text: &str, offset: usize) -> &str {
    let start = line_start(text, offset);
    let line = &text[start..];
    let n = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..n]
}

/// Inserts `lines` (each already ending in `eol`) at `at`, which is a line start or the end of
/// the text. When the text does not end with a line break, the inserted lines go after one and
/// the text keeps having no final line break.
pub fn insert_lines(text: &str, at: usize, lines: &str, eol: &str) -> String {
    let mut out = String::with_capacity(text.len() + lines.len() + 2);
    if at == text.len() && !text.is_empty() && !text.ends_with('\n') {
        out.push_str(text);
        out.push_str(eol);
        out.push_str(lines.strip_suffix(eol).unwrap_or(lines));
    } else {
        out.push_str(&text[..at]);
        out.push_str(lines);
        out.push_str(&text[at..]);
    }
    out
}

/// Removes the whole lines in `start..end` (`start` a line start, `end` a line start or the end).
/// If that leaves the text ending in a line break it did not have, the break goes too.
pub fn remove_lines(text: &str, start: usize, end: usize) -> String {
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start]);
    out.push_str(&text[end..]);
    if end == text.len() && !text.ends_with('\n') && start > 0 {
        // The removed lines were the last ones and carried no final break: drop the one before.
        if out.ends_with("\r\n") {
            out.truncate(out.len() - 2);
        } else if out.ends_with('\n') {
            out.truncate(out.len() - 1);
        }
    }
    out
}

/// Every line of `text`, with its line break, as (start offset, line).
pub fn lines_with_offsets(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut pos = 0;
    text.split_inclusive('\n').map(move |l| {
        let at = pos;
        pos += l.len();
        (at, l)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_at_end_keeps_missing_final_newline() {
        let out = insert_lines("a\nb", 3, "c\nd\n", "\n");
        assert_eq!(out, "a\nb\nc\nd");
        assert_eq!(remove_lines(&out, 4, out.len()), "a\nb");
    }

    #[test]
    fn crlf_is_detected() {
        assert_eq!(eol_of("a\r\nb"), "\r\n");
        assert_eq!(eol_of("a\nb\r\n"), "\n");
    }
}
