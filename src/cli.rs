//! Command-line definitions: every command, flag and help text.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::spec::Integration;
pub use crate::ui::ColorChoice;

#[derive(Debug, Parser)]
#[command(
    name = "o11y",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("O11Y_COMMIT"), ")"),
    after_help = "Exit codes: 0 done (or nothing to do), 1 changes pending (`plan`), 2 error.\nStart with `o11y init` in your project folder (or `o11y plan` to see the changes first)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The project folder (the one with docker-compose.yml). Default: this folder or a parent.
    #[arg(long, global = true, value_name = "DIR", env = crate::env::PROJECT)]
    pub project: Option<PathBuf>,
    /// The compose file, when it is not docker-compose.yml (or compose.yaml): the one your
    /// workspace starts with `docker compose -f FILE up`. Default: COMPOSE_FILE, then the
    /// standard names, then the file .gitpod.yml or the dev container names.
    #[arg(long, global = true, value_name = "FILE")]
    pub compose: Option<PathBuf>,
    /// The backend's service name in the compose file. Default: o11y.toml, then `backend-flask`,
    /// then the one service whose build folder holds requirements.txt and a Flask app.
    #[arg(long, global = true, value_name = "NAME")]
    pub service: Option<String>,
    /// Say more about what o11y does.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print only errors and results.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// When to use colours (NO_COLOR is honoured too).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// A number of seconds o11y can wait: more than 0, at most a day.
fn seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds (e.g. 5 or 2.5)"))?;
    if v.is_finite() && v > 0.0 && v <= 86_400.0 {
        Ok(v)
    } else {
        Err(format!(
            "`{s}` seconds is out of range: give more than 0 and at most 86400"
        ))
    }
}

/// The command line, with the texts that name the integrations made from the registry.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let all = crate::integrations::all();
    let titles: Vec<&str> = all.iter().map(|i| i.title()).collect();
    let arrivals: Vec<&str> = all.iter().map(|i| i.spec().receiver.arrivals).collect();
    let listen = format!(
        "Receive {} on this machine and print them as they arrive: no account needed",
        crate::spec::and_list(&arrivals)
    );
    Cli::command()
        .about(format!(
            "Wire {} into the Cruddur Flask backend, and prove they work",
            crate::spec::and_list(&titles)
        ))
        .mut_subcommand("listen", |s| {
            let ports: Vec<String> = crate::listen::Ports::defaults(all)
                .0
                .iter()
                .map(|(r, p)| format!("{}={p} ({})", r.name, r.serves))
                .collect();
            let mut s = s.about(listen).mut_arg("ports", |a| {
                a.help(format!(
                    "Move a receiver, once for each: {}",
                    ports.join(", ")
                ))
            });
            // The per-receiver flags of earlier versions (`--otlp-port`), hidden aliases.
            for (r, _) in crate::listen::Ports::defaults(all).0 {
                s = s.arg(
                    clap::Arg::new(r.flag)
                        .long(r.flag.trim_start_matches("--"))
                        .hide(true)
                        .value_name("PORT")
                        .value_parser(clap::value_parser!(u16)),
                );
            }
            s
        })
}

