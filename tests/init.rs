//! `o11y init`: keys from the environment, stdin and a real terminal; the stores (.env, and
//! stand-in `gp` and `gh` executables that record how they were called); every key checked
//! against moto and the Honeycomb/Rollbar stand-ins; nothing leaks.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

const HC_KEY: &str = "test-env-ingest-key-000001";
const RB_TOKEN: &str = "test-rollbar-post-server-token";

/// Runs `o11y init ARGS` in `dir` with a clean environment plus `env`, stdin from `input`
/// (none: no terminal, empty), killed after 60 s so a hang fails instead of blocking.
fn init(dir: &Path, args: &[&str], env: &[(&str, String)], input: Option<&str>) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = clean_command(dir, home.path(), "init", args, env);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    if let Some(text) = input {
        stdin.write_all(text.as_bytes()).unwrap();
    }
    drop(stdin);
    let id = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = done.clone();
    std::thread::spawn(move || {
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            if flag.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
    });
    let out = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(
        out.status.code().is_some(),
        "o11y init {args:?} hung and was killed\nstderr:\n{}",
        stderr(&out)
    );
    out
}

type Env = Vec<(&'static str, String)>;

/// The endpoints of the test servers, without any key.
fn endpoints(fake: u16, aws: u16) -> Vec<(&'static str, String)> {
    good_env(fake, aws)
        .into_iter()
        .filter(|(k, _)| k.starts_with("O11Y_") || *k == "AWS_ENDPOINT_URL")
        .collect()
}

fn with(
    mut env: Vec<(&'static str, String)>,
    more: &[(&'static str, &str)],
) -> Vec<(&'static str, String)> {
    for (k, v) in more {
        env.retain(|(e, _)| e != k);
        env.push((k, v.to_string()));
    }
    env
}

fn dotenv(dir: &Path) -> BTreeMap<String, String> {
    fs::read_to_string(dir.join(".env"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Asserts that stderr says `text`, showing all the output when it does not.
fn said(o: &Output, text: &str) {
    assert!(stderr(o).contains(text), "expected `{text}`\n{}", show(o));
}

fn show(o: &Output) -> String {
    format!(
        "exit {}\nstdout:\n{}\nstderr:\n{}",
        code(o),
        stdout(o),
        stderr(o)
    )
}

#[test]
fn without_a_terminal_missing_keys_are_named_and_nothing_changes() {
    let dir = project("template");
    let before = tree(dir.path());
    let o = init(dir.path(), &["--yes"], &[], None);
    assert_eq!(code(&o), 2, "{}", show(&o));
    let err = stderr(&o);
    assert!(
        err.contains("HONEYCOMB_API_KEY, ROLLBAR_ACCESS_TOKEN, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"),
        "{err}"
    );
    assert!(err.contains("--honeycomb-key-stdin"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(tree(dir.path()), before);

    // Without --yes, init says so before anything else: it cannot ask to confirm.
    let o = init(dir.path(), &[], &good_env(1, 1), None);
    assert_eq!(code(&o), 2, "{}", show(&o));
    said(&o, "add `--yes`");
    assert_eq!(tree(dir.path()), before);
}

#[test]
fn keys_from_the_environment_are_checked_stored_applied_and_smoke_tested() {
    let fake = fake("none");
    let aws = shared_aws();
    let dir = project("template");
    fs::write(dir.path().join(".env"), "# mine\nDB=postgres://x\n").unwrap();
    let o = init(dir.path(), &["--yes"], &good_env(fake.port, aws), None);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let err = stderr(&o);
    for said in [
        "Honeycomb key OK: team Acme, environment bootcamp, ingest key",
        "Rollbar token OK",
        "AWS: account 1234…",
        "Changed 10 file(s)",
        " up`, open /api/activities/home",
        // What the smoke steps create comes from the chosen integrations' specs.
        "8. Sending a test signal to each service (and creating the X-Ray group, the sampling rule and the log group when missing):",
    ] {
        assert!(err.contains(said), "missing `{said}`:\n{err}");
    }
    let out = stdout(&o);
    assert_eq!(out.matches('✔').count(), 4, "{out}");
    assert!(out.contains("created group Cruddur"), "{out}");

    // .env: the user's lines first and untouched, then the keys; 0600; git-ignored.
    let text = fs::read_to_string(dir.path().join(".env")).unwrap();
    assert!(text.starts_with("# mine\nDB=postgres://x\n"), "{text}");
    let env = dotenv(dir.path());
    assert_eq!(env["HONEYCOMB_API_KEY"], HC_KEY);
    assert_eq!(env["ROLLBAR_ACCESS_TOKEN"], RB_TOKEN);
    assert_eq!(env["AWS_DEFAULT_REGION"], "us-east-1");
    assert_eq!(env["AWS_SECRET_ACCESS_KEY"], "testing");
    assert_eq!(mode(&dir.path().join(".env")), 0o600);
    let ignore = fs::read_to_string(dir.path().join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == ".env"), "{ignore}");
    let app = fs::read_to_string(dir.path().join("backend-flask/app.py")).unwrap();
    assert!(app.contains("XRayMiddleware(app, xray_recorder)"), "{app}");
    let compose = fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap();
    assert!(!compose.contains(HC_KEY), "a key in docker-compose.yml");

    // Twice: nothing changes.
    let after = tree(dir.path());
    let o = init(
        dir.path(),
        &["--yes", "--no-smoke"],
        &good_env(fake.port, aws),
        None,
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    said(&o, "the files are already as o11y wants them");
    assert_eq!(tree(dir.path()), after);

    // The keys are now found in the store (.env) when the shell has none.
    let o = init(
        dir.path(),
        &["--yes", "--no-smoke", "-v"],
        &endpoints(fake.port, aws),
        None,
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    said(&o, "HONEYCOMB_API_KEY: from .env (****0001)");
}

#[test]
fn keys_piped_on_stdin() {
    let fake = fake("none");
    let aws = shared_aws();
    let dir = project("template");
    let o = init(
        dir.path(),
        &[
            "--yes",
            "--no-smoke",
            "--honeycomb-key-stdin",
            "--rollbar-token-stdin",
            "--aws-keys-stdin",
        ],
        &with(
            endpoints(fake.port, aws),
            &[("AWS_DEFAULT_REGION", "eu-west-2")],
        ),
        Some(&format!("{HC_KEY}\n{RB_TOKEN}\npiped-id\npiped-secret\n")),
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let env = dotenv(dir.path());
    assert_eq!(env["HONEYCOMB_API_KEY"], HC_KEY);
    assert_eq!(env["ROLLBAR_ACCESS_TOKEN"], RB_TOKEN);
    assert_eq!(env["AWS_ACCESS_KEY_ID"], "piped-id");
    assert_eq!(env["AWS_SECRET_ACCESS_KEY"], "piped-secret");
    assert_eq!(env["AWS_DEFAULT_REGION"], "eu-west-2");

    // A line short: the flag and the variable are named.
    let dir = project("template");
    let o = init(
        dir.path(),
        &["--yes", "--honeycomb-key-stdin", "--rollbar-token-stdin"],
        &endpoints(fake.port, aws),
        Some(&format!("{HC_KEY}\n")),
    );
    assert_eq!(code(&o), 2, "{}", show(&o));
    said(
        &o,
        "--rollbar-token-stdin was given, but stdin has no line for ROLLBAR_ACCESS_TOKEN",
    );
}

#[test]
fn a_rejected_key_names_its_variable_and_nothing_is_stored() {
    let fake = fake("none");
    let rate_limited = common::fake("429");
    let aws = shared_aws();
    let strict_aws = moto(true);
    let cases: Vec<(&str, Env, &str)> = vec![
        (
            "unknown Honeycomb key",
            with(good_env(fake.port, aws), &[("HONEYCOMB_API_KEY", "no-such-key-0000000000")]),
            "HONEYCOMB_API_KEY (from this shell's environment, ****0000): Honeycomb does not know this key",
        ),
        (
            "a key pasted with a space",
            with(
                good_env(fake.port, aws),
                &[("HONEYCOMB_API_KEY", "test-env-ingest-key-000001 extra")],
            ),
            "HONEYCOMB_API_KEY (from this shell's environment, ****xtra): it has a space in it",
        ),
        (
            "configuration key",
            with(good_env(fake.port, aws), &[("HONEYCOMB_API_KEY", "test-config-key-000000001")]),
            "the key lacks the Send Events permission",
        ),
        (
            "Rollbar read token",
            with(good_env(fake.port, aws), &[("ROLLBAR_ACCESS_TOKEN", "test-rollbar-read-token")]),
            "ROLLBAR_ACCESS_TOKEN (from this shell's environment, ****oken): Rollbar says this token cannot post server items",
        ),
        (
            "unknown Rollbar token",
            with(good_env(fake.port, aws), &[("ROLLBAR_ACCESS_TOKEN", "nope-nope")]),
            "Rollbar does not know this token",
        ),
        (
            "Rollbar rate limit",
            with(
                good_env(fake.port, aws),
                &[("O11Y_ROLLBAR_API", &format!("http://127.0.0.1:{}/api/1/", rate_limited.port))],
            ),
            "could not be checked",
        ),
        (
            "AWS keys moto does not know",
            with(
                good_env(fake.port, strict_aws.port),
                &[("AWS_ENDPOINT_URL", &format!("http://127.0.0.1:{}", strict_aws.port))],
            ),
            "AWS does not accept these keys",
        ),
        (
            "a region that is not one",
            with(good_env(fake.port, aws), &[("AWS_DEFAULT_REGION", "virginia")]),
            "the AWS region `virginia` (from this shell's environment) is not a region name",
        ),
    ];
    for (case, env, said) in cases {
        let dir = project("template");
        let before = tree(dir.path());
        let o = init(dir.path(), &["--yes"], &env, None);
        assert_eq!(code(&o), 2, "{case}: {}", show(&o));
        let err = stderr(&o);
        assert!(err.contains(said), "{case}: expected `{said}`\n{err}");
        assert!(err.contains("hint:"), "{case}: no hint\n{err}");
        assert!(!err.contains("panicked"), "{case}\n{err}");
        assert_eq!(tree(dir.path()), before, "{case}: files changed");
        if case == "Rollbar rate limit" {
            assert!(err.contains("--no-verify"), "{err}");
        }
    }
}

#[test]
fn an_eu_key_switches_the_endpoint_and_a_classic_key_is_explained() {
    let us = fake("none");
    let eu = fake_eu();
    let aws = shared_aws();
    let dir = project("template");
    let env = with(
        good_env(us.port, aws),
        &[
            ("HONEYCOMB_API_KEY", "test-eu-ingest-key-0000001"),
            (
                "O11Y_HONEYCOMB_EU_API",
                &format!("http://127.0.0.1:{}", eu.port),
            ),
        ],
    );
    let o = init(
        dir.path(),
        &["--yes", "--only", "honeycomb", "--no-smoke"],
        &env,
        None,
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    said(&o, "This is a Honeycomb EU key: using 127.0.0.1");
    assert_eq!(
        dotenv(dir.path())["OTEL_EXPORTER_OTLP_ENDPOINT"],
        format!("http://127.0.0.1:{}", eu.port)
    );
    let toml = fs::read_to_string(dir.path().join("o11y.toml")).unwrap();
    assert!(toml.contains("integrations = [\"honeycomb\"]"), "{toml}");

    let dir = project("template");
    let env = with(
        good_env(us.port, aws),
        &[("HONEYCOMB_API_KEY", "test-classic-key-00000001")],
    );
    let o = init(dir.path(), &["--yes", "--only", "honeycomb"], &env, None);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let err = stderr(&o);
    assert!(err.contains("a classic key"), "{err}");
    assert!(err.contains("x-honeycomb-dataset"), "{err}");
}

/// A folder with stand-in `gp` and `gh` that log their argv (fields split by \x1f) and stdin.
struct Tools {
    dir: tempfile::TempDir,
}

impl Tools {
    fn new() -> Tools {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().display().to_string();
        let gp = format!(
            "#!/bin/sh\n\
             {{ printf 'gp'; for a in \"$@\"; do printf '\\037%s' \"$a\"; done; printf '\\n'; }} >> '{log}/argv.log'\n\
             if [ \"$1\" = env ] && [ $# -eq 1 ]; then cat '{log}/gp.vars' 2>/dev/null; exit 0; fi\n\
             if [ \"$1\" = env ]; then shift; for a in \"$@\"; do echo \"$a\" >> '{log}/gp.vars'; done; exit 0; fi\n\
             exit 1\n"
        );
        let gh = format!(
            "#!/bin/sh\n\
             {{ printf 'gh'; for a in \"$@\"; do printf '\\037%s' \"$a\"; done; printf '\\n'; }} >> '{log}/argv.log'\n\
             if [ \"$1 $2\" = 'secret set' ]; then {{ printf '%s=' \"$3\"; cat; printf '\\n'; }} >> '{log}/gh.stdin'; exit 0; fi\n\
             exit 1\n"
        );
        for (name, text) in [("gp", gp), ("gh", gh)] {
            let path = dir.path().join(name);
            fs::write(&path, text).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
        Tools { dir }
    }

    fn path(&self) -> String {
        format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap()
        )
    }

    fn calls(&self) -> Vec<Vec<String>> {
        fs::read_to_string(self.dir.path().join("argv.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| l.split('\u{1f}').map(str::to_string).collect())
            .collect()
    }

    fn file(&self, name: &str) -> String {
        fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }
}

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn gitpod_keys_go_to_gp_env_and_to_dotenv() {
    let fake = fake("none");
    let aws = shared_aws();
    let tools = Tools::new();
    let dir = project("template");
    let env = with(
        good_env(fake.port, aws),
        &[("GITPOD_WORKSPACE_ID", "ws-1"), ("PATH", &tools.path())],
    );
    let o = init(
        dir.path(),
        &["--yes", "--only", "honeycomb,rollbar", "--no-smoke"],
        &env,
        None,
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    said(&o, "Working in a Gitpod Classic workspace");
    let sets: Vec<Vec<String>> = tools.calls().into_iter().filter(|c| c.len() > 2).collect();
    assert_eq!(
        sets,
        vec![
            v(&["gp", "env", &format!("HONEYCOMB_API_KEY={HC_KEY}")]),
            v(&["gp", "env", &format!("ROLLBAR_ACCESS_TOKEN={RB_TOKEN}")]),
        ]
    );
    assert_eq!(dotenv(dir.path())["HONEYCOMB_API_KEY"], HC_KEY);
    said(&o, "eval \"$(gp env -e)\"");

    // The next run finds them in Gitpod's variables and sets nothing again.
    fs::remove_file(dir.path().join(".env")).unwrap();
    let env = with(
        endpoints(fake.port, aws),
        &[("GITPOD_WORKSPACE_ID", "ws-1"), ("PATH", &tools.path())],
    );
    let o = init(
        dir.path(),
        &["--yes", "--only", "honeycomb,rollbar", "--no-smoke"],
        &env,
        None,
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(
        tools.calls().iter().filter(|c| c.len() > 2).count(),
        2,
        "{:?}",
        tools.calls()
    );
    said(&o, "already in your Gitpod variables");
}

#[test]
fn codespaces_secrets_get_their_value_on_stdin_never_in_argv() {
    let fake = fake("none");
    let aws = shared_aws();
    let tools = Tools::new();
    let dir = project("template");
    let env = with(
        good_env(fake.port, aws),
        &[
            ("CODESPACES", "true"),
            ("GITHUB_REPOSITORY", "ann/aws-bootcamp-cruddur-2023"),
            ("PATH", &tools.path()),
            ("AWS_SECRET_ACCESS_KEY", "codespaces-aws-secret-0042"),
        ],
    );
    let o = init(dir.path(), &["--yes", "--no-smoke"], &env, None);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let calls = tools.calls();
    let names = [
        "HONEYCOMB_API_KEY",
        "ROLLBAR_ACCESS_TOKEN",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ];
    let expected: Vec<Vec<String>> = names
        .iter()
        .map(|n| {
            v(&[
                "gh",
                "secret",
                "set",
                n,
                "--app",
                "codespaces",
                "--user",
                "--repos",
                "ann/aws-bootcamp-cruddur-2023",
            ])
        })
        .collect();
    assert_eq!(calls, expected);
    for secret in [HC_KEY, RB_TOKEN, "codespaces-aws-secret-0042"] {
        assert!(
            !tools.file("argv.log").contains(secret),
            "a secret in gh's argv"
        );
        assert!(
            tools.file("gh.stdin").contains(secret),
            "{}",
            tools.file("gh.stdin")
        );
    }
    assert!(tools
        .file("gh.stdin")
        .contains(&format!("HONEYCOMB_API_KEY={HC_KEY}\n")));
    assert_eq!(
        dotenv(dir.path())["AWS_SECRET_ACCESS_KEY"],
        "codespaces-aws-secret-0042"
    );
}

#[test]
fn a_tracked_dotenv_is_refused_with_the_fix() {
    if !require("git") {
        return;
    }
    let fake = fake("none");
    let aws = shared_aws();
    let dir = project("template");
    fs::write(dir.path().join(".env"), "DB=x\n").unwrap();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .current_dir(dir.path())
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "week 1"]);
    let before = tree(dir.path());
    let o = init(dir.path(), &["--yes"], &good_env(fake.port, aws), None);
    assert_eq!(code(&o), 2, "{}", show(&o));
    let err = stderr(&o);
    assert!(err.contains(".env is tracked by git"), "{err}");
    assert!(err.contains("git rm --cached .env"), "{err}");
    let mut after = tree(dir.path());
    after.retain(|k, _| !k.starts_with(".git/"));
    let mut before = before;
    before.retain(|k, _| !k.starts_with(".git/"));
    assert_eq!(after, before);
}

#[test]
fn print_shows_masked_lines_and_reveals_only_when_asked() {
    let fake = fake("none");
    let aws = shared_aws();
    let dir = project("template");
    let args = [
        "--yes",
        "--no-smoke",
        "--store",
        "print",
        "--only",
        "honeycomb",
    ];
    let o = init(dir.path(), &args, &good_env(fake.port, aws), None);
    assert_eq!(code(&o), 0, "{}", show(&o));
    said(&o, "export HONEYCOMB_API_KEY=****0001");
    assert!(!stdout(&o).contains(HC_KEY) && !stderr(&o).contains(HC_KEY));
    said(&o, "--store print --reveal");
    assert!(!dir.path().join(".env").exists());

    // --reveal: stdout holds the export lines and nothing else, ready for `eval`.
    let dir = project("template");
    let mut args = args.to_vec();
    args.retain(|a| *a != "--no-smoke");
    args.push("--reveal");
    let o = init(dir.path(), &args, &good_env(fake.port, aws), None);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(
        stdout(&o),
        format!("export HONEYCOMB_API_KEY='{HC_KEY}'\n"),
        "{}",
        show(&o)
    );
    // The smoke lines, data elsewhere, go to stderr with it.
    said(&o, "see it: https://ui.honeycomb.io");
}

#[test]
fn dry_run_and_local_mode() {
    let fake = fake("none");
    let aws = shared_aws();
    let dir = project("template");
    let before = tree(dir.path());
    let o = init(dir.path(), &["--dry-run"], &good_env(fake.port, aws), None);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(
        stdout(&o).contains("+++ b/backend-flask/app.py"),
        "{}",
        show(&o)
    );
    said(&o, "nothing was stored or changed");
    assert_eq!(tree(dir.path()), before);

    // Local mode needs no key at all.
    let o = init(dir.path(), &["--local", "--yes"], &[], None);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let env = dotenv(dir.path());
    assert_eq!(
        env["OTEL_EXPORTER_OTLP_ENDPOINT"],
        "http://host.docker.internal:4318"
    );
    said(&o, "o11y listen");

    // Then real keys: local mode's block goes, the keys come.
    let o = init(
        dir.path(),
        &["--yes", "--no-smoke"],
        &good_env(fake.port, aws),
        None,
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let env = dotenv(dir.path());
    assert!(!env.contains_key("OTEL_EXPORTER_OTLP_ENDPOINT"), "{env:?}");
    assert_eq!(env["HONEYCOMB_API_KEY"], HC_KEY);
    said(&o, "left local mode");
}

/// Everything under `root`, as text, but the files that are the store.
fn texts_but_store(root: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for (rel, bytes) in tree(root) {
        if rel == ".env" {
            continue;
        }
        out.push((root.join(&rel), String::from_utf8_lossy(&bytes).to_string()));
    }
    // o11y's state folder too, but the .env backups: the store's previous version, and the
    // copies an apply keeps of .env for `undo` (mode 0600, like .env itself).
    let state = root.join(".o11y");
    if state.is_dir() {
        for (rel, bytes) in tree(&state) {
            let env_copy =
                rel == "env.bak" || (rel.starts_with("backups/") && rel.ends_with("/.env"));
            if env_copy {
                let mode = fs::metadata(state.join(&rel)).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{rel} is readable by others");
            } else {
                out.push((
                    state.join(&rel),
                    String::from_utf8_lossy(&bytes).to_string(),
                ));
            }
        }
    }
    out
}

#[test]
fn no_secret_leaks_from_any_command() {
    let fake = fake("none");
    let aws = shared_aws();
    let tools = Tools::new();
    let aws_id = "LEAKCHECKKEYID000042";
    let aws_secret = "leak-check-aws-secret-value-7f3e";
    let secrets = [HC_KEY, RB_TOKEN, aws_id, aws_secret];
    let base = with(
        good_env(fake.port, aws),
        &[
            ("AWS_ACCESS_KEY_ID", aws_id),
            ("AWS_SECRET_ACCESS_KEY", aws_secret),
            ("PATH", &tools.path()),
            ("GITHUB_REPOSITORY", "ann/cruddur"),
        ],
    );
    let dir = project("template");
    let mut outputs: Vec<(String, Output)> = Vec::new();
    for (store, extra) in [
        ("dotenv", vec![]),
        ("gitpod", vec![("GITPOD_WORKSPACE_ID", "ws")]),
        ("codespaces", vec![("CODESPACES", "true")]),
        ("print", vec![]),
    ] {
        let o = init(
            dir.path(),
            &["--yes", "-vv", "--store", store],
            &with(base.clone(), &extra),
            None,
        );
        assert_eq!(code(&o), 0, "init --store {store}: {}", show(&o));
        outputs.push((format!("init --store {store}"), o));
    }
    // Wrong keys and failures print the most about a key.
    let o = init(
        dir.path(),
        &["--yes", "-vv"],
        &with(
            base.clone(),
            &[("HONEYCOMB_API_KEY", "leak-check-wrong-honeycomb-key")],
        ),
        None,
    );
    assert_eq!(code(&o), 2);
    outputs.push(("init with a wrong key".into(), o));
    for (cmd, args) in [
        ("doctor", vec!["-vv"]),
        ("doctor", vec!["-vv", "--json"]),
        ("smoke", vec!["-vv"]),
        ("smoke", vec!["-vv", "--json"]),
        ("plan", vec!["-vv"]),
        ("apply", vec!["-vv", "--yes"]),
        ("apply", vec!["-vv", "--local", "--yes"]),
        ("apply", vec!["-vv", "--cloud", "--yes"]),
    ] {
        let o = run_clean(dir.path(), cmd, &args, &base);
        outputs.push((format!("{cmd} {args:?}"), o));
    }
    let all: Vec<&str> = secrets
        .iter()
        .copied()
        .chain(["leak-check-wrong-honeycomb-key"])
        .collect();
    for (what, o) in &outputs {
        for s in &all {
            assert!(
                !stdout(o).contains(s),
                "{what} printed a secret on stdout:\n{}",
                stdout(o)
            );
            assert!(
                !stderr(o).contains(s),
                "{what} printed a secret on stderr:\n{}",
                stderr(o)
            );
        }
    }
    for (path, text) in texts_but_store(dir.path()) {
        for s in &all {
            assert!(!text.contains(s), "a secret in {}", path.display());
        }
    }
    let argv = tools.file("argv.log");
    assert!(argv.contains("gh\u{1f}secret"), "{argv}");
    for line in argv.lines().filter(|l| l.starts_with("gh")) {
        for s in &all {
            assert!(!line.contains(s), "a secret in gh's argv: {line}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// The wizard at a real terminal.

fn spawn_in_pty(dir: &Path, env: &[(&str, String)], args: &[&str]) -> expectrl::session::OsSession {
    let mut cmd = clean_command(dir, dir, "init", args, env);
    cmd.env("TERM", "xterm");
    let mut s = expectrl::Session::spawn(cmd).expect("a pseudo-terminal");
    s.set_expect_timeout(Some(Duration::from_secs(30)));
    s
}

fn expect(s: &mut expectrl::session::OsSession, text: &str, seen: &mut String) {
    use expectrl::Expect;
    match s.expect(text) {
        Ok(c) => {
            seen.push_str(&String::from_utf8_lossy(c.before()));
            seen.push_str(text);
        }
        Err(e) => panic!("waiting for `{text}`: {e}\nso far:\n{seen}"),
    }
}

/// Waits for a question, then a moment more: a password prompt flushes what was typed before
/// it turned echo off, as a terminal does.
fn question(s: &mut expectrl::session::OsSession, text: &str, seen: &mut String) {
    expect(s, text, seen);
    if !text.ends_with('?') && (text.contains("key") || text.contains("token")) {
        expect(s, "(input hidden): ", seen);
    }
    std::thread::sleep(Duration::from_millis(700));
}

#[test]
fn the_wizard_in_a_terminal_asks_again_after_a_wrong_key() {
    use expectrl::Expect;
    let fake = fake("none");
    let aws = shared_aws();
    let dir = project("template");
    // AWS keys come from the environment; the two others are typed.
    let env = with(
        endpoints(fake.port, aws),
        &[
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ],
    );
    let mut s = spawn_in_pty(dir.path(), &env, &["--no-smoke"]);
    let mut seen = String::new();
    question(&mut s, "Which integrations?", &mut seen);
    // Down twice to CloudWatch Logs, switch it off, go on.
    s.send("jj ").unwrap();
    s.send("\r").unwrap();
    question(&mut s, "Honeycomb API key", &mut seen);
    s.send("typo-key-12345\r").unwrap();
    expect(&mut s, "Honeycomb does not know this key", &mut seen);
    expect(&mut s, "2 of 3 tries left", &mut seen);
    question(&mut s, "Honeycomb API key", &mut seen);
    s.send(format!("{HC_KEY}\r")).unwrap();
    expect(&mut s, "Honeycomb key OK: team Acme", &mut seen);
    question(&mut s, "Rollbar access token", &mut seen);
    s.send("test-rollbar-read-token\r").unwrap();
    expect(&mut s, "cannot post server items", &mut seen);
    question(&mut s, "Rollbar access token", &mut seen);
    s.send(format!("{RB_TOKEN}\r")).unwrap();
    expect(&mut s, "Rollbar token OK", &mut seen);
    expect(&mut s, "AWS: account 1234", &mut seen);
    question(&mut s, "Apply these changes and store the keys?", &mut seen);
    s.send("y").unwrap();
    expect(&mut s, "o11y init is done", &mut seen);
    let _ = s.expect(expectrl::Eof);
    assert!(
        !seen.contains("typo-key-12345"),
        "a typed key was echoed:\n{seen}"
    );
    assert!(!seen.contains(HC_KEY), "a typed key was echoed:\n{seen}");

    let env = dotenv(dir.path());
    assert_eq!(env["HONEYCOMB_API_KEY"], HC_KEY);
    assert_eq!(env["ROLLBAR_ACCESS_TOKEN"], RB_TOKEN);
    let toml = fs::read_to_string(dir.path().join("o11y.toml")).unwrap();
    assert!(
        toml.contains("integrations = [\"honeycomb\", \"xray\", \"rollbar\"]"),
        "{toml}"
    );
    let app = fs::read_to_string(dir.path().join("backend-flask/app.py")).unwrap();
    assert!(
        !app.contains("watchtower"),
        "CloudWatch was switched off:\n{app}"
    );
    assert!(app.contains("rollbar"), "{app}");
}

#[test]
fn the_wizard_asks_for_aws_keys_and_region_when_nothing_has_them() {
    use expectrl::Expect;
    let fake = fake("none");
    let aws = shared_aws();
    let dir = project("template");
    let env = with(
        endpoints(fake.port, aws),
        &[
            ("HONEYCOMB_API_KEY", HC_KEY),
            ("ROLLBAR_ACCESS_TOKEN", RB_TOKEN),
        ],
    );
    let mut s = spawn_in_pty(dir.path(), &env, &["--no-smoke", "--only", "xray"]);
    let mut seen = String::new();
    question(&mut s, "AWS region", &mut seen);
    s.send("virginia\r").unwrap();
    expect(&mut s, "is not a region name", &mut seen);
    question(&mut s, "AWS region", &mut seen);
    s.send("\r").unwrap(); // the default, us-east-1
    question(&mut s, "AWS access key ID", &mut seen);
    s.send("typed-key-id\r").unwrap();
    question(&mut s, "AWS secret access key", &mut seen);
    s.send("typed-secret-value\r").unwrap();
    expect(&mut s, "AWS: account 1234", &mut seen);
    question(&mut s, "Apply these changes and store the keys?", &mut seen);
    s.send("y").unwrap();
    expect(&mut s, "o11y init is done", &mut seen);
    let _ = s.expect(expectrl::Eof);
    assert!(!seen.contains("typed-secret-value"), "{seen}");
    let env = dotenv(dir.path());
    assert_eq!(env["AWS_DEFAULT_REGION"], "us-east-1");
    assert_eq!(env["AWS_ACCESS_KEY_ID"], "typed-key-id");
    assert_eq!(env["AWS_SECRET_ACCESS_KEY"], "typed-secret-value");
    assert!(!env.contains_key("HONEYCOMB_API_KEY"), "{env:?}");
}

#[test]
fn a_failing_store_is_named_without_the_value_and_bad_flags_are_refused() {
    let fake = fake("none");
    let aws = shared_aws();
    let tools = Tools::new();
    // A `gp` that fails, and repeats its argument (the value) in its error, as CLIs do.
    let gp = tools.dir.path().join("gp");
    fs::write(
        &gp,
        "#!/bin/sh\nif [ $# -eq 1 ]; then exit 0; fi\necho \"gp: cannot set $2: not logged in\" >&2\nexit 1\n",
    )
    .unwrap();
    let dir = project("template");
    let before = tree(dir.path());
    let env = with(
        good_env(fake.port, aws),
        &[("GITPOD_WORKSPACE_ID", "ws-1"), ("PATH", &tools.path())],
    );
    let o = init(dir.path(), &["--yes", "--only", "honeycomb"], &env, None);
    assert_eq!(code(&o), 2, "{}", show(&o));
    let err = stderr(&o);
    assert!(err.contains("storing the keys failed: `gp env HONEYCOMB_API_KEY=****0001` failed: exit 1: gp: cannot set HONEYCOMB_API_KEY=****0001: not logged in"), "{err}");
    assert!(err.contains("the keys are in .env"), "{err}");
    assert!(err.contains("--store dotenv"), "{err}");
    assert!(!err.contains(HC_KEY), "{err}");
    // This workspace has the key; no file was patched.
    assert_eq!(dotenv(dir.path())["HONEYCOMB_API_KEY"], HC_KEY);
    let mut after = tree(dir.path());
    after.retain(|k, _| k != ".env" && k != ".gitignore");
    let mut before = before;
    before.retain(|k, _| k != ".gitignore");
    assert_eq!(after, before);
    fs::remove_file(dir.path().join(".env")).unwrap();
    let before = tree(dir.path());

    // A .env o11y cannot read is left alone, and nothing is asked.
    fs::write(dir.path().join(".env"), b"DB=\xff\xfe secret\n").unwrap();
    let o = init(dir.path(), &["--yes"], &good_env(fake.port, aws), None);
    assert_eq!(code(&o), 2, "{}", show(&o));
    said(
        &o,
        "cannot read .env: it is not UTF-8 text; nothing was asked, stored or changed",
    );
    assert_eq!(
        fs::read(dir.path().join(".env")).unwrap(),
        b"DB=\xff\xfe secret\n"
    );
    fs::remove_file(dir.path().join(".env")).unwrap();

    // A key never travels unencrypted to another machine.
    let o = init(
        dir.path(),
        &["--yes"],
        &with(
            good_env(fake.port, aws),
            &[("O11Y_HONEYCOMB_API", "http://honeycomb.example.com")],
        ),
        None,
    );
    assert_eq!(code(&o), 2, "{}", show(&o));
    said(&o, "would travel unencrypted");

    for (args, said) in [
        (vec!["--reveal"], "--reveal only goes with --store print"),
        (vec!["--store", "vault"], "invalid value 'vault'"),
        (vec!["--only", "datadog"], "invalid value 'datadog'"),
        (vec!["--timeout", "inf"], "out of range"),
        (vec!["--timeout", "0"], "out of range"),
    ] {
        let o = init(dir.path(), &args, &[], None);
        assert_eq!(code(&o), 2, "{args:?}: {}", show(&o));
        assert!(stderr(&o).contains(said), "{args:?}: {}", show(&o));
    }
    assert_eq!(tree(dir.path()), before);
}

#[test]
fn gitpod_without_gp_says_so_and_keeps_the_keys_in_dotenv() {
    if have("gp") {
        say("note: `gp` is installed here, so the test of Gitpod without `gp` is skipped");
        return;
    }
    let fake = fake("none");
    let aws = shared_aws();
    let dir = project("template");
    let env = with(good_env(fake.port, aws), &[("GITPOD_WORKSPACE_ID", "ws-1")]);
    let o = init(
        dir.path(),
        &["--yes", "--no-smoke", "--only", "rollbar"],
        &env,
        None,
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let err = stderr(&o);
    assert!(err.contains("`gp` not found"), "{err}");
    assert!(err.contains("keys go to .env only"), "{err}");
    assert_eq!(dotenv(dir.path())["ROLLBAR_ACCESS_TOKEN"], RB_TOKEN);
}

#[test]
fn a_stdin_flag_at_a_terminal_is_refused_before_anything_is_typed() {
    use expectrl::Expect;
    let dir = project("template");
    let mut s = spawn_in_pty(dir.path(), &[], &["--honeycomb-key-stdin", "--no-smoke"]);
    s.set_expect_timeout(Some(Duration::from_secs(20)));
    let mut seen = String::new();
    question(&mut s, "Which integrations?", &mut seen);
    s.send("\r").unwrap();
    expect(
        &mut s,
        "reads from a pipe, but stdin is this terminal",
        &mut seen,
    );
    assert!(!dir.path().join(".env").exists());
}
