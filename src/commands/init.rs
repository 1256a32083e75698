//! `o11y init`: where am I, what is here, which integrations; then every key, checked with its
//! service the moment it is given; then store, diff, apply, and a test signal to each service.
//!
//! A key comes from, in this order: a `--*-stdin` flag, the environment, the store, a prompt.
//! A key that a service rejects is never stored: at a terminal it is asked again (three
//! tries), otherwise it is an error naming the variable to set.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::{DoctorArgs, Global, InitArgs};
use crate::error::{Failure, EXIT_ERROR, EXIT_OK};
use crate::integrations::aws::{self, Keys};
use crate::integrations::net::{host_of, Fault};
use crate::integrations::{honeycomb, rollbar, Integration};
use crate::project::Project;
use crate::secrets::{self, dotenv, mask, Store, StoreKind, Workspace};
use crate::ui::{self, Printer};

const TRIES: usize = 3;

use crate::integrations::KeyVerdict as Verdict;

/// Where a value came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Stdin,
    Env,
    Store,
    Chain,
    Prompt,
}

impl Source {
    fn describe(self, store: StoreKind) -> String {
        match self {
            Source::Stdin => "from stdin".into(),
            Source::Env => "from this shell's environment".into(),
            Source::Store => match store {
                StoreKind::Gitpod => "from .env or your Gitpod variables".into(),
                _ => "from .env".into(),
            },
            Source::Chain => "from your AWS profile or SSO".into(),
            Source::Prompt => "typed in".into(),
        }
    }
}

/// One secret the wizard asks for.
struct Wanted {
    var: &'static str,
    what: &'static str,
    /// What a good check says it found good ("Honeycomb key OK: ...").
    checked: &'static str,
    /// Where to get it.
    find: &'static str,
    flag: &'static str,
}

const HONEYCOMB: Wanted = Wanted {
    var: honeycomb::KEY_VAR,
    checked: "Honeycomb key",
    what: "Honeycomb API key",
    find: "Honeycomb → Environment settings → API keys (an ingest key)",
    flag: "--honeycomb-key-stdin",
};
const ROLLBAR: Wanted = Wanted {
    var: rollbar::TOKEN_VAR,
    checked: "Rollbar token",
    what: "Rollbar access token",
    find: "Rollbar → Project settings → Project access tokens (the post_server_item one)",
    flag: "--rollbar-token-stdin",
};
const AWS_ID: Wanted = Wanted {
    var: "AWS_ACCESS_KEY_ID",
    checked: "AWS keys",
    what: "AWS access key ID",
    find: "AWS console → IAM → Users → your user → Security credentials → Create access key",
    flag: "--aws-keys-stdin",
};
const AWS_SECRET: Wanted = Wanted {
    var: "AWS_SECRET_ACCESS_KEY",
    checked: "AWS keys",
    what: "AWS secret access key",
    find: "shown once, next to the access key ID, when the key is created",
    flag: "--aws-keys-stdin",
};

struct Wizard<'a> {
    a: &'a InitArgs,
    out: &'a Printer,
    interactive: bool,
    store: Box<dyn Store>,
    stdin: BTreeMap<&'static str, String>,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    timeout: Duration,
    honeycomb_api: String,
    rollbar_api: String,
    /// The backend's service (a classic Honeycomb key's dataset).
    service: String,
    /// What will be stored, in order.
    values: Vec<(String, String)>,
}

