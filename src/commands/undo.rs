//! `o11y undo`: puts back the files of the last apply (`--all`: of every apply).

use crate::cli::{Global, UndoArgs};
use crate::error::Failure;
use crate::exit::ExitStatus;
use crate::patch::apply;
use crate::ui::Printer;

pub fn run(g: &Global, a: &UndoArgs, out: &Printer) -> Result<ExitStatus, Failure> {
    let (p, _lock) = super::shared::locked_project(g, out)?;
    let mut touched: Vec<String> = Vec::new();
    loop {
        let undone = match apply::undo(&p.root, a.force) {
            // `--all` goes on until there is nothing left; the first undo must find something.
            Err(apply::ApplyError::NothingToUndo(_)) if a.all && !touched.is_empty() => break,
            r => r?,
        };
        for f in &undone.restored {
            out.say(&format!("  restored {f}"));
        }
        for f in &undone.removed {
            out.say(&format!("  removed  {f} (o11y had created it)"));
        }
        out.success(&format!(
            "Undid the apply saved in {}: {} file(s) restored, {} removed.",
            undone.backup,
            undone.restored.len(),
            undone.removed.len()
        ));
        touched.extend(undone.restored.iter().chain(&undone.removed).cloned());
        if !a.all {
            match undone.remaining {
                0 => {}
                1 => out.say("1 earlier apply remains: `o11y undo` again takes it back too, or `o11y undo --all` every one."),
                n => out.say(&format!("{n} earlier applies remain: `o11y undo` again takes the next back, or `o11y undo --all` every one.")),
            }
            break;
        }
    }
    // What o11y wrote outside any apply, and leaves.
    let kept = |f: &str| p.root.join(f).is_file() && !touched.iter().any(|t| t == f);
    if kept(".env") {
        out.say("  kept .env: it holds keys stored outside any apply (`o11y init`); delete it yourself to have them gone");
    }
    if kept(".gitignore")
        && std::fs::read_to_string(p.root.join(".gitignore"))
            .is_ok_and(|t| t.lines().any(|l| l.trim() == ".env"))
    {
        out.say("  kept .gitignore's `.env` line: it keeps the keys in .env out of git");
    }
    Ok(ExitStatus::Ok)
}