/// Parses the command line (help and errors print and exit, as clap does).
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    let matches = command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let (Command::Listen(a), Some(("listen", m))) = (&mut cli.command, matches.subcommand()) {
        let mut older = Vec::new();
        for (r, _) in crate::listen::Ports::defaults(crate::integrations::all()).0 {
            if let Some(p) = m.get_one::<u16>(r.flag) {
                older.push((r.name.to_string(), *p));
            }
        }
        older.append(&mut a.ports);
        a.ports = older;
    }
    cli
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The wizard: choose integrations, give and check each key, store the keys where this
    /// workspace finds them (Gitpod, Codespaces or .env), apply the changes, then send a test
    /// signal to each service. Exit 0 done, 2 error (a missing or wrong key names its variable).
    Init(InitArgs),
    /// Show, as a diff, every file change week 2 still needs; nothing is written.
    /// Exit 0: nothing to do; 1: changes pending; 2: error.
    Plan(PlanArgs),
    /// Make the changes `plan` shows (backed up first; `o11y undo` puts them back).
    Apply(ApplyArgs),
    /// Put back every file of the last `apply`, byte for byte.
    Undo(UndoArgs),
    /// Switch one integration on again (code, requirements, compose).
    Enable(ToggleArgs),
    /// Switch one integration off (code, requirements, compose), e.g. to save AWS budget.
    Disable(ToggleArgs),
    /// Receive every integration's signals on this machine and print them as they arrive: no
    /// account needed.
    Listen(ListenArgs),
    /// Show it all on the bundled example, with no account: apply week 2 in a scratch copy,
    /// run the backend against the local receivers and print what arrives.
    Demo(DemoArgs),
    /// Check tools, files, secrets, services and the running stack at once; a fix for every
    /// problem. Exit 0 healthy (warnings too, unless --strict: then 1), 2 any failure.
    Doctor(DoctorArgs),
    /// Send one real test signal to each enabled service, verify it arrived where the service
    /// lets us read it back, and print a link to it. Exit 0 all verified or accepted, 2 any failure.
    Smoke(SmokeArgs),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Accept the changes to the files without asking.
    #[arg(short, long)]
    pub yes: bool,
    /// Never ask: a missing or rejected key is an error naming its variable (exit 2).
    /// Automatic when stdin is not a terminal.
    #[arg(long)]
    pub non_interactive: bool,
    /// Check the keys and show what would be stored and changed; store and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The integrations to set up, without asking (comma-separated).
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_enum)]
    pub only: Option<Vec<Integration>>,
    /// Local mode: no keys; the backend sends everything to `o11y listen` on this machine.
    #[arg(long)]
    pub local: bool,
    /// Where the keys go (default: gitpod in Gitpod, codespaces in a Codespace, else dotenv).
    /// gitpod and codespaces also write .env, so this workspace has the keys at once.
    #[arg(long, value_enum)]
    pub store: Option<crate::secrets::StoreKind>,
    /// Replace your hand-made setup of these integrations with o11y's (comma-separated, or
    /// `all`); without it, init offers this for a hand-made setup that is broken.
    #[arg(long, value_name = "NAME|all", value_delimiter = ',', value_parser = parse_adopt)]
    pub adopt: Vec<Adopt>,
    /// With `--store print`: print the export lines with their real values (on stdout).
    #[arg(long)]
    pub reveal: bool,
    #[command(flatten)]
    pub stdin: StdinFlags,
    /// Store the keys without checking them with their services (e.g. offline).
    #[arg(long)]
    pub no_verify: bool,
    /// Do not send the test signals at the end.
    #[arg(long)]
    pub no_smoke: bool,
    /// Seconds each service may take to answer.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = seconds)]
    pub timeout: f64,
    #[command(flatten)]
    pub apis: ApiFlags,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Only these integrations (comma-separated).
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_enum)]
    pub only: Option<Vec<Integration>>,
    /// Print the plan as JSON instead of a diff.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Apply without asking.
    #[arg(short, long)]
    pub yes: bool,
    /// Only these integrations (comma-separated).
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_enum)]
    pub only: Option<Vec<Integration>>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Local mode: point the backend at `o11y listen` on this machine (endpoints and dummy
    /// credentials in `.env`), so nothing leaves it and no account is needed.
    #[arg(long, conflicts_with = "cloud")]
    pub local: bool,
    /// Leave local mode: take o11y's local block out of `.env`, back to the real services.
    #[arg(long)]
    pub cloud: bool,
    /// Replace your hand-made setup of these integrations in the app module with o11y's
    /// (comma-separated names, or `all`): the replaced lines are taken out, backed up first,
    /// and `o11y undo` puts them back.
    #[arg(long, value_name = "NAME|all", value_delimiter = ',', value_parser = parse_adopt)]
    pub adopt: Vec<Adopt>,
}

/// What `--adopt` names: one integration, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adopt {
    All,
    One(Integration),
}