pub fn run(g: &Global, a: &InitArgs, out: &Printer) -> Result<u8, Failure> {
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
    let p = super::find_project(g)?;
    out.say(&format!(
        "{} Found the project in {}: {}, backend service `{}` in {}/.",
        out.bold("2."),
        p.root.display(),
        p.compose,
        p.service,
        p.backend_dir
    ));
    let interactive = !a.non_interactive && ui::interactive();
    let rt = super::runtime()?;
    if interactive {
        // Ctrl-C at a hidden prompt would leave the terminal without echo: put it right first.
        rt.spawn(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                ui::interrupted("What was already stored or changed was said above; `o11y init` again picks up from there.");
                std::process::exit(130);
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
    let current = super::enabled(&p);
    let chosen: Vec<Integration> = match &a.only {
        Some(o) => Integration::ALL
            .into_iter()
            .filter(|i| o.contains(i))
            .collect(),
        None if interactive => {
            let items: Vec<String> = Integration::ALL
                .iter()
                .map(|i| format!("{} ({})", i.title(), blurb(*i)))
                .collect();
            let checked: Vec<bool> = Integration::ALL
                .iter()
                .map(|i| current.contains(i))
                .collect();
            let picked = out.choose(
                "Which integrations? (space to switch one on or off, enter to go on)",
                &items,
                &checked,
            )?;
            picked.into_iter().map(|n| Integration::ALL[n]).collect()
        }
        None => current,
    };
    if chosen.is_empty() {
        return Err(Failure::new(
            "no integration was chosen, so there is nothing to set up",
            "run `o11y init` again and keep at least one checked (or pass `--only honeycomb,...`)",
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

    let plan = super::compute_plan(&p, chosen.clone(), None, a.local)?;
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
    let kind = a.store.unwrap_or(ws.default_store());
    let stdin = read_stdin(a)?;
    let apis = super::apis(Some(&p), &a.honeycomb_api, &a.rollbar_api)?;
    let timeout = Duration::from_secs_f64(a.timeout.max(0.1));
    let http = crate::integrations::net::client(timeout)?;
    let mut w = Wizard {
        a,
        out,
        interactive,
        store: secrets::open(kind, &p.root, &ws),
        stdin,
        rt,
        http,
        timeout,
        honeycomb_api: apis.honeycomb.clone(),
        rollbar_api: apis.rollbar.clone(),
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
    if chosen.contains(&Integration::Honeycomb) {
        w.honeycomb()?;
    }
    if chosen.contains(&Integration::Rollbar) {
        w.rollbar()?;
    }
    if chosen.iter().any(|i| i.uses_aws()) {
        aws_cfg = Some(w.aws()?);
    }

    // Store.
    let stored_kind = w.store.kind();
    if w.a.dry_run {
        out.say(&format!(
            "{} Dry run: would store {} in {}; nothing stored.",
            out.bold("5."),
            names(&w.values),
            store_name(stored_kind)
        ));
        out.diff(&plan);
        out.summary(&plan);
        out.notes(&plan);
        out.manual(&plan.manual);
        out.success("Dry run done: nothing was stored or changed. Run `o11y init` without --dry-run to do it.");
        return Ok(EXIT_OK);
    }
    // Files, confirmed before anything is stored.
    out.say(&format!("{} The changes to your files:", out.bold("5.")));
    if !plan.is_empty() && !a.yes {
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
    super::apply::execute(&p, &plan, true, false, out)?;

    // Proof.
    let mut code = EXIT_OK;
    if a.no_smoke {
        out.say("Skipped the test signals (--no-smoke); `o11y smoke` sends them any time.");
    } else {
        code = w.smoke(g, &chosen, aws_cfg)?;
    }
    next_steps(stored_kind, out);
    Ok(code)
}

fn blurb(i: Integration) -> &'static str {
    match i {
        Integration::Honeycomb => "traces over OpenTelemetry",
        Integration::Xray => "traces in AWS",
        Integration::Cloudwatch => "logs in AWS",
        Integration::Rollbar => "errors",
    }
}

/// Settings stored with the keys that are not secret, so they are shown as they are.
const PLAIN: &[&str] = &["AWS_DEFAULT_REGION", "OTEL_EXPORTER_OTLP_ENDPOINT"];

fn names(values: &[(String, String)]) -> String {
    if values.is_empty() {
        return "nothing".into();
    }
    values
        .iter()
        .map(|(k, v)| {
            if PLAIN.contains(&k.as_str()) {
                format!("{k}={v}")
            } else {
                format!("{k}={}", mask(v))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn store_name(kind: StoreKind) -> &'static str {
    match kind {
        StoreKind::Gitpod => "your Gitpod variables (`gp env`) and .env",
        StoreKind::Codespaces => "your Codespaces secrets (`gh secret set`) and .env",
        StoreKind::Dotenv => ".env (git-ignored, mode 0600)",
        StoreKind::Print => "nowhere (--store print shows them)",
    }
}

/// Values of the `--*-stdin` flags: one line each, in the documented order.
fn read_stdin(a: &InitArgs) -> Result<BTreeMap<&'static str, String>, Failure> {
    let mut want: Vec<(&'static str, &'static str)> = Vec::new();
    if a.honeycomb_key_stdin {
        want.push((HONEYCOMB.var, HONEYCOMB.flag));
    }
    if a.rollbar_token_stdin {
        want.push((ROLLBAR.var, ROLLBAR.flag));
    }
    if a.aws_keys_stdin {
        want.push((AWS_ID.var, AWS_ID.flag));
        want.push((AWS_SECRET.var, AWS_SECRET.flag));
    }
    let mut got = BTreeMap::new();
    if want.is_empty() {
        return Ok(got);
    }
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(Failure::new(
            format!("{} reads from a pipe, but stdin is this terminal (what you type would show)", want[0].1),
            "pipe it in (`printf '%s\\n' \"$HONEYCOMB_API_KEY\" | o11y init --honeycomb-key-stdin`), or leave the flag out and type the key when asked (hidden)",
        ));
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).map_err(|e| {
        Failure::new(
            format!("cannot read stdin: {e}"),
            "pipe the values in, one per line: `printf '%s\\n' \"$KEY\" | o11y init --honeycomb-key-stdin`",
        )
    })?;
    let mut lines = text.lines().map(str::trim);
    for (var, flag) in want {
        match lines.next().filter(|l| !l.is_empty()) {
            Some(v) => {
                got.insert(var, v.to_string());
            }
            None => {
                return Err(Failure::new(
                    format!("{flag} was given, but stdin has no line for {var}"),
                    "give one value per line, in this order: Honeycomb key, Rollbar token, AWS key id, AWS secret (only those whose flags you pass)",
                ))
            }
        }
    }
    Ok(got)
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Wizard<'_> {
    /// Without a terminal, every missing key is named at once, before anything is checked.
    fn all_present(&self, chosen: &[Integration]) -> Result<(), Failure> {
        let mut wanted: Vec<&Wanted> = Vec::new();
        if chosen.contains(&Integration::Honeycomb) {
            wanted.push(&HONEYCOMB);
        }
        if chosen.contains(&Integration::Rollbar) {
            wanted.push(&ROLLBAR);
        }
        let have = |var: &str| {
            self.stdin.contains_key(var) || env_var(var).is_some() || self.store.get(var).is_some()
        };
        let mut vars: Vec<&str> = wanted
            .iter()
            .filter(|w| !have(w.var))
            .map(|w| w.var)
            .collect();
        let mut flags: Vec<&str> = wanted
            .iter()
            .filter(|w| !have(w.var))
            .map(|w| w.flag)
            .collect();
        if chosen.iter().any(|i| i.uses_aws()) {
            let chain = self.rt.block_on(aws::config(self.timeout));
            if !have("AWS_DEFAULT_REGION") && !have("AWS_REGION") && chain.region().is_none() {
                vars.push("AWS_DEFAULT_REGION");
            }
            if self.aws_given().is_none() {
                let profile = self.rt.block_on(async {
                    use aws_credential_types::provider::ProvideCredentials;
                    match chain.credentials_provider() {
                        Some(p) => p.provide_credentials().await.is_ok(),
                        None => false,
                    }
                });
                if !profile {
                    vars.extend([AWS_ID.var, AWS_SECRET.var]);
                    flags.push(AWS_ID.flag);
                }
            }
        }
        if vars.is_empty() {
            return Ok(());
        }
        let list = match vars.as_slice() {
            [one] => one.to_string(),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
            [] => String::new(),
        };
        Err(Failure::new(
            format!(
                "{list} {} not set, and init cannot ask (no terminal, or --non-interactive)",
                if vars.len() == 1 { "is" } else { "are" },
            ),
            if flags.is_empty() {
                format!("set {list} in the environment, then run `o11y init` again; nothing was stored or changed")
            } else {
                format!(
                    "set {list} in the environment (or pipe the keys with {}), then run `o11y init` again; nothing was stored or changed",
                    flags.join(" ")
                )
            },
        ))
    }

    /// AWS keys given to o11y: both halves from the same place (stdin, environment, store),
    /// with the session token that temporary credentials carry.
    fn aws_given(&self) -> Option<(Keys, Source)> {
        let keys = |id: Option<String>, secret: Option<String>, token: Option<String>| {
            id.zip(secret)
                .map(|(id, secret)| Keys { id, secret, token })
        };
        keys(
            self.stdin.get(AWS_ID.var).cloned(),
            self.stdin.get(AWS_SECRET.var).cloned(),
            None,
        )
        .map(|k| (k, Source::Stdin))
        .or_else(|| {
            keys(
                env_var(AWS_ID.var),
                env_var(AWS_SECRET.var),
                env_var("AWS_SESSION_TOKEN"),
            )
            .map(|k| (k, Source::Env))
        })
        .or_else(|| {
            keys(
                self.store.get(AWS_ID.var),
                self.store.get(AWS_SECRET.var),
                self.store.get("AWS_SESSION_TOKEN"),
            )
            .map(|k| (k, Source::Store))
        })
    }

    /// Asks for one secret: where to find it, then a hidden prompt.
    fn ask(&self, w: &Wanted) -> Result<String, Failure> {
        self.out
            .say(&format!("  {} {}", self.out.dim("get it from:"), w.find));
        self.out.ask_secret(&format!("{} (input hidden)", w.what))
    }

    /// Runs a check with a spinner.
    fn check<F: std::future::Future<Output = Verdict>>(&self, what: &str, f: F) -> Verdict {
        let _spin = self.out.spinner(&format!("Checking the {what}…"));
        self.rt.block_on(f)
    }

    /// The value of one secret: the first of stdin, environment and store that its service
    /// accepts, else asked for (three tries).
    fn obtain(
        &mut self,
        w: &Wanted,
        check: &dyn Fn(&Self, &str) -> Verdict,
    ) -> Result<(String, Source), Failure> {
        let kind = self.store.kind();
        let given = self
            .stdin
            .get(w.var)
            .map(|v| (v.clone(), Source::Stdin))
            .or_else(|| env_var(w.var).map(|v| (v, Source::Env)))
            .or_else(|| self.store.get(w.var).map(|v| (v, Source::Store)));
        let rejected_env = given
            .as_ref()
            .filter(|(_, s)| *s == Source::Env)
            .map(|(v, _)| v.clone());
        if let Some((value, source)) = given {
            self.out.debug(&format!(
                "{}: {} ({})",
                w.var,
                source.describe(kind),
                mask(&value)
            ));
            if self.verdict(w, &value, source, check)? {
                return Ok((value, source));
            }
        }
        if !self.interactive {
            // Only reached when the store changed under us; never prompt without a terminal.
            return Err(Failure::new(
                format!("{} is not set, and init cannot ask (no terminal)", w.var),
                format!(
                    "set {} (or pipe it with {}), then run `o11y init` again",
                    w.var, w.flag
                ),
            ));
        }
        for attempt in 1..=TRIES {
            let value = self.ask(w)?;
            let accepted = if value.is_empty() {
                self.out
                    .warn("Nothing was typed: paste the key, then press enter.");
                false
            } else {
                self.verdict(w, &value, Source::Prompt, check)?
            };
            if accepted {
                if let Some(old) = rejected_env.as_ref().filter(|o| **o != value) {
                    self.out.warn(&format!(
                        "This shell still sets {} to the rejected key ({}), and docker compose prefers it over .env: run `unset {}` (and take it out of ~/.bashrc, or `gp env -u {}` in Gitpod).",
                        w.var,
                        mask(old),
                        w.var,
                        w.var
                    ));
                }
                return Ok((value, Source::Prompt));
            }
            if attempt < TRIES {
                self.out.say(&format!(
                    "  Try again ({} of {TRIES} tries left).",
                    TRIES - attempt
                ));
            }
        }
        Err(Failure::new(
            format!(
                "no {} was accepted after {TRIES} tries; nothing was stored",
                w.what
            ),
            format!(
                "get it from {}, then run `o11y init` again (or set {} and run it)",
                w.find, w.var
            ),
        ))
    }

    /// Checks a value; true when it may be stored. Without a terminal, a rejected or
    /// uncheckable value is an error naming the variable.
    fn verdict(
        &self,
        w: &Wanted,
        value: &str,
        source: Source,
        check: &dyn Fn(&Self, &str) -> Verdict,
    ) -> Result<bool, Failure> {
        if self.a.no_verify {
            self.out.warn(&format!(
                "{} ({}, {}) not checked (--no-verify).",
                w.var,
                source.describe(self.store.kind()),
                mask(value)
            ));
            return Ok(true);
        }
        let origin = format!(
            "{} ({}, {})",
            w.var,
            source.describe(self.store.kind()),
            mask(value)
        );
        let verdict = if let Some(why) = odd_characters(value) {
            Verdict::Wrong(
                why,
                "copy the key again and paste it alone, with nothing around it".into(),
            )
        } else {
            check(self, value)
        };
        match verdict.scrubbed(&[value]) {
            Verdict::Good {
                lines, warnings, ..
            } => {
                self.good(Some(w.checked), &lines, &warnings);
                Ok(true)
            }
            Verdict::Wrong(why, fix) => {
                if !self.interactive {
                    return Err(Failure::new(
                        format!("{origin}: {why}; nothing was stored or changed"),
                        if source == Source::Stdin {
                            format!(
                                "{fix}; pipe the right value ({}) and run `o11y init` again",
                                w.flag
                            )
                        } else {
                            format!(
                                "{fix}; set {} to the right value and run `o11y init` again",
                                w.var
                            )
                        },
                    ));
                }
                self.out.problem(&format!("{origin}: {why}"), &fix);
                Ok(false)
            }
            Verdict::Unsure(why, fix) => {
                if !self.interactive {
                    return Err(Failure::new(
                        format!(
                            "{origin} could not be checked: {why}; nothing was stored or changed"
                        ),
                        format!("{fix}; or run with --no-verify to store it unchecked"),
                    ));
                }
                self.out
                    .warn(&format!("{origin} could not be checked: {why}"));
                self.out.say(&format!("  {fix}"));
                self.out.ask_yes_no("Keep it without checking?", false)
            }
        }
    }

    /// A key's good verdict: the first line as a success (after "`what` OK: "), the rest
    /// said, problems warned.
    fn good(&self, what: Option<&str>, lines: &[String], warnings: &[(String, String)]) {
        for (n, l) in lines.iter().enumerate() {
            if n == 0 {
                match what {
                    Some(what) => self.out.success(&format!("{what} OK: {l}")),
                    None => self.out.success(l),
                }
            } else {
                self.out.say(&format!("  {l}"));
            }
        }
        for (why, fix) in warnings {
            self.out.warn(&format!("{why}."));
            self.out.say(&format!("  {fix}"));
        }
    }

    fn keep(&mut self, var: &str, value: String) {
        self.values.retain(|(k, _)| k != var);
        self.values.push((var.to_string(), value));
    }

    fn honeycomb(&mut self) -> Result<(), Failure> {
        let eu_endpoint = std::cell::RefCell::new(None::<String>);
        let check = |w: &Self, key: &str| -> Verdict {
            let api = w.honeycomb_api.clone();
            let v = w.check(
                "Honeycomb key",
                honeycomb::verdict(&w.http, &api, key, &w.service),
            );
            if let Verdict::Good { settings, .. } = &v {
                *eu_endpoint.borrow_mut() = settings.first().map(|(_, v)| v.clone());
            }
            v
        };
        let (key, _) = self.obtain(&HONEYCOMB, &check)?;
        self.keep(HONEYCOMB.var, key);
        match eu_endpoint.into_inner() {
            Some(eu) => self.keep("OTEL_EXPORTER_OTLP_ENDPOINT", eu),
            None => {
                // A US key after an EU one: the stored EU endpoint would reject its spans.
                let stored = self.store.get("OTEL_EXPORTER_OTLP_ENDPOINT");
                if stored.is_some_and(|e| e.contains("eu1.honeycomb.io")) {
                    self.keep("OTEL_EXPORTER_OTLP_ENDPOINT", honeycomb::API.to_string());
                }
            }
        }
        Ok(())
    }

    fn rollbar(&mut self) -> Result<(), Failure> {
        let check = |w: &Self, token: &str| -> Verdict {
            w.check(
                "Rollbar token",
                rollbar::verdict(&w.http, &w.rollbar_api, token),
            )
        };
        let (token, _) = self.obtain(&ROLLBAR, &check)?;
        self.keep(ROLLBAR.var, token);
        Ok(())
    }

    /// Region and credentials; the SDK configuration the smoke test then uses.
    fn aws(&mut self) -> Result<aws_config::SdkConfig, Failure> {
        let chain = self.rt.block_on(aws::config(self.timeout));
        // Region: environment, store, profile, prompt.
        let region = env_var("AWS_DEFAULT_REGION")
            .map(|r| (r, Source::Env))
            .or_else(|| env_var("AWS_REGION").map(|r| (r, Source::Env)))
            .or_else(|| {
                self.store
                    .get("AWS_DEFAULT_REGION")
                    .or_else(|| self.store.get("AWS_REGION"))
                    .map(|r| (r, Source::Store))
            })
            .or_else(|| chain.region().map(|r| (r.to_string(), Source::Chain)));
        if let Some((r, s)) = region.as_ref().filter(|(r, _)| !aws::valid_region(r)) {
            if self.interactive {
                self.out.warn(&format!(
                    "The AWS region `{r}` ({}) is not a region name; they look like us-east-1.",
                    s.describe(self.store.kind())
                ));
            }
        }
        let region = match region {
            Some((r, s)) if aws::valid_region(&r) => (r, s),
            Some((r, s)) if !self.interactive => {
                return Err(Failure::new(
                    format!("the AWS region `{r}` ({}) is not a region name", s.describe(self.store.kind())),
                    "set AWS_DEFAULT_REGION to one like us-east-1, then run `o11y init` again",
                ))
            }
            None if !self.interactive => {
                return Err(Failure::new(
                    "no AWS region: AWS_DEFAULT_REGION is not set, and init cannot ask (no terminal)",
                    "set AWS_DEFAULT_REGION (e.g. us-east-1, the bootcamp's region), then run `o11y init` again",
                ))
            }
            _ => {
                let mut r = String::new();
                for _ in 0..TRIES {
                    r = self.out.ask_text("AWS region", "us-east-1")?;
                    if aws::valid_region(&r) {
                        break;
                    }
                    self.out
                        .warn(&format!("`{r}` is not a region name; they look like us-east-1 or eu-west-2."));
                }
                if !aws::valid_region(&r) {
                    return Err(Failure::new(
                        "no AWS region was given",
                        "run `o11y init` again with AWS_DEFAULT_REGION set (e.g. us-east-1)",
                    ));
                }
                (r, Source::Prompt)
            }
        };
        self.keep("AWS_DEFAULT_REGION", region.0.clone());

        // Credentials: stdin, environment, store, the SDK's chain (profile, SSO), prompt.
        let given = self.aws_given();
        let kind = self.store.kind();
        let check = |w: &Self, keys: Option<&Keys>| -> (Verdict, aws_config::SdkConfig) {
            let _spin = w.out.spinner("Checking the AWS keys…");
            w.rt.block_on(async {
                let cfg = aws::config_with(w.timeout, keys, Some(&region.0)).await;
                (aws_verdict(&cfg).await, cfg)
            })
        };
        let mut tried = 0;
        let mut current: Option<(Keys, Source)> = given;
        if current.is_none() {
            // The SDK's own chain: a profile or SSO. Those keys stay where they are.
            let has = self.rt.block_on(async {
                use aws_credential_types::provider::ProvideCredentials;
                match chain.credentials_provider() {
                    Some(p) => p.provide_credentials().await.is_ok(),
                    None => false,
                }
            });
            if has && self.a.no_verify {
                self.out
                    .warn("AWS keys (from your AWS profile or SSO) not checked (--no-verify).");
                return Ok(chain);
            }
            if has {
                let (v, cfg) = check(self, None);
                if self.aws_ok(v, Source::Chain, None)? {
                    self.out.warn("The containers of docker compose do not see AWS profiles: they read AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.");
                    self.out.say(&format!("  Export those two (e.g. `eval \"$(aws configure export-credentials --format env)\"`) before `{} up`.", crate::project::compose_command()));
                    return Ok(cfg);
                }
            }
        }
        loop {
            let (keys, source) = match current.take() {
                Some(k) => k,
                None => {
                    if !self.interactive {
                        return Err(Failure::new(
                            "no AWS keys: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set, no profile has any, and init cannot ask (no terminal)",
                            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or pipe them with --aws-keys-stdin), then run `o11y init` again; nothing was stored or changed",
                        ));
                    }
                    if tried >= TRIES {
                        return Err(Failure::new(
                            format!(
                                "no AWS keys were accepted after {TRIES} tries; nothing was stored"
                            ),
                            format!(
                                "make a new access key ({}), then run `o11y init` again",
                                AWS_ID.find
                            ),
                        ));
                    }
                    if tried > 0 {
                        self.out.say(&format!(
                            "  Try again ({} of {TRIES} tries left).",
                            TRIES - tried
                        ));
                    }
                    tried += 1;
                    let id = self.ask(&AWS_ID)?;
                    let secret = self.ask(&AWS_SECRET)?;
                    if id.is_empty() || secret.is_empty() {
                        self.out
                            .warn("Both the key ID and the secret are needed: paste each, then press enter.");
                        continue;
                    }
                    (
                        Keys {
                            id,
                            secret,
                            token: None,
                        },
                        Source::Prompt,
                    )
                }
            };
            self.out.debug(&format!(
                "AWS keys: {} (key ID {}, secret {})",
                source.describe(kind),
                mask(&keys.id),
                mask(&keys.secret)
            ));
            let cfg = if self.a.no_verify {
                self.out.warn(&format!(
                    "AWS keys ({}, key ID {}) not checked (--no-verify).",
                    source.describe(kind),
                    mask(&keys.id)
                ));
                self.rt
                    .block_on(aws::config_with(self.timeout, Some(&keys), Some(&region.0)))
            } else {
                let (v, cfg) = check(self, Some(&keys));
                if !self.aws_ok(v, source, Some(&keys))? {
                    continue;
                }
                cfg
            };
            self.keep(AWS_ID.var, keys.id);
            self.keep(AWS_SECRET.var, keys.secret);
            if let Some(token) = keys.token {
                self.out.warn("These are temporary AWS credentials (they come with AWS_SESSION_TOKEN): they expire, and the containers get only AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. For the bootcamp, create an access key for an IAM user and run `o11y init` with it.");
                self.keep("AWS_SESSION_TOKEN", token);
            }
            return Ok(cfg);
        }
    }

    fn aws_ok(&self, v: Verdict, source: Source, keys: Option<&Keys>) -> Result<bool, Failure> {
        let v = match keys {
            Some(k) => v.scrubbed(&[&k.id, &k.secret]),
            None => v,
        };
        let origin = format!(
            "AWS keys ({}{})",
            source.describe(self.store.kind()),
            keys.map(|k| format!(", key ID {}", mask(&k.id)))
                .unwrap_or_default()
        );
        match v {
            Verdict::Good {
                lines, warnings, ..
            } => {
                self.good(None, &lines, &warnings);
                Ok(true)
            }
            Verdict::Wrong(why, fix) if !self.interactive => Err(Failure::new(
                format!("{origin}: {why}; nothing was stored or changed"),
                format!("{fix}; then run `o11y init` again"),
            )),
            Verdict::Unsure(why, fix) if !self.interactive => Err(Failure::new(
                format!("{origin} could not be checked: {why}; nothing was stored or changed"),
                format!("{fix}; or run with --no-verify to store them unchecked"),
            )),
            Verdict::Wrong(why, fix) => {
                self.out.problem(&format!("{origin}: {why}"), &fix);
                Ok(false)
            }
            Verdict::Unsure(why, fix) => {
                self.out
                    .warn(&format!("{origin} could not be checked: {why}"));
                self.out.say(&format!("  {fix}"));
                self.out.ask_yes_no("Keep them without checking?", false)
            }
        }
    }

    fn store_values(&mut self, p: &Project) -> Result<(), Failure> {
        let kind = self.store.kind();
        if kind == StoreKind::Print {
            self.out.say(&format!(
                "{} Not storing the keys (--store print); the lines to export:",
                self.out.bold("6.")
            ));
        } else {
            self.out.say(&format!(
                "{} Storing {} in {}:",
                self.out.bold("6."),
                names(&self.values),
                store_name(kind)
            ));
        }
        self.out.debug(&format!("store: {kind:?}"));
        if self.values.is_empty() {
            return Ok(());
        }
        if kind != StoreKind::Print {
            // Real keys and local mode's dummy ones do not mix: leave local mode.
            let w = dotenv::write_block(&p.root, &[])
                .map_err(|e| Failure::new(e.to_string(), e.hint()))?;
            if w.changed {
                self.out
                    .say("  left local mode: o11y's local block is out of .env");
            }
        }
        let done = {
            let _spin = self.out.spinner("Storing the keys…");
            self.store.put(&self.values)
        }
        .map_err(|e| Failure::new(format!("storing the keys failed: {e}"), e.hint()))?;
        for line in done {
            self.out.say(&format!("  {line}"));
        }
        if kind == StoreKind::Print {
            if self.a.reveal {
                for (k, v) in &self.values {
                    self.out.reveal(&format!("export {k}={}", shell_quote(v)));
                }
            } else {
                self.out.say("  Nothing was stored, and the values above are masked. To export them in this shell: `eval \"$(o11y init --store print --reveal --yes)\"` (only the export lines go to stdout).");
            }
        }
        Ok(())
    }

    /// Provisions and sends a test signal to each service, with the keys just given.
    fn smoke(
        &self,
        g: &Global,
        chosen: &[Integration],
        aws_cfg: Option<aws_config::SdkConfig>,
    ) -> Result<u8, Failure> {
        self.out.say(&format!(
            "{} Sending a test signal to each service (and creating the X-Ray group, sampling rule and log group when missing):",
            self.out.bold("7.")
        ));
        let args = DoctorArgs {
            json: false,
            fix: false,
            strict: false,
            timeout: self.a.timeout,
            only: None,
            honeycomb_api: Some(self.honeycomb_api.clone()),
            rollbar_api: Some(self.rollbar_api.clone()),
            backend_url: String::new(),
        };
        let mut ctx = super::doctor::context(g, &args)?;
        ctx.enabled = chosen.to_vec();
        for (k, v) in &self.values {
            ctx.vars.insert(k.clone(), (v.clone(), "from init"));
        }
        if let Some(cfg) = aws_cfg {
            let _ = ctx.aws.set(cfg);
        }
        let ctx = Arc::new(ctx);
        let results = {
            let _spin = self.out.spinner("Sending test signals…");
            self.rt.block_on(super::smoke::run_steps(
                ctx,
                chosen,
                true,
                Duration::from_secs_f64(self.a.timeout.max(1.0) * 3.0),
            ))
        };
        for line in self.out.smoke_lines(&results) {
            self.out.data(&line);
        }
        let failed = results
            .iter()
            .filter(|r| r.status == super::smoke::SmokeStatus::Failed)
            .count();
        if failed > 0 {
            self.out.warn(&format!(
                "{failed} service(s) did not take the test signal (see above); the keys are stored and the files changed. Fix what is named, then run `o11y smoke`."
            ));
            return Ok(EXIT_ERROR);
        }
        Ok(EXIT_OK)
    }
}

/// Why a key cannot be right as typed: keys are printable ASCII with no spaces.
fn odd_characters(value: &str) -> Option<String> {
    if value.chars().any(|c| c.is_whitespace()) {
        Some("it has a space in it; keys have none".into())
    } else if value.chars().any(|c| c.is_control() || !c.is_ascii()) {
        Some("it has characters no key has (invisible ones, or letters outside ASCII)".into())
    } else {
        None
    }
}

/// A value as a shell `export` line holds it.
fn shell_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "'\\''"))
}

async fn aws_verdict(cfg: &aws_config::SdkConfig) -> Verdict {
    match aws::identity(cfg).await {
        Ok(id) => Verdict::good(format!("AWS: {}", id.describe())),
        Err(f @ (Fault::Unauthorized | Fault::Forbidden)) => Verdict::Wrong(
            match f {
                Fault::Unauthorized => {
                    "AWS does not accept these keys (wrong, deleted or mistyped)".into()
                }
                _ => "AWS refused the identity check for these keys".into(),
            },
            "make a new access key (AWS console → IAM → Users → your user → Security credentials)"
                .into(),
        ),
        Err(f) => {
            let host = std::env::var("AWS_ENDPOINT_URL_STS")
                .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
                .map(|u| host_of(&u))
                .unwrap_or_else(|_| {
                    format!(
                        "sts.{}.amazonaws.com",
                        cfg.region().map(|r| r.to_string()).unwrap_or_default()
                    )
                });
            Verdict::Unsure(f.line("AWS STS", &host), aws::hint(&f))
        }
    }
}

/// `init --local`: no keys; local mode's block in .env, then the files.
fn local(
    p: &Project,
    plan: &crate::patch::plan::Plan,
    a: &InitArgs,
    out: &Printer,
) -> Result<u8, Failure> {
    if a.dry_run {
        out.say("Dry run: would point the backend at `o11y listen` (local mode in .env) and make these changes:");
        out.diff(plan);
        out.summary(plan);
        out.success("Dry run done: nothing was stored or changed.");
        return Ok(EXIT_OK);
    }
    let quiet = super::apply::local_mode_files(p)?;
    out.say(&format!("{} Changes to your files:", out.bold("4.")));
    super::apply::execute_with(p, plan, &quiet, a.yes, false, out)?;
    super::apply::say_local_mode(&quiet, out);
    Ok(EXIT_OK)
}

fn next_steps(kind: StoreKind, out: &Printer) {
    out.say("");
    out.success("o11y init is done.");
    if kind == StoreKind::Gitpod {
        out.say("The keys are in .env for this workspace and in your Gitpod variables for the next ones; in a terminal opened before now, run `eval \"$(gp env -e)\"` to have them there too.");
    }
    if kind == StoreKind::Codespaces {
        out.say("The keys are in .env for this codespace and in your Codespaces secrets for the next ones (or after a restart).");
    }
    if kind == StoreKind::Print {
        out.say("The keys are in no file: in the terminal where you run docker compose, run `eval \"$(o11y init --store print --reveal --yes --no-smoke)\"` first.");
    }
    out.say(&format!("Next: `{} up`, open /api/activities/home a few times, and see the traces arrive. `o11y doctor` checks everything at any time.", crate::project::compose_command()));
}
