#!/usr/bin/env python3
"""Stand-ins for the workspace CLIs o11y drives, for the tests: `ona` (the current Gitpod's
CLI, also installed as `gitpod`) and `gp` (Gitpod Classic's). Which one runs is the name its
wrapper passes with `--as NAME`. State lives in $WORKSPACE_CLI_STATE (a JSON file); every call's argv is appended to
$WORKSPACE_CLI_STATE.argv (one JSON list per line), so a test can check what o11y passed.

Only what o11y uses is here, each answer taken from the vendor's documentation or source:
- ona user secret list/create/update: the commands and flags as gitpod-samples'
  multirepo-via-uservar scripts use them (`gitpod user secret list --format json | jq '.[] |
  select(.name == ...) | .id'`, `user secret update ID --value V`, `user secret create --name N
  --value V --env-var`); `--value-from-file` as an Ona CLI cheat sheet "verified against the
  ona CLI as of 2026-04" lists it. A secret's JSON fields are the API's Secret type
  (gitpod-io/gitpod-sdk-go secret.go: id, name, environmentVariable, filePath, scope,
  createdAt, updatedAt). Inside an environment the CLI acts as the environment
  (PRINCIPAL_ENVIRONMENT), which cannot list or change a user's secrets until `ona login`
  (gitpod-io/memo automation-manager skill; gitpod-samples scripts check `gitpod whoami`);
  the wording of that error is not documented, so the one here is ours and o11y reads only
  the exit code. What `create` prints is not documented either; o11y does not read it.
- ona environment port list/open: a list of {port, url} (gitpod-sdk-go environment.go
  EnvironmentStatusEnvironmentURLsPort); URLs of the form https://PORT--ENVID.REGION.gitpod.dev
  as `port list` shows them; `port open PORT --name NAME`
  (https://ona.com/docs/ona/integrations/ports).
- gp env: gitpod-io/gitpod components/gitpod-cli/cmd/env.go: `gp env` prints NAME=value
  lines, `gp env -e` prints export NAME="value" lines (double quotes escaped as \\"), and
  `gp env NAME=VALUE` sets it and prints it back in the same form; an empty value is an error.

Switches for the tests: $WORKSPACE_CLI_PRINCIPAL=environment (not logged in),
$WORKSPACE_CLI_NO_FILE_FLAG=1 (a CLI whose help does not offer --value-from-file).
"""

import json
import os
import sys
import uuid

STATE = os.environ["WORKSPACE_CLI_STATE"]


def load():
    try:
        with open(STATE) as f:
            return json.load(f)
    except FileNotFoundError:
        return {"secrets": [], "ports": [], "gp": {}}


def save(state):
    with open(STATE, "w") as f:
        json.dump(state, f)


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def flag(args, name):
    if name in args:
        i = args.index(name)
        if i + 1 >= len(args):
            fail(f"flag needs an argument: {name}")
        return args[i + 1]
    return None


def value_of(args):
    value = flag(args, "--value")
    path = flag(args, "--value-from-file")
    if path is not None:
        if os.environ.get("WORKSPACE_CLI_NO_FILE_FLAG"):
            fail("unknown flag: --value-from-file")
        with open(path) as f:
            value = f.read()
    if value is None:
        fail("one of --value or --value-from-file is required")
    return value


CREATE_HELP = """Create a new user secret

Usage:
  ona user secret create [flags]

Flags:
      --env-var                    mount the secret as an environment variable
      --file-path string           mount the secret as a file at this path
  -h, --help                       help for create
      --name string                the secret's name
      --value string               the secret's value
"""
FILE_FLAG_HELP = "      --value-from-file string     read the secret's value from a file\n"


def ona(args):
    state = load()
    if args[:3] == ["user", "secret", "create"] and "--help" in args:
        text = CREATE_HELP
        if not os.environ.get("WORKSPACE_CLI_NO_FILE_FLAG"):
            text += FILE_FLAG_HELP
        print(text)
        return
    if args[:2] == ["user", "secret"]:
        if os.environ.get("WORKSPACE_CLI_PRINCIPAL") == "environment":
            fail("error: permission_denied: the environment principal cannot access user secrets; run `ona login`")
        if args[2:3] == ["list"]:
            print(json.dumps([
                {k: s[k] for k in ("id", "name", "environmentVariable", "filePath", "scope", "createdAt", "updatedAt")}
                for s in state["secrets"]
            ]))
            return
        if args[2:3] == ["create"]:
            name = flag(args, "--name")
            if not name:
                fail("flag --name is required")
            if any(s["name"] == name for s in state["secrets"]):
                fail(f"error: already_exists: secret {name} already exists")
            secret = {
                "id": str(uuid.uuid4()),
                "name": name,
                "value": value_of(args),
                "environmentVariable": "--env-var" in args,
                "filePath": "",
                "scope": {"userId": "user-1"},
                "createdAt": "2026-12-05T08:00:00Z",
                "updatedAt": "2026-12-05T08:00:00Z",
            }
            state["secrets"].append(secret)
            save(state)
            print(secret["id"])
            return
        if args[2:3] == ["update"] and len(args) > 3:
            for s in state["secrets"]:
                if s["id"] == args[3]:
                    s["value"] = value_of(args)
                    save(state)
                    return
            fail(f"error: not_found: secret {args[3]} not found")
    if args[:3] == ["environment", "port", "list"]:
        print(json.dumps(state["ports"]))
        return
    if args[:3] == ["environment", "port", "open"] and len(args) > 3:
        port = int(args[3])
        env_id = os.environ.get("GITPOD_ENVIRONMENT_ID", "env")
        url = f"https://{port}--{env_id}.us-east-1-01.gitpod.dev"
        if not any(p["port"] == port for p in state["ports"]):
            state["ports"].append({"port": port, "url": url})
            save(state)
        print(url)
        return
    fail(f"unknown command: {' '.join(args)}")


def gp(args):
    state = load()
    if args[:1] != ["env"]:
        fail(f"unknown command: {' '.join(args)}")
    rest = args[1:]
    export = "-e" in rest or "--export" in rest
    rest = [a for a in rest if a not in ("-e", "--export")]

    def show(name, value):
        val = value.replace('"', '\\"')
        print(f'export {name}="{val}"' if export else f"{name}={val}")

    if not rest:
        for name, value in state["gp"].items():
            show(name, value)
        return
    for kv in rest:
        if "=" not in kv:
            fail(f"{kv} has no equal character (correct format is {kv}=some_value)")
        name, value = kv.split("=", 1)
        value = value.strip('"').strip("'").replace("\\ ", " ")
        if not value:
            fail("variable must have a value; use -u to unset a variable")
        state["gp"][name.strip()] = value
        save(state)
        show(name.strip(), value)


def main():
    args = sys.argv[1:]
    name = os.path.basename(sys.argv[0])
    if args[:1] == ["--as"]:
        name, args = args[1], args[2:]
    with open(STATE + ".argv", "a") as f:
        f.write(json.dumps([name] + args) + "\n")
    if name in ("ona", "gitpod"):
        ona(args)
    elif name == "gp":
        gp(args)
    else:
        fail(f"called as {name}")


if __name__ == "__main__":
    main()
