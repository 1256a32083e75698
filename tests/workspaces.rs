//! Today's workspaces: the current Gitpod (Ona), Gitpod Classic, Codespaces and a plain machine.
//! Keys go where each keeps them (stand-in `ona` and `gp` CLIs built from their documented
//! commands, tests/support/workspace_cli.py), start tasks install o11y and run it (the install
//! script run for real against a local release server), automations files keep every byte of
//! their own, and the current Gitpod's backend URLs are named and fixed on request.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::*;

const HC_KEY: &str = "test-env-ingest-key-000001";
const RB_TOKEN: &str = "test-rollbar-post-server-token";
const ENV_ID: &str = "01990000-aaaa-7bbb-8ccc-000000000001";

/// A folder on PATH with the stand-in CLIs, named as each workspace has them.
struct Clis {
    dir: tempfile::TempDir,
}

impl Clis {
    fn new(names: &[&str]) -> Clis {
        let dir = tempfile::tempdir().unwrap();
        let script = repo().join("tests/support/workspace_cli.py");
        for name in names {
            let path = dir.path().join(name);
            fs::write(
                &path,
                format!(
                    "#!/bin/sh\nexec python3 '{}' --as {name} \"$@\"\n",
                    script.display()
                ),
            )
            .unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
        Clis { dir }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state.json")
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "PATH",
                format!(
                    "{}:{}",
                    self.dir.path().display(),
                    std::env::var("PATH").unwrap()
                ),
            ),
            ("WORKSPACE_CLI_STATE", self.state().display().to_string()),
        ]
    }

    /// Every call, as argv lists.
    fn calls(&self) -> Vec<Vec<String>> {
        fs::read_to_string(format!("{}.argv", self.state().display()))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn secrets(&self) -> BTreeMap<String, String> {
        let state: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(self.state()).unwrap_or("{}".into())).unwrap();
        state["secrets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_string(),
                    s["value"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

fn show(o: &Output) -> String {
    format!(
        "exit {}\nstdout:\n{}\nstderr:\n{}",
        code(o),
        stdout(o),
        stderr(o)
    )
}

fn o11y(dir: &Path, command: &str, args: &[&str], env: &[(&str, String)]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = clean_command(dir, home.path(), command, args, env);
    cmd.stdin(Stdio::null());
    cmd.output().unwrap()
}

fn env_of(parts: &[Vec<(&'static str, String)>]) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for p in parts {
        for (k, v) in p {
            out.retain(|(e, _)| e != k);
            out.push((k, v.clone()));
        }
    }
    out
}

fn dotenv(dir: &Path) -> BTreeMap<String, String> {
    fs::read_to_string(dir.join(".env"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn current_gitpod() -> Vec<(&'static str, String)> {
    vec![("GITPOD_ENVIRONMENT_ID", ENV_ID.to_string())]
}

#[test]
fn the_current_gitpod_keeps_keys_as_user_secrets_passed_in_a_file_never_in_argv() {
    let fake = fake("none");
    let aws = shared_aws();
    let clis = Clis::new(&["ona"]);
    let dir = project("template");
    let env = env_of(&[good_env(fake.port, aws), clis.env(), current_gitpod()]);
    let args = ["--yes", "--only", "honeycomb,rollbar", "--no-smoke"];
    let o = o11y(dir.path(), "init", &args, &env);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let err = stderr(&o);
    assert!(
        err.contains("Working in a Gitpod environment (the current Gitpod, Ona)"),
        "{err}"
    );
    assert!(err.contains("your Gitpod user secrets and .env"), "{err}");
    assert!(
        err.contains("every environment you start from now on"),
        "{err}"
    );
    assert!(err.contains("only after a restart"), "{err}");
    assert_eq!(
        clis.secrets(),
        BTreeMap::from([
            ("HONEYCOMB_API_KEY".to_string(), HC_KEY.to_string()),
            ("ROLLBAR_ACCESS_TOKEN".to_string(), RB_TOKEN.to_string()),
        ])
    );
    // Created as environment variables, each value from a file that is gone again.
    let creates: Vec<Vec<String>> = clis
        .calls()
        .into_iter()
        .filter(|c| {
            c.get(3).map(String::as_str) == Some("create") && !c.contains(&"--help".to_string())
        })
        .collect();
    assert_eq!(creates.len(), 2, "{creates:?}");
    for c in &creates {
        assert!(c.contains(&"--env-var".to_string()), "{c:?}");
        assert!(c.contains(&"--value-from-file".to_string()), "{c:?}");
        let file = &c[c.iter().position(|a| a == "--value-from-file").unwrap() + 1];
        assert!(!Path::new(file).exists(), "{file} was left behind");
        assert!(file.contains("/.o11y/tmp/"), "{file}");
    }
    let argv = fs::read_to_string(format!("{}.argv", clis.state().display())).unwrap();
    assert!(
        !argv.contains(HC_KEY) && !argv.contains(RB_TOKEN),
        "a key in argv:\n{argv}"
    );
    assert!(!format!("{}{}", stdout(&o), err).contains(HC_KEY));
    assert_eq!(dotenv(dir.path())["HONEYCOMB_API_KEY"], HC_KEY);

    // A new key for an existing secret is an update of that secret, by its id.
    let env = env_of(&[
        env,
        vec![("HONEYCOMB_API_KEY", "test-config-send-key-0001".to_string())],
    ]);
    let o = o11y(dir.path(), "init", &args, &env);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(
        clis.secrets()["HONEYCOMB_API_KEY"],
        "test-config-send-key-0001"
    );
    assert_eq!(clis.secrets().len(), 2);
    assert!(clis
        .calls()
        .iter()
        .any(|c| c.get(3).map(String::as_str) == Some("update")));
}

#[test]
fn the_current_gitpod_keeps_keys_in_dotenv_when_its_cli_would_need_argv_or_a_login() {
    let fake = fake("none");
    let aws = shared_aws();
    let args = ["--yes", "--only", "honeycomb", "--no-smoke"];
    for (switch, why) in [
        ("WORKSPACE_CLI_NO_FILE_FLAG", "no --value-from-file"),
        ("WORKSPACE_CLI_PRINCIPAL", "not logged in"),
    ] {
        let clis = Clis::new(&["ona"]);
        let dir = project("template");
        let value = if switch == "WORKSPACE_CLI_PRINCIPAL" {
            "environment"
        } else {
            "1"
        };
        let env = env_of(&[
            good_env(fake.port, aws),
            clis.env(),
            current_gitpod(),
            vec![(switch, value.to_string())],
        ]);
        let o = o11y(dir.path(), "init", &args, &env);
        assert_eq!(code(&o), 0, "{why}: {}", show(&o));
        let err = stderr(&o);
        assert!(
            err.contains("Keys go to .env, which lasts as long as this environment"),
            "{why}: {err}"
        );
        assert!(err.contains("`ona login`"), "{why}: {err}");
        assert!(clis.secrets().is_empty(), "{why}");
        assert_eq!(dotenv(dir.path())["HONEYCOMB_API_KEY"], HC_KEY, "{why}");
    }
    // Chosen anyway while not logged in: refused before any key is asked, naming the login.
    let clis = Clis::new(&["ona"]);
    let dir = project("template");
    let env = env_of(&[
        good_env(fake.port, aws),
        clis.env(),
        current_gitpod(),
        vec![("WORKSPACE_CLI_PRINCIPAL", "environment".to_string())],
    ]);
    let o = o11y(
        dir.path(),
        "init",
        &[
            "--store",
            "gitpod",
            "--yes",
            "--only",
            "honeycomb",
            "--no-smoke",
        ],
        &env,
    );
    assert_eq!(code(&o), 2, "{}", show(&o));
    let err = stderr(&o);
    assert!(
        err.contains("nothing was asked, stored or changed"),
        "{err}"
    );
    assert!(err.contains("ona login"), "{err}");
    assert!(!dir.path().join(".env").exists());
}

#[test]
fn gitpod_classic_keys_go_to_gp_env_as_its_source_prints_them() {
    let fake = fake("none");
    let aws = shared_aws();
    let clis = Clis::new(&["gp"]);
    let dir = project("template");
    let env = env_of(&[
        good_env(fake.port, aws),
        clis.env(),
        vec![("GITPOD_WORKSPACE_ID", "ws-1".to_string())],
    ]);
    let o = o11y(
        dir.path(),
        "init",
        &["--yes", "--only", "rollbar", "--no-smoke"],
        &env,
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(
        stderr(&o).contains("Working in a Gitpod Classic workspace"),
        "{}",
        show(&o)
    );
    let state: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(clis.state()).unwrap()).unwrap();
    assert_eq!(state["gp"]["ROLLBAR_ACCESS_TOKEN"], RB_TOKEN);
    // A second run reads them back from `gp env` and sets nothing again.
    fs::remove_file(dir.path().join(".env")).unwrap();
    let env: Vec<_> = env
        .into_iter()
        .filter(|(k, _)| *k != "ROLLBAR_ACCESS_TOKEN")
        .collect();
    let o = o11y(
        dir.path(),
        "init",
        &["--yes", "--only", "rollbar", "--no-smoke"],
        &env,
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(
        stderr(&o).contains("already in your Gitpod variables"),
        "{}",
        show(&o)
    );
}

#[test]
fn doctor_names_the_workspace_and_a_missing_cli() {
    let dir = project("template");
    let empty = tempfile::tempdir().unwrap();
    let bare_path = vec![("PATH", format!("{}:/usr/bin:/bin", empty.path().display()))];
    for (vars, want) in [
        (current_gitpod(), "the current Gitpod"),
        (
            vec![("GITPOD_WORKSPACE_ID", "ws-1".to_string())],
            "Gitpod Classic",
        ),
        (vec![("CODESPACES", "true".to_string())], "GitHub Codespace"),
    ] {
        let env = env_of(&[bare_path.clone(), vars]);
        let o = o11y(
            dir.path(),
            "doctor",
            &["--only", "tools.workspace", "--json"],
            &env,
        );
        let report: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", show(&o)));
        let check = &report["checks"][0];
        assert_eq!(check["status"], "warn", "{want}: {check}");
        let reason = check["reason"].as_str().unwrap();
        assert!(reason.contains(want), "{reason}");
        assert!(reason.contains("is not on PATH"), "{reason}");
        assert!(
            check["fix"]
                .as_str()
                .unwrap()
                .contains("keys go to .env only"),
            "{check}"
        );
    }
    let clis = Clis::new(&["ona"]);
    let env = env_of(&[clis.env(), current_gitpod()]);
    let o = o11y(
        dir.path(),
        "doctor",
        &["--only", "tools.workspace", "--json"],
        &env,
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["checks"][0]["status"], "ok", "{report}");
    assert!(report["checks"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("`ona` found"));
}

const AUTOMATIONS: &str = "# Start-up work of this repository's environments\nservices:\n  postgres:\n    name: PostgreSQL # the database\n    commands:\n      start: docker compose up db\n    triggeredBy:\n      - postDevcontainerStart\n\ntasks:\n  npm:\n    name: npm install\n    command: |\n      cd frontend-react-js\n      npm install\n    triggeredBy:\n      - postDevcontainerStart\n# keep this comment\n";

#[test]
fn an_automations_file_keeps_its_own_bytes_and_undo_and_disable_are_exact() {
    let dir = project("template");
    fs::create_dir_all(dir.path().join(".gitpod")).unwrap();
    let file = dir.path().join(".gitpod/automations.yaml");
    fs::write(&file, AUTOMATIONS).unwrap();
    let before = tree(dir.path());
    run_ok(dir.path(), &["apply", "--yes"], 0);
    let after = fs::read_to_string(&file).unwrap();
    let ours = "  o11y:\n    name: o11y doctor\n    description: Installs o11y if this environment has none, then checks every integration (files, secrets, services)\n    triggeredBy:\n      - postDevcontainerStart\n    command: sh bin/install-o11y doctor\n";
    assert_eq!(after.replacen(ours, "", 1), AUTOMATIONS, "{after}");
    assert!(
        after.contains(&format!(
            "      - postDevcontainerStart\n{ours}# keep this comment\n"
        )),
        "{after}"
    );
    assert!(dir.path().join("bin/install-o11y").is_file());
    // A second apply changes nothing; disabling one integration leaves the task alone.
    run_ok(dir.path(), &["plan"], 0);
    run_ok(dir.path(), &["disable", "--yes", "rollbar"], 0);
    assert_eq!(fs::read_to_string(&file).unwrap(), after);
    run_ok(dir.path(), &["undo"], 0);
    run_ok(dir.path(), &["undo"], 0);
    assert_eq!(tree(dir.path()), before);
    // Newer projects keep it in .ona/: that one is edited, and no second file is made.
    let dir = project("template");
    fs::create_dir_all(dir.path().join(".ona")).unwrap();
    fs::write(dir.path().join(".ona/automations.yaml"), AUTOMATIONS).unwrap();
    run_ok(dir.path(), &["apply", "--yes"], 0);
    assert!(fs::read_to_string(dir.path().join(".ona/automations.yaml"))
        .unwrap()
        .contains(ours));
    assert!(!dir.path().join(".gitpod/automations.yaml").exists());
}

#[test]
fn a_project_set_up_for_a_workspace_gets_a_start_task_a_plain_one_does_not() {
    // The template has a .gitpod.yml: the current Gitpod's file is created beside it.
    let dir = project("template");
    run_ok(dir.path(), &["apply", "--yes"], 0);
    let created = fs::read_to_string(dir.path().join(".gitpod/automations.yaml")).unwrap();
    assert!(created.starts_with("tasks:\n  o11y:\n"), "{created}");
    let gitpod = fs::read_to_string(dir.path().join(".gitpod.yml")).unwrap();
    assert!(
        gitpod.contains("command: sh bin/install-o11y doctor"),
        "{gitpod}"
    );
    assert!(!gitpod.contains("pip install"), "{gitpod}");
    // A project with no workspace file gets none.
    let dir = project("template");
    fs::remove_file(dir.path().join(".gitpod.yml")).unwrap();
    run_ok(dir.path(), &["apply", "--yes"], 0);
    assert!(!dir.path().join(".gitpod").exists());
    assert!(!dir.path().join("bin/install-o11y").exists());
}

/// A local release server: the release's tarball of the o11y under test with its .sha256,
/// and PyPI's JSON API (python's http.server, a real static server). PyPI answers 404 for a
/// project or version it does not have (https://docs.pypi.org/api/json/); a GitHub release
/// serves each asset at `releases/download/vVERSION/NAME`.
struct Release {
    root: tempfile::TempDir,
    server: std::process::Child,
    port: u16,
}

impl Release {
    fn new() -> Release {
        let root = tempfile::tempdir().unwrap();
        let port = free_port();
        let server = Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .current_dir(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let up = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(up.elapsed().as_secs() < 20, "http.server did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Release { root, server, port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    /// Publishes o11y's binary as release asset `o11y-VERSION-TARGET.tar.gz`, with a .sha256
    /// (`tampered`: one that does not match).
    fn publish_binary(&self, tampered: bool) {
        let version = env!("CARGO_PKG_VERSION");
        let target = "x86_64-unknown-linux-gnu";
        let name = format!("o11y-{version}-{target}");
        let dir = self.root.path().join("download");
        let stage = tempfile::tempdir().unwrap();
        fs::create_dir_all(stage.path().join(&name)).unwrap();
        fs::copy(
            assert_cmd::cargo::cargo_bin("o11y"),
            stage.path().join(&name).join("o11y"),
        )
        .unwrap();
        fs::create_dir_all(&dir).unwrap();
        let tar = dir.join(format!("{name}.tar.gz"));
        assert!(Command::new("tar")
            .arg("-C")
            .arg(stage.path())
            .arg("-czf")
            .arg(&tar)
            .arg(&name)
            .status()
            .unwrap()
            .success());
        let sum = Command::new("sha256sum").arg(&tar).output().unwrap();
        let mut hash = String::from_utf8_lossy(&sum.stdout)
            .split(' ')
            .next()
            .unwrap()
            .to_string();
        if tampered {
            hash = hash.replace(&hash[..1], if hash.starts_with('0') { "1" } else { "0" });
        }
        fs::write(
            dir.join(format!("{name}.tar.gz.sha256")),
            format!("{hash}  {name}.tar.gz\n"),
        )
        .unwrap();
    }

    fn publish_on_pypi(&self) {
        let dir = self
            .root
            .path()
            .join(format!("pypi/cruddur-o11y/{}", env!("CARGO_PKG_VERSION")));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("json"), r#"{"info": {"name": "cruddur-o11y"}}"#).unwrap();
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Runs the project's bin/install-o11y with a fresh HOME, pip pointed at the local server
/// (which has no package index) and the release at it too.
fn install(dir: &Path, release: &Release, args: &[&str]) -> (Output, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let o = Command::new("sh")
        .arg(dir.join("bin/install-o11y"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home.path())
        .env("O11Y_PYPI_INDEX", release.url("simple/"))
        .env("O11Y_RELEASE_URL", release.url("download"))
        .output()
        .unwrap();
    (o, home)
}

#[test]
fn the_start_task_installs_o11y_from_the_release_checked_and_says_when_it_cannot() {
    if std::env::consts::ARCH != "x86_64" {
        say("note: the release server serves an x86_64 binary, so the install script's run is skipped on this machine");
        return;
    }
    if !require("python3") || !require("sha256sum") || !require("curl") {
        return;
    }
    let dir = project("template");
    run_ok(dir.path(), &["apply", "--yes"], 0);
    // Nothing reachable: said, and nothing installed.
    let release = Release::new();
    let (o, home) = install(dir.path(), &release, &["--version"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert!(stderr(&o).contains("neither PyPI"), "{}", show(&o));
    assert!(!home.path().join(".local/bin/o11y").exists());
    // A release whose checksum does not match: refused.
    release.publish_binary(true);
    let (o, home) = install(dir.path(), &release, &["--version"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert!(
        stderr(&o).contains("does not match its .sha256"),
        "{}",
        show(&o)
    );
    assert!(!home.path().join(".local/bin/o11y").exists());
    // The real release: installed into ~/.local/bin, then run with the arguments given.
    release.publish_binary(false);
    let (o, home) = install(dir.path(), &release, &["--version"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(stdout(&o).starts_with("o11y "), "{}", show(&o));
    assert!(home.path().join(".local/bin/o11y").is_file());
}

#[test]
fn doctor_says_whether_the_start_tasks_install_works_here() {
    let dir = project("template");
    run_ok(dir.path(), &["apply", "--yes"], 0);
    let release = Release::new();
    let clis = Clis::new(&["ona"]);
    let env = env_of(&[
        clis.env(),
        current_gitpod(),
        vec![
            ("O11Y_PYPI_API", release.url("")),
            ("O11Y_RELEASE_URL", release.url("download")),
        ],
    ]);
    let check = |env: &[(&str, String)]| -> serde_json::Value {
        let o = o11y(
            dir.path(),
            "doctor",
            &["--only", "project.workspace", "--json"],
            env,
        );
        let report: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", show(&o)));
        report["checks"][0].clone()
    };
    let c = check(&env);
    assert_eq!(c["status"], "warn", "{c}");
    assert!(
        c["reason"]
            .as_str()
            .unwrap()
            .contains("cannot install o11y here"),
        "{c}"
    );
    assert!(
        c["reason"].as_str().unwrap().contains("is not on PyPI"),
        "{c}"
    );
    if std::env::consts::ARCH == "x86_64" && std::env::consts::OS == "linux" {
        release.publish_binary(false);
        let c = check(&env);
        assert_eq!(c["status"], "ok", "{c}");
        assert!(
            c["reason"].as_str().unwrap().contains("from the release's"),
            "{c}"
        );
    }
    release.publish_on_pypi();
    let c = check(&env);
    assert_eq!(c["status"], "ok", "{c}");
    assert!(c["reason"].as_str().unwrap().contains("is on PyPI"), "{c}");
    // On a plain machine the install is not tried (it runs in the workspace).
    let c = check(&[]);
    assert_eq!(c["status"], "ok", "{c}");
    assert!(
        c["reason"]
            .as_str()
            .unwrap()
            .contains("checked in Gitpod or Codespaces"),
        "{c}"
    );
    // A start file that runs o11y without installing it is named.
    fs::write(
        dir.path().join(".gitpod.yml"),
        "tasks:\n  - command: o11y doctor\n",
    )
    .unwrap();
    let c = check(&[]);
    assert_eq!(c["status"], "warn", "{c}");
    assert!(c["reason"].as_str().unwrap().contains(".gitpod.yml"), "{c}");
}

#[test]
fn the_current_gitpods_backend_urls_are_named_and_fixed_only_when_confirmed() {
    let dir = project("template");
    let clis = Clis::new(&["ona"]);
    let env = env_of(&[clis.env(), current_gitpod()]);
    let o = o11y(
        dir.path(),
        "doctor",
        &["--only", "project.urls", "--json"],
        &env,
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let c = &report["checks"][0];
    assert_eq!(c["status"], "warn", "{c}");
    let reason = c["reason"].as_str().unwrap();
    assert!(reason.contains("FRONTEND_URL, BACKEND_URL"), "{reason}");
    assert!(reason.contains("GITPOD_WORKSPACE_ID"), "{reason}");
    assert!(
        c["fix"].as_str().unwrap().contains("o11y doctor --fix"),
        "{c}"
    );
    // Elsewhere there is nothing to say.
    let o = o11y(
        dir.path(),
        "doctor",
        &["--only", "project.urls", "--json"],
        &[],
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["checks"][0]["status"], "skip");

    // --fix without a terminal shows the change and makes none.
    let before = tree(dir.path());
    let o = o11y(
        dir.path(),
        "doctor",
        &["--fix", "--only", "project.urls"],
        &env,
    );
    assert!(stderr(&o).contains("not confirmed"), "{}", show(&o));
    assert!(stderr(&o).contains("which is opened first"), "{}", show(&o));
    assert_eq!(tree(dir.path()), before);
    // Nothing is opened before the change is confirmed either.
    assert!(
        !clis
            .calls()
            .iter()
            .any(|c| c.get(3).map(String::as_str) == Some("open")),
        "{:?}",
        clis.calls()
    );

    // Confirmed at a terminal: .env gets this environment's port URLs, the compose file takes
    // them from there, and `o11y undo` takes it all back.
    use expectrl::Expect;
    let home = tempfile::tempdir().unwrap();
    let mut cmd = clean_command(
        dir.path(),
        home.path(),
        "doctor",
        &["--fix", "--only", "project.urls"],
        &env,
    );
    cmd.env("TERM", "xterm");
    let mut s = expectrl::Session::spawn(cmd).expect("a pseudo-terminal");
    s.set_expect_timeout(Some(std::time::Duration::from_secs(60)));
    s.expect("Make these changes").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    s.send_line("y").unwrap();
    s.expect(expectrl::Eof).unwrap();
    let vars = dotenv(dir.path());
    assert_eq!(
        vars["FRONTEND_URL"],
        format!("https://3000--{ENV_ID}.us-east-1-01.gitpod.dev")
    );
    assert_eq!(
        vars["BACKEND_URL"],
        format!("https://4567--{ENV_ID}.us-east-1-01.gitpod.dev")
    );
    let compose = fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap();
    assert!(compose.contains("FRONTEND_URL: \"${FRONTEND_URL:-https://3000-${GITPOD_WORKSPACE_ID}.${GITPOD_WORKSPACE_CLUSTER_HOST}}\""), "{compose}");
    let o = o11y(
        dir.path(),
        "doctor",
        &["--only", "project.urls", "--json"],
        &env,
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["checks"][0]["status"], "ok", "{report}");
    run_ok(dir.path(), &["undo"], 0);
    assert_eq!(tree(dir.path()), before);
}
