//! The proof: a test signal to each service, with the keys just given.

use std::sync::Arc;
use std::time::Duration;

use crate::cli::Global;
use crate::error::Failure;
use crate::exit::ExitStatus;
use crate::spec::Integration;

use super::wizard::Wizard;

impl Wizard<'_> {
    /// Provisions and sends a test signal to each service, with the keys just given.
    pub(super) fn smoke(
        &self,
        g: &Global,
        chosen: &[Integration],
        aws_cfg: Option<aws_config::SdkConfig>,
    ) -> Result<ExitStatus, Failure> {
        let creates: Vec<&str> = chosen
            .iter()
            .flat_map(|i| i.spec().smoke_creates.iter().copied())
            .collect();
        let creating = if creates.is_empty() {
            String::new()
        } else {
            format!(
                " (and creating {} when missing)",
                crate::spec::and_list(&creates)
            )
        };
        self.out.say(&format!(
            "{} Sending a test signal to each service{creating}:",
            self.out.bold("8.")
        ));
        // The APIs init resolved and checked the keys with, as flags would give them.
        let apis = crate::cli::ApiFlags(self.apis.clone());
        let opts = crate::commands::shared::Options {
            timeout: self.a.timeout,
            apis: &apis,
            backend_url: String::new(),
        };
        let mut ctx = crate::commands::shared::context(g, &opts)?;
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
            self.rt.block_on(crate::commands::smoke::run_steps(
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
            .filter(|r| r.status == crate::report::SmokeStatus::Failed)
            .count();
        if failed > 0 {
            self.out.warn(&format!(
                "{failed} service(s) did not take the test signal (see above); the keys are stored and the files changed. Fix what is named, then run `o11y smoke`."
            ));
            return Ok(ExitStatus::Error);
        }
        Ok(ExitStatus::Ok)
    }
}
