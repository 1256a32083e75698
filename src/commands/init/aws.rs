//! The AWS region and credentials: given, from a profile or SSO, or asked for; checked with STS.

use crate::error::Failure;
use crate::net::aws::{self, Keys};
use crate::net::Fault;
use crate::secrets::mask;
use crate::spec::{AWS_ID, AWS_SECRET};

use super::wizard::{env_var, Source, Verdict, Wizard, TRIES};

impl Wizard<'_> {
    /// AWS keys given to o11y: both halves from the same place (stdin, environment, store),
    /// with the session token that temporary credentials carry.
    pub(super) fn aws_given(&self) -> Option<(Keys, Source)> {
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

    /// Region and credentials; the SDK configuration the smoke test then uses.
    pub(super) fn aws(&mut self) -> Result<aws_config::SdkConfig, Failure> {
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

    pub(super) fn aws_ok(
        &self,
        v: Verdict,
        source: Source,
        keys: Option<&Keys>,
    ) -> Result<bool, Failure> {
        let v = match keys {
            Some(k) => v.scrubbed(|t| crate::secrets::scrub(t, &[&k.id, &k.secret])),
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
        Err(f) => Verdict::Unsure(f.line("AWS STS", &aws::host(cfg, "sts")), aws::hint(&f)),
    }
}
