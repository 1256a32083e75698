//! Every key: given (stdin, environment, store) or asked for, and checked with its service
//! the moment it is given, in the one wording `doctor` uses too.

use crate::error::Failure;
use crate::integrations::{self, KeyCheck};
use crate::secrets::mask;
use crate::spec::{Integration, Secret, AWS_ID, AWS_SECRET};

use super::wizard::{env_var, odd_characters, Source, Verdict, Wizard, TRIES};

/// Settings a good verdict brings with a key: (variable, value).
type Settings = Vec<(String, String)>;

impl Wizard<'_> {
    /// Without a terminal, every missing key is named at once, before anything is checked.
    pub(super) fn all_present(&self, chosen: &[Integration]) -> Result<(), Failure> {
        let wanted: Vec<&Secret> = chosen
            .iter()
            .flat_map(|i| i.spec().secrets.iter())
            .collect();
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
            .map(|w| w.stdin_flag)
            .collect();
        if chosen.iter().any(|i| i.uses_aws()) {
            let chain = self.rt.block_on(crate::net::aws::config(self.timeout));
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
                    flags.push(AWS_ID.stdin_flag);
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

    /// Asks for one secret: where to find it, then a hidden prompt.
    pub(super) fn ask(&self, w: &Secret) -> Result<String, Failure> {
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
    pub(super) fn obtain(
        &mut self,
        w: &Secret,
        check: &dyn Fn(&Self, &str) -> Verdict,
    ) -> Result<(String, Source, Settings), Failure> {
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
            if let Some(settings) = self.verdict(w, &value, source, check)? {
                return Ok((value, source, settings));
            }
        }
        if !self.interactive {
            // Only reached when the store changed under us; never prompt without a terminal.
            return Err(Failure::new(
                format!("{} is not set, and init cannot ask (no terminal)", w.var),
                format!(
                    "set {} (or pipe it with {}), then run `o11y init` again",
                    w.var, w.stdin_flag
                ),
            ));
        }
        for attempt in 1..=TRIES {
            let value = self.ask(w)?;
            let accepted: Option<Settings> = if value.is_empty() {
                self.out
                    .warn("Nothing was typed: paste the key, then press enter.");
                None
            } else {
                self.verdict(w, &value, Source::Prompt, check)?
            };
            if let Some(settings) = accepted {
                if let Some(old) = rejected_env.as_ref().filter(|o| **o != value) {
                    self.out.warn(&format!(
                        "This shell still sets {} to the rejected key ({}), and docker compose prefers it over .env: run `unset {}` (and take it out of ~/.bashrc, or `gp env -u {}` in Gitpod).",
                        w.var,
                        mask(old),
                        w.var,
                        w.var
                    ));
                }
                return Ok((value, Source::Prompt, settings));
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
    pub(super) fn verdict(
        &self,
        w: &Secret,
        value: &str,
        source: Source,
        check: &dyn Fn(&Self, &str) -> Verdict,
    ) -> Result<Option<Settings>, Failure> {
        if self.a.no_verify {
            self.out.warn(&format!(
                "{} ({}, {}) not checked (--no-verify).",
                w.var,
                source.describe(self.store.kind()),
                mask(value)
            ));
            return Ok(Some(Vec::new()));
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
        match verdict.scrubbed(|t| crate::secrets::scrub(t, &[value])) {
            Verdict::Good {
                lines,
                warnings,
                settings,
            } => {
                self.good(Some(w.checked), &lines, &warnings);
                Ok(Some(settings))
            }
            Verdict::Wrong(why, fix) => {
                if !self.interactive {
                    return Err(Failure::new(
                        format!("{origin}: {why}; nothing was stored or changed"),
                        if source == Source::Stdin {
                            format!(
                                "{fix}; pipe the right value ({}) and run `o11y init` again",
                                w.stdin_flag
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
                Ok(None)
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
                Ok(self
                    .out
                    .ask_yes_no("Keep it without checking?", false)?
                    .then(Vec::new))
            }
        }
    }

    /// A key's good verdict: the first line as a success (after "`what` OK: "), the rest
    /// said, problems warned.
    pub(super) fn good(&self, what: Option<&str>, lines: &[String], warnings: &[(String, String)]) {
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

    /// The secrets of one integration, each checked with its service; the settings a good
    /// verdict brings (Honeycomb's EU endpoint) are kept with them.
    pub(super) fn secrets_of(&mut self, i: Integration) -> Result<(), Failure> {
        let verdict = integrations::def(i).verdict;
        let api = self.apis.get(&i).cloned().unwrap_or_default();
        for s in i.spec().secrets {
            let check = |w: &Self, value: &str| -> Verdict {
                match verdict {
                    Some(f) => w.check(
                        s.checked,
                        f(KeyCheck {
                            http: w.http.clone(),
                            api: api.clone(),
                            secret: value.to_string(),
                            service: w.service.clone(),
                        }),
                    ),
                    None => Verdict::good("not checked: its service has no way to"),
                }
            };
            let (value, _, settings) = self.obtain(s, &check)?;
            self.keep(s.var, value);
            for (var, default) in s.settings {
                match settings.iter().find(|(k, _)| k == var) {
                    Some((_, v)) => self.keep(var, v.clone()),
                    // A setting an earlier key brought that this one does not want (an EU
                    // endpoint, then a US key): back to the default, or its spans are refused.
                    None => {
                        if self.store.get(var).is_some_and(|v| v != *default) {
                            self.keep(var, default.to_string());
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
