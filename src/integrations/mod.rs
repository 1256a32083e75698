//! The integrations: one module each, registered once in [`REGISTRY`]. A module owns its
//! spec (the data in `crate::spec`: secrets, API, receiver, environment, packages, Python
//! blocks) and its behaviour: doctor checks, the key verdict `init` and `doctor` share, and the
//! smoke steps. Commands loop over [`defs`] (the registry, plus the test integration in test
//! builds); none names an integration.
//!
//! Adding one: a module here with `SPEC` and `DEF`, its templates, and one line in
//! [`REGISTRY`]; `tests/registry.rs` checks that it is complete.

mod behaviour;
#[cfg(feature = "testkit")]
pub mod canary;
pub mod cloudwatch;
pub mod honeycomb;
pub mod rollbar;
pub mod xray;

use std::str::FromStr;
use std::sync::LazyLock;

use crate::spec::Integration;

pub use behaviour::{BoxFuture, Def, Fix, KeyCheck, LocalTarget, SmokeOpts};

/// Every integration, in the order their pieces appear in every file.
pub static REGISTRY: &[&Def] = &[&honeycomb::DEF, &xray::DEF, &cloudwatch::DEF, &rollbar::DEF];

/// The registry, and in test builds (feature `testkit`) the test integration after it when
/// O11Y_TESTKIT=canary: what every command loops over.
static DEFS: LazyLock<Vec<&'static Def>> = LazyLock::new(|| {
    #[allow(unused_mut)]
    let mut defs = REGISTRY.to_vec();
    #[cfg(feature = "testkit")]
    if std::env::var(crate::env::TESTKIT).is_ok_and(|v| v == "canary") {
        defs.push(&canary::DEF);
    }
    defs
});

/// Every integration's definition, in registry order.
pub fn defs() -> &'static [&'static Def] {
    &DEFS
}

static ALL: LazyLock<Vec<Integration>> =
    LazyLock::new(|| defs().iter().map(|d| Integration(d.spec)).collect());

/// Every integration, in registry order.
pub fn all() -> &'static [Integration] {
    &ALL
}

/// The definition of `i`.
pub fn def(i: Integration) -> &'static Def {
    defs()
        .iter()
        .copied()
        .find(|d| d.spec.name == i.name())
        .expect("every Integration comes from the registry")
}

/// The names, for messages (`honeycomb, xray, cloudwatch, rollbar`).
pub fn names() -> String {
    all()
        .iter()
        .map(|i| i.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Integration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        all()
            .iter()
            .copied()
            .find(|i| i.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("`{s}` is not an integration; choose from {}", names()))
    }
}

impl clap::ValueEnum for Integration {
    fn value_variants<'a>() -> &'a [Self] {
        all()
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

/// Everything a backend run on this machine needs to send all four signals to `o11y listen` at
/// `e`: the receivers' endpoints, a service name, and local mode's dummy keys and AWS settings.
pub fn host_env(e: &crate::listen::Endpoints) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = e
        .env(&e.host, all())
        .into_iter()
        .filter(|(k, _)| *k != "OTEL_EXPORTER_OTLP_HEADERS")
        .collect();
    out.push((
        "OTEL_SERVICE_NAME",
        crate::project::DEFAULT_SERVICE.to_string(),
    ));
    for (k, v) in local_dummies() {
        if !out.iter().any(|(o, _)| *o == k) {
            out.push((k, v.to_string()));
        }
    }
    out
}

/// What local mode gives the backend for the secrets and AWS settings it needs: dummies, since
/// `o11y listen` checks no key.
pub fn local_dummies() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = all()
        .iter()
        .flat_map(|i| i.spec().secrets.iter().map(|s| (s.var, s.local_dummy)))
        .collect();
    if all().iter().any(|i| i.uses_aws()) {
        out.extend(crate::spec::AWS_LOCAL);
    }
    out
}
