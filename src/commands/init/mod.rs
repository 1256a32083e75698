//! `o11y init`: where am I, what is here, which integrations; then every key, checked with its
//! service the moment it is given; then store, diff, apply, and a test signal to each service.
//!
//! A key comes from, in this order: a `--*-stdin` flag, the environment, the store, a prompt.
//! A key that a service rejects is never stored: at a terminal it is asked again (three
//! tries), otherwise it is an error naming the variable to set.

mod aws;
mod keys;
mod smoke;
mod stdin;
mod store;
mod wizard;

use std::time::Duration;

use crate::cli::{Global, InitArgs};
use crate::error::Failure;
use crate::exit::{ExitStatus, Hint};
use crate::integrations;
use crate::project::Project;
use crate::secrets::{self, StoreKind, Workspace};
use crate::spec::Integration;
use crate::ui::{self, Printer};

use wizard::Wizard;

pub fn run(g: &Global, a: &InitArgs, out: &Printer) -> Result<ExitStatus, Failure> {
    // With `--store print`, stdout carries only the export lines (for `eval "$(...)"`).
    let for_eval;
    let out = if a.store == Some(StoreKind::Print) {
        for_eval = out.data_on_stderr();
        &for_eval
    } else {
        out
    };
    let ws = Workspace::detect();
    out.say(&format!("{} Working {}.", out.bold("1."), ws.describe()));
    if let Some((tool, what)) = ws.missing_tool() {
        out.warn(&format!("`{tool}` not found: {what}."));
    }
    let (p, _lock) = super::shared::locked_project(g, out)?;
    out.say(&format!(
        "{} Found the project in {}: {}, backend service `{}` in {}/.",
        out.bold("2."),
        p.root.display(),
        p.compose,
        p.service,
        p.backend_dir
    ));
    let interactive = !a.non_interactive && ui::interactive();
    let rt = super::shared::runtime()?;
    if interactive {
        // Ctrl-C at a hidden prompt would leave the terminal without echo: put it right first.
        rt.spawn(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                ui::interrupted("What was already stored or changed was said above; `o11y init` again picks up from there.");
                std::process::exit(i32::from(ExitStatus::Interrupted.code()));
            }
        });
    }
    if !interactive && !a.non_interactive {
        out.debug("stdin or stderr is not a terminal: nothing will be asked");
    }
    if a.reveal && a.store != Some(StoreKind::Print) {
        return Err(Failure::new(
            "--reveal only goes with --store print",
            "run `o11y init --store print --reveal` to see the lines to export",
        ));
    }

    // Which integrations.
    let current = super::shared::enabled(&p);
    let chosen: Vec<Integration> = match &a.only {
        Some(o) => integrations::all()
            .iter()
            .copied()
            .filter(|i| o.contains(i))
            .collect(),
        None if interactive => {
            let items: Vec<String> = integrations::all()
                .iter()
                .map(|i| format!("{} ({})", i.title(), i.spec().blurb))
                .collect();
            let checked: Vec<bool> = integrations::all()
                .iter()
                .map(|i| current.contains(i))
                .collect();
            let picked = out.choose(
                "Which integrations? (space to switch one on or off, enter to go on)",
                &items,
                &checked,
            )?;
            picked.into_iter().map(|n| integrations::all()[n]).collect()
        }
        None => current,
    };
    if chosen.is_empty() {
        return Err(Failure::new(
            "no integration was chosen, so there is nothing to set up",
            format!(
                "run `o11y init` again and keep at least one checked (or pass `--only {},...`)",
                crate::integrations::all()[0]
            ),
        ));
    }
    out.say(&format!(
        "{} Setting up: {}.",
        out.bold("3."),
        chosen
            .iter()
            .map(|i| i.title())
            .collect::<Vec<_>>()
            .join(", ")
    ));

    let mut adopt = crate::cli::Adopt::resolve(&a.adopt, &chosen);
    let mut plan = super::shared::compute_plan(&p, chosen.clone(), None, a.local, &[], &adopt)?;
    // A broken hand-made setup in the app module: offer to replace it with o11y's.
    if interactive && !a.yes {
        let app = p.app_path();
        let broken: Vec<(Integration, String)> = chosen
            .iter()
            .filter(|i| !adopt.contains(i))
            .filter_map(|i| {
                plan.manual
                    .iter()
                    .find(|m| {
                        m.integration == i.name() && m.file == app && m.place.contains("--adopt")
                    })
                    .map(|m| (*i, m.reason.clone()))
            })
            .collect();
        for (i, reason) in &broken {
            if out.ask_yes_no(
                &format!(
                    "Your hand-made {} setup in {app} needs fixing: {reason}. Replace it with o11y's (the lines are backed up; `o11y undo` puts them back)?",
                    i.title()
                ),
                false,
            )? {
                adopt.push(*i);
            }
        }
        if !broken.is_empty() && !adopt.is_empty() {
            plan = super::shared::compute_plan(&p, chosen.clone(), None, a.local, &[], &adopt)?;
        }
    }
    if !interactive && !a.yes && !a.dry_run && !plan.is_empty() {
        return Err(Failure::new(
            format!(
                "init would change {} file(s), and cannot ask you to confirm (no terminal); nothing was stored or changed",
                plan.edits.len()
            ),
            "add `--yes` to accept the changes (see them first with `o11y init --dry-run` or `o11y plan`)",
        ));
    }

    if a.local {
        return local(&p, &plan, a, out);
    }

    // Every key.
    let kind = a.store.unwrap_or_else(|| ws.default_store(&p.root));
    if matches!(ws, Workspace::Gitpod { cli: Some(_) }) && kind == StoreKind::Dotenv {
        out.say("  Keys go to .env, which lasts as long as this environment: to keep them as your Gitpod user secrets for every environment, run `ona login` once, then `o11y init --store gitpod`.");
    }
    let stdin = stdin::read_stdin(a)?;
    let apis = super::shared::apis(Some(&p), &a.apis)?;
    let timeout = Duration::from_secs_f64(a.timeout.max(0.1));
    let http = crate::net::client(timeout).map_err(super::shared::bug)?;
    let mut w = Wizard {
        a,
        out,
        interactive,
        store: secrets::open(kind, &p.root, &ws),
        stdin,
        rt,
        http,
        timeout,
        apis: apis.apis.clone(),
        service: p.service.clone(),
        values: Vec::new(),
    };
    w.store.preflight().map_err(|e| {
        Failure::new(
            format!("the keys could not be stored: {e}; nothing was asked, stored or changed"),
            e.hint(),
        )
    })?;
    for n in &apis.notes {
        out.say(&format!("  {n}"));
    }
    out.say(&format!(
        "{} Keys (each is checked with its service; wrong keys are never stored):",
        out.bold("4.")
    ));
    if !interactive {
        w.all_present(&chosen)?;
    }
    let mut aws_cfg = None;
    for i in &chosen {
        w.secrets_of(*i)?;
    }
    if chosen.iter().any(|i| i.uses_aws()) {
        aws_cfg = Some(w.aws()?);
    }

    // Store.
    if w.a.dry_run {
        out.say(&format!(
            "{} Dry run: would store {} in {}; nothing stored.",
            out.bold("5."),
            store::names(&w.values),
            w.store.name()
        ));
        out.diff(&plan);
        out.summary(&plan);
        out.notes(&plan);
        out.manual(&plan.manual);
        out.success("Dry run done: nothing was stored or changed. Run `o11y init` without --dry-run to do it.");
        return Ok(ExitStatus::Ok);
    }
    // Files, confirmed before anything is stored.
    out.say(&format!("{} The changes to your files:", out.bold("5.")));
    if plan.is_empty() {
        out.say("  none: the files are already as o11y wants them");
    } else if a.yes {
        out.summary(&plan);
    } else {
        out.diff(&plan);
        out.summary(&plan);
        if !out.confirm("Apply these changes and store the keys?") {
            return Err(Failure::new(
                "nothing was stored or changed: the changes were not confirmed",
                "run `o11y init` again and answer yes (the keys are checked again, quickly), or see the changes with `o11y plan`",
            ));
        }
    }
    w.store_values(&p)?;
    out.say(&format!("{} Changing the files:", out.bold("7.")));
    out.notes(&plan);
    if plan.is_empty() {
        out.say("  nothing to change");
    } else {
        super::apply::write(&p, &plan, &[], false, false, out)?;
    }

    // Proof.
    let mut code = ExitStatus::Ok;
    if a.no_smoke {
        out.say("Skipped the test signals (--no-smoke); `o11y smoke` sends them any time.");
    } else {
        code = w.smoke(g, &chosen, aws_cfg)?;
    }
    next_steps(w.store.after(), code, out);
    Ok(code)
}

