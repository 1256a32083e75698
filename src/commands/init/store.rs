//! Storing the keys where this workspace finds them, and saying where.

use crate::error::Failure;
use crate::exit::Hint;
use crate::project::Project;
use crate::secrets::{dotenv, mask, StoreKind};

use super::wizard::Wizard;

/// Settings stored with the keys that are not secret, so they are shown as they are.
const PLAIN: &[&str] = &["AWS_DEFAULT_REGION", "OTEL_EXPORTER_OTLP_ENDPOINT"];

pub(super) fn names(values: &[(String, String)]) -> String {
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

/// A value as a shell `export` line holds it.
fn shell_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "'\\''"))
}

impl Wizard<'_> {
    pub(super) fn store_values(&mut self, p: &Project) -> Result<(), Failure> {
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
                self.store.name()
            ));
        }
        self.out.debug(&format!("store: {kind:?}"));
        if self.values.is_empty() {
            return Ok(());
        }
        if kind != StoreKind::Print {
            // Real keys and local mode's dummy ones do not mix: leave local mode.
            let w = dotenv::write_block(&p.root, &[])?;
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
}
