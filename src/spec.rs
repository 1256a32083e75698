//! What an integration is, as data: its identity, its secrets and API, and the pieces
//! `patch/` writes for it. A leaf: nothing here uses the rest of the crate.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Serialize, Serializer};

/// One integration, by its spec. Two are the same when their names are; they sort by `rank`,
/// the order their pieces appear in every file.
#[derive(Clone, Copy)]
pub struct Integration(pub &'static Spec);

impl Integration {
    pub fn name(self) -> &'static str {
        self.0.name
    }

    pub fn title(self) -> &'static str {
        self.0.title
    }

    pub fn spec(self) -> &'static Spec {
        self.0
    }

    /// Whether this integration talks to AWS and so needs the shared AWS credentials and region.
    pub fn uses_aws(self) -> bool {
        self.0.uses_aws
    }
}

impl PartialEq for Integration {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for Integration {}

impl Hash for Integration {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.name.hash(state)
    }
}

impl PartialOrd for Integration {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Integration {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.0.rank, self.0.name).cmp(&(other.0.rank, other.0.name))
    }
}

impl fmt::Debug for Integration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl fmt::Display for Integration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl Serialize for Integration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name)
    }
}

/// A secret an integration needs from the user.
#[derive(Debug, Clone, Copy)]
pub struct Secret {
    /// The environment variable that holds it (`HONEYCOMB_API_KEY`).
    pub var: &'static str,
    /// What it is, for prompts (`Honeycomb API key`).
    pub what: &'static str,
    /// What a good check, and doctor's search for keys in tracked files, call it
    /// (`Honeycomb key` OK: ...; a Honeycomb key in app.py).
    pub checked: &'static str,
    /// Where to get it.
    pub find: &'static str,
    /// The `init` flag that reads it from stdin (`--honeycomb-key-stdin`).
    pub stdin_flag: &'static str,
    /// What local mode stores for it (no real key is needed there).
    pub local_dummy: &'static str,
    /// Settings a good check may bring with it, with their defaults (Honeycomb's EU
    /// endpoint): (variable, default).
    pub settings: &'static [(&'static str, &'static str)],
    /// Regular expressions for the shapes it takes in a file, which must never be in git.
    pub shapes: &'static [&'static str],
}

/// The API o11y calls for an integration, overridable for tests and proxies.
#[derive(Debug, Clone, Copy)]
pub struct Api {
    /// Its default base URL.
    pub default: &'static str,
    /// The environment variable that overrides it (`O11Y_HONEYCOMB_API`).
    pub env: &'static str,
    /// The key under `[endpoints]` in o11y.toml (`honeycomb_api`).
    pub toml_key: &'static str,
    /// The command-line flag that overrides it, without its dashes (`honeycomb-api`).
    pub flag: &'static str,
}

impl Api {
    /// The command-line flag that overrides it (`--honeycomb-api`).
    pub fn flag(&self) -> String {
        format!("--{}", self.flag)
    }
}

/// A fallback API, overridable by an environment variable only.
#[derive(Debug, Clone, Copy)]
pub struct Fallback {
    pub default: &'static str,
    pub env: &'static str,
    /// What it is (`the Honeycomb EU API`), for messages.
    pub what: &'static str,
}

/// A compose service an integration adds: its name and its text, in block style at two levels
/// of `{i}` (one indent unit) below `services:`, `{e}` for the file's line ending.
#[derive(Debug, Clone, Copy)]
pub struct ComposeService {
    pub name: &'static str,
    pub template: &'static str,
}

/// A port the workspace opens for an integration's container (the X-Ray daemon's 2000/udp):
/// Gitpod Classic's `ports:` entry (named after the container, with its settings) and the
/// dev container's `forwardPorts`.
#[derive(Debug, Clone, Copy)]
pub struct WorkspacePort {
    pub port: u16,
    pub name: &'static str,
    /// The `.gitpod.yml` setting written with it (`onOpen: ignore`).
    pub gitpod: &'static str,
}

/// A file an integration creates, path relative to the project root.
#[derive(Debug, Clone, Copy)]
pub struct FileTemplate {
    pub path: &'static str,
    pub template: &'static str,
}

/// The protocol of a receiver in `o11y listen`: which of its handlers reads what arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReceiverKind {
    /// OTLP/HTTP traces.
    Otlp,
    /// The X-Ray daemon's UDP segments and TCP sampling API.
    XrayDaemon,
    /// The CloudWatch Logs API.
    Logs,
    /// Rollbar's item API.
    Rollbar,
}

