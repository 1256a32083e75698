//! Keys piped in with the `--*-stdin` flags: one line each, in the registry's order, the AWS
//! key pair last.

use std::collections::BTreeMap;
use std::io::Read;

use crate::cli::InitArgs;
use crate::error::Failure;
use crate::integrations;
use crate::spec::{AWS_ID, AWS_SECRET};

/// Values of the `--*-stdin` flags given, by variable.
pub(super) fn read_stdin(a: &InitArgs) -> Result<BTreeMap<&'static str, String>, Failure> {
    let mut want: Vec<(&'static str, &'static str)> = Vec::new();
    for i in integrations::all() {
        for s in i.spec().secrets {
            if a.stdin.given(s.stdin_flag) {
                want.push((s.var, s.stdin_flag));
            }
        }
    }
    if a.stdin.given(AWS_ID.stdin_flag) {
        want.push((AWS_ID.var, AWS_ID.stdin_flag));
        want.push((AWS_SECRET.var, AWS_SECRET.stdin_flag));
    }
    let mut got = BTreeMap::new();
    if want.is_empty() {
        return Ok(got);
    }
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(Failure::new(
            format!("{} reads from a pipe, but stdin is this terminal (what you type would show)", want[0].1),
            format!("pipe it in (`printf '%s\\n' \"${}\" | o11y init {}`), or leave the flag out and type the key when asked (hidden)", want[0].0, want[0].1),
        ));
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).map_err(|e| {
        Failure::new(
            format!("cannot read stdin: {e}"),
            format!(
                "pipe the values in, one per line: `printf '%s\\n' \"${}\" | o11y init {}`",
                want[0].0, want[0].1
            ),
        )
    })?;
    let mut lines = text.lines().map(str::trim);
    for (var, flag) in want {
        match lines.next().filter(|l| !l.is_empty()) {
            Some(v) => {
                got.insert(var, v.to_string());
            }
            None => {
                return Err(Failure::new(
                    format!("{flag} was given, but stdin has no line for {var}"),
                    format!(
                    "give one value per line, in this order: {} (only those whose flags you pass)",
                    order()
                ),
                ))
            }
        }
    }
    Ok(got)
}

/// The order of the lines, in words.
fn order() -> String {
    let mut names: Vec<&str> = integrations::all()
        .iter()
        .flat_map(|i| i.spec().secrets.iter().map(|s| s.checked))
        .collect();
    names.extend(["AWS key id", "AWS secret"]);
    names.join(", ")
}