impl Adopt {
    /// The integrations a list of `--adopt` values names.
    pub fn resolve(list: &[Adopt], all: &[Integration]) -> Vec<Integration> {
        if list.contains(&Adopt::All) {
            return all.to_vec();
        }
        let mut out: Vec<Integration> = list
            .iter()
            .filter_map(|a| match a {
                Adopt::One(i) => Some(*i),
                Adopt::All => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

fn parse_port(s: &str) -> Result<(String, u16), String> {
    let (name, port) = s
        .split_once('=')
        .ok_or_else(|| "write it as NAME=PORT, e.g. otlp=14318".to_string())?;
    let port = port
        .trim()
        .parse::<u16>()
        .map_err(|_| format!("`{}` is not a port (0 to 65535)", port.trim()))?;
    Ok((name.trim().to_ascii_lowercase(), port))
}

fn parse_adopt(s: &str) -> Result<Adopt, String> {
    if s.trim().eq_ignore_ascii_case("all") {
        return Ok(Adopt::All);
    }
    <Integration as clap::ValueEnum>::from_str(s.trim(), true)
        .map(Adopt::One)
        .map_err(|_| {
            let names: Vec<&str> = crate::integrations::all()
                .iter()
                .map(|i| i.name())
                .collect();
            format!("choose from {}, or all", names.join(", "))
        })
}

#[derive(Debug, Args)]
pub struct UndoArgs {
    /// Put the files back even if they changed since `apply`.
    #[arg(long)]
    pub force: bool,
    /// Undo every apply o11y has a backup of, the latest first, until the project is as it was
    /// before o11y.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct ToggleArgs {
    /// The integration.
    #[arg(value_enum)]
    pub name: Integration,
    /// Apply without asking.
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Address to listen on (0.0.0.0 to accept from containers).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// Move a receiver: `--port NAME=PORT`, once for each (`--port otlp=14318`).
    #[arg(long = "port", value_name = "NAME=PORT", value_parser = parse_port)]
    pub ports: Vec<(String, u16)>,
    /// One JSON object per arrival on stdout (field `signal`: trace, xray, log, rollbar, malformed).
    #[arg(long)]
    pub json: bool,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS", value_parser = seconds)]
    pub timeout: Option<f64>,
    /// Stop after this many arrivals (each span batch, segment, log event or item).
    #[arg(long, value_name = "N")]
    pub exit_after: Option<usize>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The Python to run the backend with (default: $O11Y_PYTHON, ./.venv/bin/python, the
    /// demo's own venv in ~/.cache/o11y, python3 when it has the packages).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Do not make the demo's venv (~/.cache/o11y/demo-venv) when no Python has the backend's
    /// packages; send o11y's own test signals instead.
    #[arg(long)]
    pub no_install: bool,
    /// Send o11y's own test signals instead of running the backend.
    #[arg(long)]
    pub smoke_only: bool,
    /// Give up waiting for the signals after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 45.0, value_parser = seconds)]
    pub timeout: f64,
    /// Keep the scratch project (its path is printed) instead of deleting it.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the report as JSON (schema 1: verdict, counts, checks with id, group, title,
    /// status ok|warn|fail|skip, reason, fix, duration_ms).
    #[arg(long)]
    pub json: bool,
    /// Make the fixes o11y can (re-apply its changes, add .env to .gitignore, create the log
    /// group), then check again.
    #[arg(long)]
    pub fix: bool,
    /// Exit 1 when there are warnings (and no failures).
    #[arg(long)]
    pub strict: bool,
    /// Seconds each check may take.
    #[arg(long, value_name = "SECS", default_value_t = 5.0, value_parser = seconds)]
    pub timeout: f64,
    /// Only checks whose id starts with one of these (comma-separated: secrets,honeycomb.key).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub only: Option<Vec<String>>,
    #[command(flatten)]
    pub apis: ApiFlags,
    /// Where the running backend answers.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:4567")]
    pub backend_url: String,
}

#[derive(Debug, Args)]
pub struct SmokeArgs {
    /// Only these integrations (comma-separated).
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_enum)]
    pub only: Option<Vec<Integration>>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// Do not wait to read the signals back.
    #[arg(long)]
    pub no_verify: bool,
    /// Seconds to wait for each service, and at most for a signal to be readable (some
    /// services make new data readable only after a processing delay).
    #[arg(long, value_name = "SECS", default_value_t = 30.0, value_parser = seconds)]
    pub timeout: f64,
    #[command(flatten)]
    pub apis: ApiFlags,
}

/// `--NAME-api URL` for every integration with an API, from the registry: one shape for all,
/// in every command that calls the services.
#[derive(Debug, Clone, Default)]
pub struct ApiFlags(pub BTreeMap<Integration, String>);

impl clap::FromArgMatches for ApiFlags {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = ApiFlags::default();
        flags.update_from_arg_matches(m)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        for i in crate::integrations::all() {
            if let Some(api) = i.spec().api {
                if let Some(v) = m.get_one::<String>(api.toml_key) {
                    self.0.insert(*i, v.clone());
                }
            }
        }
        Ok(())
    }
}

impl Args for ApiFlags {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for i in crate::integrations::all() {
            if let Some(api) = i.spec().api {
                cmd = cmd.arg(
                    clap::Arg::new(api.toml_key)
                        .long(api.flag)
                        .value_name("URL")
                        .help(format!(
                            "{} API base URL (default: ${}, o11y.toml, {})",
                            i.title(),
                            api.env,
                            api.default
                        )),
                );
            }
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// `--*-stdin`: read a secret from stdin, one flag per secret in the registry (and one for the
/// AWS key pair), all in one shape.
#[derive(Debug, Clone, Default)]
pub struct StdinFlags(pub Vec<&'static str>);

impl StdinFlags {
    /// Whether `flag` (`--honeycomb-key-stdin`) was given.
    pub fn given(&self, flag: &str) -> bool {
        self.0.contains(&flag)
    }

    fn all() -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = crate::integrations::all()
            .iter()
            .flat_map(|i| {
                i.spec().secrets.iter().map(|s| {
                    (
                        s.stdin_flag,
                        format!("Read the {} from stdin (one line)", s.what),
                    )
                })
            })
            .collect();
        out.push((
            crate::spec::AWS_ID.stdin_flag,
            "Read AWS_ACCESS_KEY_ID then AWS_SECRET_ACCESS_KEY from stdin (two lines)".into(),
        ));
        if let Some((_, first)) = out.first_mut() {
            first.push_str(
                ". With several `--*-stdin` flags, stdin holds one value per line, in the order of these flags",
            );
        }
        out
    }
}

impl clap::FromArgMatches for StdinFlags {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = StdinFlags::default();
        flags.update_from_arg_matches(m)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        for (flag, _) in Self::all() {
            let id = flag.trim_start_matches('-');
            if m.get_flag(id) && !self.0.contains(&flag) {
                self.0.push(flag);
            }
        }
        Ok(())
    }
}

impl Args for StdinFlags {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for (flag, help) in Self::all() {
            let id = flag.trim_start_matches('-');
            cmd = cmd.arg(
                clap::Arg::new(id)
                    .long(id)
                    .action(clap::ArgAction::SetTrue)
                    .help(help),
            );
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}