/// An integration's receiver in `o11y listen`.
#[derive(Debug, Clone, Copy)]
pub struct Receiver {
    pub kind: ReceiverKind,
    /// Its short name, as `--port NAME=PORT`, JSON and messages name it (`otlp`, `xray`).
    pub name: &'static str,
    /// What it is, for messages (`OTLP/HTTP traces`, `X-Ray daemon`).
    pub serves: &'static str,
    /// What it receives, in a word (`traces`, `X-Ray`).
    pub label: &'static str,
    /// Its default port.
    pub port: u16,
    /// The `listen` flag that moved it before `--port NAME=PORT` (`--otlp-port`), kept as an alias.
    pub flag: &'static str,
    /// How `listen`'s summary counts its arrivals: (one, many).
    pub unit: (&'static str, &'static str),
    /// What points a backend at it: (variable, value with `{host}` and `{port}`).
    pub env: &'static [(&'static str, &'static str)],
    /// What it takes, for messages (`span`, `segment`).
    pub what: &'static str,
    /// What the demo waits for, as its summary line says it (`traces (Honeycomb over OTLP)`),
    /// and what the real backend's signals add to that (`, with the mock-data span`).
    pub shown: &'static str,
    pub shown_real: &'static str,
    /// What arrives, in the plural, for help texts (`X-Ray segments`).
    pub arrivals: &'static str,
    /// What an arrival from the backend names when o11y's own code sent it (the `mock-data`
    /// span; the empty string: any arrival does).
    pub own_code: &'static str,
    /// Its signals leave the backend in batches, some only when it stops (CloudWatch's).
    pub batched: bool,
}

/// An environment variable of the backend service. `value` is always a `${VAR}` reference,
/// so that secrets stay in the environment or `.env` and never land in docker-compose.yml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvVar {
    pub name: &'static str,
    pub value: &'static str,
    /// Local mode points it at `o11y listen` (through `.env`), so its value in the compose
    /// file must be a `${VAR}` reference for that to reach the backend.
    pub local: bool,
}

/// The Python files o11y edits, relative to the backend's folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PyFile {
    App,
    HomeActivities,
    UserActivities,
}

impl PyFile {
    pub fn rel_path(self) -> &'static str {
        match self {
            PyFile::App => "app.py",
            PyFile::HomeActivities => "services/home_activities.py",
            PyFile::UserActivities => "services/user_activities.py",
        }
    }
}

/// Where a block goes in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// After the last module-level import.
    AfterImports,
    /// Right after `app = Flask(__name__)`.
    AfterAppCreated,
    /// Before `if __name__ == "__main__":`, or at the end of the file.
    BesideRoutes,
    /// First statement of a method (`Class.method`).
    BodyStart {
        class: &'static str,
        method: &'static str,
    },
    /// Before the final `return` of a method.
    BeforeReturn {
        class: &'static str,
        method: &'static str,
    },
}

impl Anchor {
    /// Where to put the block, in words, for a student doing it by hand.
    pub fn describe(self) -> String {
        match self {
            Anchor::AfterImports => "after the imports at the top".into(),
            Anchor::AfterAppCreated => "right after `app = Flask(__name__)`".into(),
            Anchor::BesideRoutes => "next to your other routes".into(),
            Anchor::BodyStart { class, method } => {
                format!("at the start of `{class}.{method}`")
            }
            Anchor::BeforeReturn { class, method } => {
                format!("just before the final `return` of `{class}.{method}`")
            }
        }
    }
}

/// A block of Python that one integration owns. It is written between marker comments
/// (`# >>> o11y:<integration>:<part>` … `# <<< o11y:<integration>:<part>`) so a later run can
/// recognise it, leave it alone, or take it out again.
#[derive(Debug, Clone, Copy)]
pub struct PyBlock {
    pub file: PyFile,
    pub part: &'static str,
    pub anchor: Anchor,
    pub template: &'static str,
}

/// How to tell that a student already did an integration by hand in one file.
#[derive(Debug, Clone, Copy)]
pub struct HandMade {
    pub file: PyFile,
    /// Seen anywhere outside o11y's blocks (comments ignored): the integration was touched by hand.
    pub mentions: &'static [&'static str],
    /// All seen: the hand-made setup is complete and o11y leaves the file alone for it.
    pub complete: &'static [&'static str],
    /// Known flaws of hand-made setups.
    pub flaws: &'static [Flaw],
}

/// A known flaw of a hand-made setup: seen in its code, it is described by `why`.
#[derive(Debug, Clone, Copy)]
pub struct Flaw {
    pub pattern: &'static str,
    pub why: &'static str,
    /// The setup works all the same (a deprecated argument): a warning, not a missing step.
    pub works: bool,
    /// Only a flaw on Flask from this version on: a project that pins Flask below it is fine.
    pub from_flask: Option<&'static str>,
}