/// `init --local`: no keys; local mode's block in .env, then the files.
fn local(
    p: &Project,
    plan: &crate::patch::plan::Plan,
    a: &InitArgs,
    out: &Printer,
) -> Result<ExitStatus, Failure> {
    if a.dry_run {
        out.say("Dry run: would point the backend at `o11y listen` (local mode in .env) and make these changes:");
        out.diff(plan);
        out.summary(plan);
        out.success("Dry run done: nothing was stored or changed.");
        return Ok(ExitStatus::Ok);
    }
    let quiet = super::apply::local_mode_files(p)?;
    out.say(&format!("{} Changes to your files:", out.bold("4.")));
    super::apply::execute_with(p, plan, &quiet, a.yes, false, out)?;
    super::apply::say_local_mode(&quiet, &super::shared::enabled(p), out);
    Ok(ExitStatus::Ok)
}

/// What to do next, then one last line that says what the exit code says.
fn next_steps(after: Option<&str>, code: ExitStatus, out: &Printer) {
    out.say("");
    if let Some(a) = after {
        out.say(a);
    }
    out.say(&format!("Next: `{} up`, open /api/activities/home a few times, and see the traces arrive. `o11y doctor` checks everything at any time.", crate::project::compose_command()));
    if code == ExitStatus::Ok {
        out.success("o11y init is done.");
    } else {
        out.say(&format!(
            "{} o11y init stored the keys and changed the files, but not every test signal got through: fix what is named above, then run `o11y smoke`.",
            out.red("✖")
        ));
    }
}
