//! `o11y enable NAME` / `o11y disable NAME`: one integration on or off, in code, requirements
//! and compose, recorded in o11y.toml.

use crate::cli::{Global, ToggleArgs};
use crate::error::Failure;
use crate::exit::ExitStatus;
use crate::ui::Printer;

pub fn run(g: &Global, a: &ToggleArgs, on: bool, out: &Printer) -> Result<ExitStatus, Failure> {
    let (p, _lock) = super::shared::locked_project(g, out)?;
    let mut enabled = super::shared::enabled(&p);
    enabled.retain(|i| *i != a.name);
    if on {
        enabled.push(a.name);
        enabled.sort();
    }
    let forced = if on { vec![a.name] } else { Vec::new() };
    let by_hand = super::shared::switched_off(&p)
        .into_iter()
        .find(|s| s.integration == a.name);
    let plan = super::shared::compute_plan(&p, enabled, None, false, &forced, &[])?;
    out.say(&format!(
        "{} {}:",
        if on { "Switching on" } else { "Switching off" },
        a.name.title()
    ));
    if let (true, Some(s)) = (on, by_hand) {
        out.say(&format!(
            "It was switched off by hand: {}. o11y adds its own setup beside it; your commented-out lines stay, to delete when you like.",
            s.why
        ));
    }
    super::apply::execute(&p, &plan, a.yes, false, out)
}