/// Everything known of one integration as data: its name and words, the secrets and API it
/// needs, and what `patch/` writes for it. The behaviour (checks, key verdict, smoke step) is
/// in its module under `integrations/`, registered once in `integrations::REGISTRY`.
#[derive(Debug)]
pub struct Spec {
    /// Lower case, for flags, marker comments and o11y.toml (`honeycomb`).
    pub name: &'static str,
    /// For people (`AWS X-Ray`).
    pub title: &'static str,
    /// What it is for, in a few words (`traces over OpenTelemetry`).
    pub blurb: &'static str,
    /// Where its pieces go in every file, relative to the others (lower first).
    pub rank: u16,
    /// It talks to AWS, so it needs the shared AWS credentials and region.
    pub uses_aws: bool,
    /// The secrets it needs, besides the shared AWS ones.
    pub secrets: &'static [Secret],
    /// The API o11y itself calls to check keys and send test signals, when it has one.
    pub api: Option<Api>,
    /// A second API tried for keys the first does not know (Honeycomb's EU instance).
    pub fallback_api: Option<Fallback>,
    /// Its local receiver in `o11y listen`.
    pub receiver: Receiver,
    /// Services it adds to the compose file (X-Ray's daemon), taken out when it is switched off.
    pub compose_services: &'static [ComposeService],
    /// Files it creates when they are missing (X-Ray's sampling rule), `{service}` filled.
    pub files: &'static [FileTemplate],
    /// Ports the workspace opens for it (the daemon's).
    pub ports: &'static [WorkspacePort],
    pub packages: &'static [&'static str],
    /// The Python modules those packages provide, to tell whether a Python has them.
    pub modules: &'static [&'static str],
    pub env: &'static [EnvVar],
    pub blocks: &'static [PyBlock],
    pub hand_made: &'static [HandMade],
    /// Its blocks outside the app module use what its own app setup creates (CloudWatch's
    /// "cruddur" logger), so they are left out where the app's setup is a hand-made one.
    pub blocks_need_own_setup: bool,
    /// What its smoke step creates in the service when it is missing (`the log group`), for
    /// messages.
    pub smoke_creates: &'static [&'static str],
    /// Its test signal can take a while to be readable (X-Ray's traces): the smoke spinner says so.
    pub slow_readback: bool,
}

/// AWS credentials and region, shared by every integration for which `uses_aws` holds.
pub const AWS_ENV: &[EnvVar] = &[
    EnvVar {
        name: "AWS_DEFAULT_REGION",
        value: "${AWS_DEFAULT_REGION}",
        local: false,
    },
    EnvVar {
        name: "AWS_ACCESS_KEY_ID",
        value: "${AWS_ACCESS_KEY_ID}",
        local: false,
    },
    EnvVar {
        name: "AWS_SECRET_ACCESS_KEY",
        value: "${AWS_SECRET_ACCESS_KEY}",
        local: false,
    },
];

/// What local mode gives the backend for the shared AWS settings.
pub const AWS_LOCAL: [(&str, &str); 3] = [
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "local"),
    ("AWS_SECRET_ACCESS_KEY", "local"),
];

/// The AWS access key pair, shared by every integration that uses AWS.
pub const AWS_ID: Secret = Secret {
    var: "AWS_ACCESS_KEY_ID",
    what: "AWS access key ID",
    checked: "AWS access key id",
    find: "AWS console → IAM → Users → your user → Security credentials → Create access key",
    stdin_flag: "--aws-keys-stdin",
    local_dummy: "local",
    settings: &[],
    shapes: &[r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"],
};
pub const AWS_SECRET: Secret = Secret {
    var: "AWS_SECRET_ACCESS_KEY",
    what: "AWS secret access key",
    checked: "AWS secret key",
    find: "shown once, next to the access key ID, when the key is created",
    stdin_flag: "--aws-keys-stdin",
    local_dummy: "local",
    settings: &[],
    shapes: &[r#"(?i)aws_secret_access_key\s*[=:]\s*["']?[a-zA-Z0-9/+]{40}"#],
};

/// The variables whose values are keys, never printed: every integration's secrets, the AWS
/// key pair and session token, and every environment variable whose value carries a secret
/// (`OTEL_EXPORTER_OTLP_HEADERS: "x-honeycomb-team=${HONEYCOMB_API_KEY}"`).
pub fn secret_vars(all: &[Integration]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = vec![AWS_ID.var, AWS_SECRET.var, "AWS_SESSION_TOKEN"];
    out.extend(
        all.iter()
            .flat_map(|i| i.spec().secrets.iter().map(|s| s.var)),
    );
    let carried: Vec<&'static str> = all
        .iter()
        .flat_map(|i| i.spec().env.iter())
        .filter(|e| out.iter().any(|s| e.value.contains(&format!("${{{s}}}"))))
        .map(|e| e.name)
        .collect();
    out.extend(carried);
    out.sort();
    out.dedup();
    out
}

/// Items joined for a sentence: `a`, `a and b`, `a, b and c`.
pub fn and_list(items: &[&str]) -> String {
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => items.join(""),
    }
}
