//! `o11y undo`: puts back the files of the last apply.

use crate::cli::{Global, UndoArgs};
use crate::error::Failure;
use crate::exit::ExitStatus;
use crate::patch::apply;
use crate::ui::Printer;

pub fn run(g: &Global, a: &UndoArgs, out: &Printer) -> Result<ExitStatus, Failure> {
    let (p, _lock) = super::shared::locked_project(g, out)?;
    let undone = apply::undo(&p.root, a.force)?;
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
    Ok(ExitStatus::Ok)
}
