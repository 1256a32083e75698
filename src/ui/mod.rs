//! The one place that prints. Data goes to stdout, messages to stderr; colour follows
//! `--color`, NO_COLOR and whether the stream is a terminal.

pub mod doctor;
pub mod listen;

use std::io::{IsTerminal, Write};

use console::Style;

use crate::error::Failure;
use crate::patch::plan::Plan;
use crate::patch::ManualStep;

/// Characters that act on a terminal or on how text reads, instead of being read: C0 controls,
/// DEL and C1 controls (escape sequences, CSI U+009B, NEL U+0085), line and paragraph
/// separators, and the marks, embeddings, overrides and isolates that reorder text.
fn acts(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// Text from outside (what a sender chose, what a `.env` holds) made safe for a terminal:
/// every character that `acts` is shown as an escape instead of acted on.
pub fn shown(text: &str) -> String {
    if !text.chars().any(acts) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if acts(c) && (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if acts(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// `v` as one line of JSON that is safe on a terminal and exact once decoded: serde_json
/// escapes C0 controls, and every other character that `acts` is written as `\uXXXX` too
/// (they are all in the BMP, and can only occur inside strings).
pub fn json_line<T: serde::Serialize + ?Sized>(v: &T) -> String {
    safe_json(serde_json::to_string(v).expect("data types serialise"))
}

/// [`json_line`], indented over several lines: its line breaks are the layout's own, as
/// serde_json escapes every one inside a string.
pub fn json_pretty<T: serde::Serialize + ?Sized>(v: &T) -> String {
    safe_json(serde_json::to_string_pretty(v).expect("data types serialise"))
}

fn safe_json(raw: String) -> String {
    if !raw.chars().any(|c| c != '\n' && acts(c)) {
        return raw;
    }
    let mut out = String::with_capacity(raw.len() + 16);
    for c in raw.chars() {
        if c != '\n' && acts(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether o11y may ask: stdin and stderr (where prompts are drawn) are terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Puts the terminal back as a prompt may have left it: cursor shown, typed text echoed.
pub fn restore_terminal() {
    let _ = console::Term::stderr().show_cursor();
    if let Ok(tty) = std::fs::File::open("/dev/tty") {
        let _ = std::process::Command::new("stty")
            .arg("echo")
            .arg("icanon")
            .stdin(tty)
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Ctrl-C during a command that asks: the terminal put right, then what it means.
pub fn interrupted(what_now: &str) {
    restore_terminal();
    eprintln!("\nStopped (Ctrl-C). {what_now}");
}

fn cancelled(e: dialoguer::Error) -> Failure {
    restore_terminal();
    let dialoguer::Error::IO(e) = e;
    Failure::new(
        format!("stopped at a question ({e})"),
        "run the command again when you are ready; `--non-interactive` never asks",
    )
}

/// A running spinner; cleared when finished or dropped.
pub struct Spinner(Option<indicatif::ProgressBar>);

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

pub struct Progress(Option<indicatif::ProgressBar>, String);

impl Progress {
    pub fn note(&self, now: &str) {
        if let Some(b) = &self.0 {
            b.set_message(format!("{}: {now}", self.1));
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

/// When to use colours (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

pub struct Printer {
    pub quiet: bool,
    pub verbose: u8,
    /// Colour on stdout, and on stderr: each stream's own, as each is a terminal or not.
    color: bool,
    color_err: bool,
    /// Result data goes to stderr too, keeping stdout for what a shell will `eval`.
    data_on_stderr: bool,
}

impl Printer {
    /// A printer for `--color`, `--quiet` and `--verbose` (a count).
    pub fn new(color: ColorChoice, quiet: bool, verbose: u8) -> Printer {
        let choose = |terminal: bool| match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os(crate::env::NO_COLOR).is_none_or(|v| v.is_empty()) && terminal
            }
        };
        Printer {
            quiet,
            verbose,
            color: choose(std::io::stdout().is_terminal()),
            color_err: choose(std::io::stderr().is_terminal()),
            data_on_stderr: false,
        }
    }

    /// No colour, not quiet: for tests and non-terminal output.
    pub fn plain() -> Printer {
        Printer {
            quiet: false,
            verbose: 0,
            color: false,
            color_err: false,
            data_on_stderr: false,
        }
    }

    /// The same printer, with result data on stderr: stdout is left to [`Printer::reveal`].
    pub fn data_on_stderr(&self) -> Printer {
        Printer {
            quiet: self.quiet,
            verbose: self.verbose,
            color: self.color,
            color_err: self.color_err,
            data_on_stderr: true,
        }
    }

    /// A line for a shell to evaluate, on stdout whatever else goes where.
    pub fn reveal(&self, s: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{s}");
    }

    /// `s` styled, when either stream shows colour; a stream without colour gets the text
    /// without it (see [`Printer::err_line`] and [`Printer::data`]).
    pub(crate) fn paint(&self, s: &str, style: Style) -> String {
        if self.color || self.color_err {
            style.force_styling(true).apply_to(s).to_string()
        } else {
            s.to_string()
        }
    }

    pub fn green(&self, s: &str) -> String {
        self.paint(s, Style::new().green())
    }
    pub fn red(&self, s: &str) -> String {
        self.paint(s, Style::new().red())
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint(s, Style::new().yellow())
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint(s, Style::new().bold())
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint(s, Style::new().dim())
    }

    /// A line of result data, on stdout.
    pub fn data(&self, s: &str) {
        if self.data_on_stderr {
            self.err_line(s);
            return;
        }
        let mut out = std::io::stdout().lock();
        if self.color {
            let _ = writeln!(out, "{s}");
        } else {
            let _ = writeln!(out, "{}", console::strip_ansi_codes(s));
        }
    }

    /// A JSON document as one line of data on stdout, written as it is: never passed through
    /// the stripping of colour codes, which would cut strings (see [`json_line`]).
    pub fn json(&self, v: &(impl serde::Serialize + ?Sized)) {
        self.json_text(json_line(v));
    }

    /// [`Printer::json`], indented.
    pub fn json_pretty(&self, v: &(impl serde::Serialize + ?Sized)) {
        self.json_text(json_pretty(v));
    }

    fn json_text(&self, line: String) {
        if self.data_on_stderr {
            eprintln!("{line}");
        } else {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
        }
    }

    /// A line on stderr, coloured only when stderr shows colour.
    fn err_line(&self, s: &str) {
        if self.color_err {
            eprintln!("{s}");
        } else {
            eprintln!("{}", console::strip_ansi_codes(s));
        }
    }

    /// A message for the person, on stderr, unless `--quiet`.
    pub fn say(&self, s: &str) {
        if !self.quiet {
            self.err_line(s);
        }
    }

    pub fn success(&self, s: &str) {
        self.say(&format!("{} {s}", self.green("✔")));
    }

    pub fn warn(&self, s: &str) {
        self.say(&format!("{} {s}", self.yellow("!")));
    }

    /// Something went wrong that the person can put right now, and how.
    pub fn problem(&self, what: &str, fix: &str) {
        self.say(&format!("{} {what}", self.red("✖")));
        self.say(&format!("  {} {fix}", self.bold("fix:")));
    }

    pub fn failure(&self, f: &Failure) {
        self.err_line(&format!("{} {}", self.red("error:"), f.message));
        // The same hint twice (from two layers of one error) is said once.
        for (n, h) in f.hints.iter().enumerate() {
            if !f.hints[..n].contains(h) {
                self.err_line(&format!("{} {h}", self.bold("hint:")));
            }
        }
    }

    /// The plan as a coloured unified diff, on stdout.
    pub fn diff(&self, plan: &Plan) {
        for edit in &plan.edits {
            let before = edit.before.as_deref().unwrap_or("");
            let diff = similar::TextDiff::from_lines(before, &edit.after);
            let old = if edit.created {
                "/dev/null".to_string()
            } else {
                format!("a/{}", edit.path)
            };
            let text = diff
                .unified_diff()
                .context_radius(3)
                .header(&old, &format!("b/{}", edit.path))
                .to_string();
            for line in text.lines() {
                let line = line.trim_end_matches('\r');
                let shown = if line.starts_with("+++") || line.starts_with("---") {
                    self.bold(line)
                } else if line.starts_with('+') {
                    self.green(line)
                } else if line.starts_with('-') {
                    self.red(line)
                } else if line.starts_with("@@") {
                    self.paint(line, Style::new().cyan())
                } else if line.starts_with('\\') {
                    self.dim(line)
                } else {
                    line.to_string()
                };
                self.data(&shown);
            }
        }
    }

    /// One-line summary per file.
    pub fn summary(&self, plan: &Plan) {
        for e in &plan.edits {
            let what = if e.created { "create" } else { "change" };
            let removed = if e.removed_lines > 0 {
                format!(" {}", self.red(&format!("-{}", e.removed_lines)))
            } else {
                String::new()
            };
            self.say(&format!(
                "  {what} {}  {}{removed}",
                e.path,
                self.green(&format!("+{}", e.added_lines)),
            ));
        }
    }

    /// One line per file changed beside the plan without a diff (`.env`, whose values are not
    /// shown; `.gitignore`).
    pub fn quiet_summary(&self, quiet: &[crate::patch::apply::Quiet]) {
        for q in quiet
            .iter()
            .filter(|q| q.before.as_deref() != Some(q.after.as_str()))
        {
            let what = if q.before.is_none() {
                "create"
            } else {
                "change"
            };
            let why = if q.path == ".env" {
                "local mode's block; values not shown"
            } else {
                "adds .env"
            };
            self.say(&format!("  {what} {}  ({why})", q.path));
        }
    }

    pub fn notes(&self, plan: &Plan) {
        for n in &plan.notes {
            self.say(&format!("{} {n}", self.dim("note:")));
        }
    }

    /// Changes the user must make by hand, with the snippet and where it goes.
    pub fn manual(&self, steps: &[ManualStep]) {
        if steps.is_empty() {
            return;
        }
        self.warn(&format!(
            "{} change(s) o11y could not make safely; please add them by hand:",
            steps.len()
        ));
        for (n, s) in steps.iter().enumerate() {
            self.say(&format!(
                "\n  {}. {} ({}): {}, because {}.",
                n + 1,
                self.bold(&s.file),
                s.integration,
                s.place,
                s.reason
            ));
            for line in s.snippet.lines() {
                self.say(&format!("     {line}"));
            }
        }
        self.say("");
    }

    /// A detail for `-v`: never a secret (callers mask them).
    pub fn debug(&self, s: &str) {
        if self.verbose > 0 && !self.quiet {
            self.err_line(&format!("{} {s}", self.dim("debug:")));
        }
    }

    /// A spinner on stderr while a network call runs; nothing when stderr is not a terminal.
    pub fn spinner(&self, msg: &str) -> Spinner {
        if self.quiet || !std::io::stderr().is_terminal() {
            return Spinner(None);
        }
        let bar = indicatif::ProgressBar::new_spinner().with_message(msg.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        Spinner(Some(bar))
    }

    /// A spinner whose line says what a long step is doing now ([`Progress::note`]); without
    /// a terminal, the step is named once.
    pub fn progress(&self, what: &str) -> Progress {
        if self.quiet {
            return Progress(None, String::new());
        }
        if !std::io::stderr().is_terminal() {
            self.say(&format!("    {what}…"));
            return Progress(None, String::new());
        }
        let bar = indicatif::ProgressBar::new_spinner().with_message(format!("{what}…"));
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        Progress(Some(bar), what.to_string())
    }

    /// Hidden input for a secret. Errors (Ctrl-C, no terminal) become a Failure.
    pub fn ask_secret(&self, prompt: &str) -> Result<String, Failure> {
        dialoguer::Password::new()
            .with_prompt(prompt)
            .allow_empty_password(true)
            .interact()
            .map(|s| s.trim().to_string())
            .map_err(cancelled)
    }

    /// Visible input with a default.
    pub fn ask_text(&self, prompt: &str, default: &str) -> Result<String, Failure> {
        dialoguer::Input::<String>::new()
            .with_prompt(prompt)
            .default(default.to_string())
            .interact_text()
            .map(|s| s.trim().to_string())
            .map_err(cancelled)
    }

    /// A yes/no question at a terminal.
    pub fn ask_yes_no(&self, question: &str, default: bool) -> Result<bool, Failure> {
        dialoguer::Confirm::new()
            .with_prompt(question)
            .default(default)
            .interact()
            .map_err(cancelled)
    }

    /// Several choices (space toggles, enter accepts); the indexes chosen.
    pub fn choose(
        &self,
        prompt: &str,
        items: &[String],
        checked: &[bool],
    ) -> Result<Vec<usize>, Failure> {
        dialoguer::MultiSelect::new()
            .with_prompt(prompt)
            .items(items)
            .defaults(checked)
            .interact()
            .map_err(cancelled)
    }

    /// Asks a yes/no question; false when stdin is not a terminal.
    pub fn confirm(&self, question: &str) -> bool {
        if !std::io::stdin().is_terminal() {
            return false;
        }
        dialoguer::Confirm::new()
            .with_prompt(question)
            .default(true)
            .interact()
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_json_keeps_its_layout_escapes_what_acts_and_decodes_exactly() {
        let v = serde_json::json!({"reason": "a\u{9b}31mred\u{202e}x\u{7f}\ny", "n": 1});
        let text = json_pretty(&v);
        assert!(text.contains("\n  \"n\": 1"), "{text}");
        assert!(!text.chars().any(|c| c != '\n' && acts(c)), "{text:?}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), v);
    }
}
