//! Every environment variable o11y reads, in one catalogue: its name and what o11y does with
//! it. The integrations' own variables (their secrets and API overrides) are in their specs and
//! listed here too; `tests/registry.rs` checks that the code reads no variable missing here.
//! A leaf: nothing here uses the rest of the crate.

/// One variable o11y reads.
#[derive(Debug, Clone, Copy)]
pub struct Var {
    pub name: &'static str,
    pub why: &'static str,
}

const fn var(name: &'static str, why: &'static str) -> Var {
    Var { name, why }
}

pub const PROJECT: &str = "O11Y_PROJECT";
pub const COMPOSE_FILE: &str = "COMPOSE_FILE";
pub const COMPOSE_PATH_SEPARATOR: &str = "COMPOSE_PATH_SEPARATOR";
pub const PYTHON: &str = "O11Y_PYTHON";
pub const NO_COLOR: &str = "NO_COLOR";
pub const COLUMNS: &str = "COLUMNS";
pub const HOME: &str = "HOME";
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
pub const GITPOD_WORKSPACE_ID: &str = "GITPOD_WORKSPACE_ID";
pub const GITPOD_ENVIRONMENT_ID: &str = "GITPOD_ENVIRONMENT_ID";
pub const CODESPACES: &str = "CODESPACES";
pub const PYPI_API: &str = "O11Y_PYPI_API";
pub const RELEASE_URL: &str = "O11Y_RELEASE_URL";
pub const GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
pub const ROLLBAR_ENVIRONMENT: &str = "ROLLBAR_ENVIRONMENT";
pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
pub const AWS_ENDPOINT_URL_STS: &str = "AWS_ENDPOINT_URL_STS";
pub const TESTKIT: &str = "O11Y_TESTKIT";

/// Every variable o11y reads itself (the AWS SDK reads its own as well: AWS_PROFILE,
/// AWS_CONFIG_FILE, AWS_ENDPOINT_URL_*, ...).
pub const CATALOGUE: &[Var] = &[
    var(PROJECT, "the project folder, as --project"),
    var(
        COMPOSE_FILE,
        "docker compose's own: the compose file (the first of its list), as --compose",
    ),
    var(
        COMPOSE_PATH_SEPARATOR,
        "docker compose's own: what separates the files of COMPOSE_FILE",
    ),
    var(PYTHON, "the Python `demo` runs the backend with"),
    var(
        "O11Y_HONEYCOMB_API",
        "Honeycomb's API base URL (tests, proxies)",
    ),
    var(
        "O11Y_HONEYCOMB_EU_API",
        "Honeycomb's EU API, tried for keys the first API does not know",
    ),
    var(
        "O11Y_ROLLBAR_API",
        "Rollbar's API base URL (tests, proxies)",
    ),
    var(NO_COLOR, "no colours when set"),
    var(COLUMNS, "the terminal's width, for listen's waterfalls"),
    var(HOME, "where the demo's venv is cached (~/.cache/o11y)"),
    var(XDG_CACHE_HOME, "where the demo's venv is cached, when set"),
    var(
        GITPOD_ENVIRONMENT_ID,
        "this is an environment of the current Gitpod (Ona): keys can go to its user secrets",
    ),
    var(
        GITPOD_WORKSPACE_ID,
        "this is a Gitpod Classic workspace: keys go to `gp env`",
    ),
    var(
        CODESPACES,
        "this is a codespace: keys go to Codespaces secrets",
    ),
    var(
        PYPI_API,
        "PyPI's JSON API, asked whether the start task's install can work (tests, mirrors)",
    ),
    var(
        RELEASE_URL,
        "the release downloads the start task falls back to (tests, mirrors)",
    ),
    var(
        GITHUB_REPOSITORY,
        "the repository Codespaces secrets are set for",
    ),
    var(
        "HONEYCOMB_API_KEY",
        "the Honeycomb key (checked, stored, masked)",
    ),
    var(
        "HONEYCOMB_SERVICE_NAME",
        "an old bootcamp variable doctor warns about when unset",
    ),
    var(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "where the backend sends spans (doctor checks it)",
    ),
    var(
        "ROLLBAR_ACCESS_TOKEN",
        "the Rollbar token (checked, stored, masked)",
    ),
    var(
        ROLLBAR_ENVIRONMENT,
        "the environment of smoke's Rollbar item",
    ),
    var(
        "AWS_ACCESS_KEY_ID",
        "the AWS access key (checked, stored, masked)",
    ),
    var(
        "AWS_SECRET_ACCESS_KEY",
        "the AWS secret key (checked, stored, masked)",
    ),
    var("AWS_SESSION_TOKEN", "temporary AWS credentials' token"),
    var("AWS_DEFAULT_REGION", "the AWS region"),
    var(
        "AWS_REGION",
        "the AWS region, when AWS_DEFAULT_REGION is not set",
    ),
    var("AWS_PROFILE", "an AWS profile: its keys win over .env's"),
    var(
        AWS_ENDPOINT_URL,
        "an AWS endpoint for every service (tests, emulators)",
    ),
    var(AWS_ENDPOINT_URL_STS, "the STS endpoint, named in messages"),
    var(
        TESTKIT,
        "test builds only (feature `testkit`): `canary` adds the test integration",
    ),
];

/// Whether `name` is in the catalogue.
pub fn known(name: &str) -> bool {
    CATALOGUE.iter().any(|v| v.name == name)
}
