//! Python files (app.py and the services): adds and removes the blocks integrations own.
//!
//! tree-sitter-python finds where a block goes (after the imports, after `app = Flask(...)`,
//! beside the routes, inside a method); the block is inserted as whole lines between marker
//! comments, so the next run recognises it. Code a student wrote by hand is never rewritten:
//! complete hand-made setups are left alone, incomplete ones get a manual step instead.

use tree_sitter::{Node, Parser, Tree};

use super::text::{
    eol_of, insert_lines, line_number, line_start, lines_with_offsets, next_line_start,
};
use super::{ManualStep, ParseError};
use crate::spec::{Anchor, HandMade, Integration, PyBlock, PyFile};

const BEGIN: &str = "# >>> o11y:";
const END: &str = "# <<< o11y:";

/// A block that o11y wrote earlier, found by its markers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub integration: Integration,
    pub part: String,
    /// Line start of the begin marker.
    pub start: usize,
    /// Line start after the end marker (or the end of the text).
    pub end: usize,
}

/// What a file looks like for one integration, outside o11y's own blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandState {
    /// Nothing by hand.
    None,
    /// Complete and without known flaws: left as it is.
    Done,
    /// Complete and working, with a flaw worth a warning: left as it is.
    Works(String),
    /// Started by hand but incomplete or flawed: the reason.
    Partial(String),
}

/// The result of patching one Python file.
#[derive(Debug, Clone, Default)]
pub struct PyOutcome {
    pub text: String,
    pub manual: Vec<ManualStep>,
    /// Integrations found complete by hand, left as they are.
    pub hand_done: Vec<(Integration, Option<String>)>,
}

/// Values the templates may use (`{service}`; `{now}`, `{result}`, `{datetime_import}` and
/// `{os_import}` are read from the file), and what else of the project the patcher weighs.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    pub service: &'a str,
    /// The backend modules the app module imports (see `Inputs::linked`).
    pub linked: &'a [super::Source],
    /// Versions below which requirements.txt pins Flask, as asked by `flask_below`.
    pub requirements: &'a str,
    /// Every integration o11y knows, to read the markers of its blocks.
    pub known: &'a [Integration],
}

impl Context<'_> {
    /// Whether requirements.txt pins Flask below `version`.
    pub fn flask_below(&self, version: &str) -> bool {
        super::requirements::pinned_below(self.requirements, "flask", version)
    }
}

fn parser() -> Parser {
    let mut p = Parser::new();
    p.set_language(&tree_sitter_python::LANGUAGE.into())
        .expect("the bundled Python grammar matches tree-sitter's ABI");
    p
}

/// The largest Python module o11y parses: 2 MB, some 50,000 lines, twenty times the largest
/// hand-written Flask module we have seen. The syntax tree of a module takes about 50 bytes
/// for each byte of it, so this bound is what keeps a plan's memory near 100 MB.
pub const MAX_PARSE: usize = 2_000_000;

/// A syntax tree that gives its memory back to the system when dropped, if it was a big one:
/// a later tree is often built on another thread, whose allocator arena would otherwise grow
/// beside this one's free space.
struct Parsed {
    tree: Option<Tree>,
    big: bool,
}

impl std::ops::Deref for Parsed {
    type Target = Tree;
    fn deref(&self) -> &Tree {
        self.tree.as_ref().expect("a tree until dropped")
    }
}

impl Drop for Parsed {
    fn drop(&mut self) {
        // The tree is freed first, then the space it held goes back.
        drop(self.tree.take());
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        if self.big {
            // SAFETY: malloc_trim only releases free memory; it has no preconditions.
            unsafe {
                libc::malloc_trim(0);
            }
        }
    }
}

fn parse(text: &str) -> Result<Parsed, ParseError> {
    if text.len() > MAX_PARSE {
        return Err(ParseError::new(1, too_large(text.len())));
    }
    if text.contains('\0') {
        return Err(ParseError::new(1, "the file holds binary data, not Python"));
    }
    let tree = parser()
        .parse(text, None)
        .ok_or_else(|| ParseError::new(1, "the Python parser gave up on this file"))?;
    if tree.root_node().has_error() {
        let line = first_error(tree.root_node()).map_or(1, |n| n.start_position().row + 1);
        return Err(ParseError::new(line, "this is not valid Python"));
    }
    Ok(Parsed {
        tree: Some(tree),
        big: text.len() > 256 * 1024,
    })
}

fn first_error(node: Node) -> Option<Node> {
    if node.is_error() || node.is_missing() {
        return Some(node);
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        if child.has_error() || child.is_error() || child.is_missing() {
            if let Some(n) = first_error(child) {
                return Some(n);
            }
        }
    }
    None
}

/// What a module past [`MAX_PARSE`] is told.
pub fn too_large(len: usize) -> String {
    format!(
        "the file is {:.1} MB, and o11y reads Python modules of up to {} MB (about 50,000 lines); split it into smaller modules, or add o11y's blocks by hand",
        len as f64 / 1e6,
        MAX_PARSE / 1_000_000
    )
}

/// Whether `text` parses as Python with no error node.
pub fn check(text: &str) -> Result<(), ParseError> {
    parse(text).map(|_| ())
}

/// The o11y blocks of a file.
pub fn blocks(text: &str, known: &[Integration]) -> Result<Vec<Found>, ParseError> {
    let mut out = Vec::new();
    let mut open: Option<(Integration, String, usize, usize)> = None;
    for (n, (at, line)) in lines_with_offsets(text).enumerate() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix(BEGIN) {
            if let Some((_, _, _, l)) = open {
                return Err(ParseError::new(
                    l,
                    "an o11y block starts here but never ends; restore its `# <<< o11y:` line or delete the block",
                ));
            }
            let (i, part) = split_marker(rest, n + 1, known)?;
            open = Some((i, part, at, n + 1));
        } else if let Some(rest) = t.strip_prefix(END) {
            let (i, part) = split_marker(rest, n + 1, known)?;
            match open.take() {
                Some((oi, op, start, _)) if oi == i && op == part => out.push(Found {
                    integration: i,
                    part,
                    start,
                    end: at + line.len(),
                }),
                _ => {
                    return Err(ParseError::new(
                        n + 1,
                        "this o11y end marker has no matching start; delete the line or restore the block",
                    ))
                }
            }
        }
    }
    if let Some((_, _, _, l)) = open {
        return Err(ParseError::new(
            l,
            "an o11y block starts here but never ends; restore its `# <<< o11y:` line or delete the block",
        ));
    }
    Ok(out)
}

fn split_marker(
    rest: &str,
    line: usize,
    known: &[Integration],
) -> Result<(Integration, String), ParseError> {
    let mut it = rest.splitn(2, ':');
    let name = it.next().unwrap_or("");
    let part = it.next().unwrap_or("").trim().to_string();
    let i = known
        .iter()
        .copied()
        .find(|i| i.name() == name.trim())
        .ok_or_else(|| ParseError::new(line, format!("unknown o11y marker `{name}`")))?;
    Ok((i, part))
}

/// The file's code outside o11y blocks, without comments: what a student wrote.
fn hand_written(text: &str, found: &[Found]) -> String {
    let mut s = String::new();
    for (at, line) in lines_with_offsets(text) {
        if found.iter().any(|b| at >= b.start && at < b.end) {
            continue;
        }
        let code = line.trim_start();
        if code.starts_with('#') {
            continue;
        }
        s.push_str(code.split(" #").next().unwrap_or(code));
    }
    s
}

/// How a student's own code stands for an integration, per its `HandMade` rule. For the app
/// module, the backend modules it imports count too (`ctx.linked`): a setup that lives in
/// `lib/honeycomb.py` and is called from app.py is the student's setup all the same.
pub fn hand_state(text: &str, rule: &HandMade, ctx: &Context) -> Result<HandState, ParseError> {
    let found = blocks(text, ctx.known)?;
    let own = hand_written(text, &found);
    let others: Vec<String> = if rule.file == PyFile::App {
        active_linked(text, ctx)
    } else {
        Vec::new()
    };
    let anywhere = |needle: &str| own.contains(needle) || others.iter().any(|o| o.contains(needle));
    // In another module, a mere mention (a `trace.get_tracer` in some service) is no setup;
    // one of the setup's own calls is.
    let touched = rule.mentions.iter().any(|m| own.contains(m))
        || rule
            .complete
            .iter()
            .any(|c| others.iter().any(|o| o.contains(c)));
    if !touched {
        return Ok(HandState::None);
    }
    let flaw = |works: bool| {
        rule.flaws.iter().find(|f| {
            f.works == works
                && anywhere(f.pattern)
                && !f.from_flask.is_some_and(|v| ctx.flask_below(v))
        })
    };
    if let Some(f) = flaw(false) {
        return Ok(HandState::Partial(format!("the hand-made setup {}", f.why)));
    }
    if rule.complete.iter().all(|c| anywhere(c)) {
        Ok(match flaw(true) {
            Some(f) => HandState::Works(format!("the hand-made setup {}", f.why)),
            None => HandState::Done,
        })
    } else {
        Ok(HandState::Partial(format!(
            "it was started by hand (`{}` is there) but is missing {}",
            rule.mentions
                .iter()
                .chain(rule.complete.iter())
                .find(|m| anywhere(m))
                .unwrap_or(&""),
            rule.complete
                .iter()
                .filter(|c| !anywhere(c))
                .map(|c| format!("`{}`", c.trim_end_matches('(')))
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

/// The code of each linked module that runs: its module-level statements, and the bodies of
/// its plain functions only where the app or another module calls them (`init_xray(app)`; a
/// setup function nobody calls, or whose call is commented out, sets nothing up).
fn active_linked(app: &str, ctx: &Context) -> Vec<String> {
    let texts: Vec<String> = std::iter::once(hand_written(
        app,
        &blocks(app, ctx.known).unwrap_or_default(),
    ))
    .chain(ctx.linked.iter().map(|s| hand_written(&s.text, &[])))
    .collect();
    let calls = |name: &str| -> usize {
        let call = format!("{name}(");
        let def = format!("def {name}(");
        texts
            .iter()
            .map(|t| t.matches(&call).count() - t.matches(&def).count())
            .sum()
    };
    ctx.linked
        .iter()
        .map(|s| {
            let Ok(tree) = parse(&s.text) else {
                return hand_written(&s.text, &[]);
            };
            let mut kept = String::new();
            for n in named_children(tree.root_node()) {
                if n.kind() == "function_definition" {
                    let called = n
                        .child_by_field_name("name")
                        .is_some_and(|name| calls(node_text(name, &s.text)) > 0);
                    if !called {
                        continue;
                    }
                }
                kept.push_str(node_text(n, &s.text));
                kept.push('\n');
            }
            hand_written(&kept, &[])
        })
        .collect()
}

/// The linked modules where a hand-made setup of `rule` lives (those whose running code holds
/// one of its setup calls), for messages.
pub fn hand_places<'a>(rule: &HandMade, app: &str, ctx: &'a Context) -> Vec<&'a str> {
    if rule.file != PyFile::App {
        return Vec::new();
    }
    ctx.linked
        .iter()
        .zip(active_linked(app, ctx))
        .filter(|(_, own)| rule.complete.iter().any(|c| own.contains(c)))
        .map(|(s, _)| s.path.as_str())
        .collect()
}

/// One integration's wish for this file.
#[derive(Debug, Clone, Copy)]
pub struct Want<'a> {
    pub integration: Integration,
    pub blocks: &'a [PyBlock],
    pub hand_made: Option<&'a HandMade>,
}

/// Adds the missing blocks of `want` and removes every block of `remove`.
pub fn patch(
    text: &str,
    file: PyFile,
    path: &str,
    want: &[Want],
    remove: &[Integration],
    ctx: &Context,
) -> Result<PyOutcome, ParseError> {
    let outcome = patch_once(text, file, path, want, remove, ctx)?;
    // A second pass must find nothing to do; if it would, the file is shaped so that o11y
    // cannot tell reliably where its blocks belong, and it changes nothing.
    if outcome.text != text {
        let again = patch_once(&outcome.text, file, path, want, remove, ctx)?;
        if again.text != outcome.text {
            return Err(ParseError::new(
                1,
                "o11y cannot tell reliably where its code goes in this file; add the blocks by hand (`o11y plan --only NAME` on a copy shows them)",
            ));
        }
    }
    Ok(outcome)
}

fn patch_once(
    text: &str,
    file: PyFile,
    path: &str,
    want: &[Want],
    remove: &[Integration],
    ctx: &Context,
) -> Result<PyOutcome, ParseError> {
    parse(text)?;
    let mut out = text.to_string();
    // Take out the blocks of switched-off integrations, bottom up.
    for b in blocks(&out, ctx.known)?.into_iter().rev() {
        if remove.contains(&b.integration) {
            out = super::text::remove_lines(&out, b.start, b.end);
        }
    }
    let mut outcome = PyOutcome::default();
    let mut wants: Vec<&Want> = want.iter().collect();
    wants.sort_by_key(|w| w.integration);
    for w in wants {
        let state = match w.hand_made {
            Some(rule) => hand_state(&out, rule, ctx)?,
            None => HandState::None,
        };
        let present: Vec<String> = blocks(&out, ctx.known)?
            .into_iter()
            .filter(|b| b.integration == w.integration)
            .map(|b| b.part)
            .collect();
        let missing: Vec<&PyBlock> = w
            .blocks
            .iter()
            .filter(|b| b.file == file && !present.iter().any(|p| p == b.part))
            .collect();
        match state {
            HandState::Done => {
                outcome.hand_done.push((w.integration, None));
                continue;
            }
            HandState::Works(warning) => {
                outcome.hand_done.push((w.integration, Some(warning)));
                continue;
            }
            HandState::Partial(reason) => {
                // One step for the whole integration: the student's code needs a look as a whole.
                if !missing.is_empty() {
                    let vars = Vars::of(&out, ctx, None);
                    let mut snippet = String::new();
                    for b in missing
                        .iter()
                        .filter(|b| !route_taken(b.template, &out, ctx))
                    {
                        snippet.push_str(&format!("# {}:\n", b.anchor.describe()));
                        snippet.push_str(&render(b.template, &vars, "", "    ", "\n"));
                    }
                    outcome.manual.push(ManualStep {
                        file: path.to_string(),
                        integration: w.integration.name().to_string(),
                        reason: reason.clone(),
                        place: format!(
                            "fix the hand-made {} code, or replace it with o11y's blocks below",
                            w.integration.title()
                        ),
                        snippet,
                    });
                }
                continue;
            }
            HandState::None => {}
        }
        for b in missing {
            if route_taken(b.template, &out, ctx) {
                continue;
            }
            match place(&out, w.integration, b, ctx)? {
                Ok(next) => out = next,
                Err(reason) => {
                    outcome
                        .manual
                        .push(manual(path, w.integration, b, &out, ctx, &reason))
                }
            }
        }
    }
    if out != text {
        if let Err(e) = parse(&out) {
            return Err(ParseError::new(
                e.line,
                "o11y's edit would leave this file invalid, so it was not made; please report this file",
            ));
        }
    }
    outcome.text = out;
    Ok(outcome)
}

/// Whether a block that adds a route (`@app.route("/rollbar/test")`) would add one the app
/// has already: Flask refuses to start with two views of one name, and a second route for a
/// path is never reached.
fn route_taken(template: &str, text: &str, ctx: &Context) -> bool {
    let routes = |t: &str| -> Vec<String> {
        t.lines()
            .filter_map(|l| {
                let l = l.trim_start();
                let rest = l.strip_prefix('@')?;
                let at = rest.find(".route(")? + ".route(".len();
                let arg = rest[at..].trim_start();
                let quote = arg.chars().next().filter(|c| *c == '"' || *c == '\'')?;
                let inner = &arg[1..];
                Some(inner[..inner.find(quote)?].to_string())
            })
            .collect()
    };
    let wanted = routes(template);
    if wanted.is_empty() {
        return false;
    }
    let own = hand_written(text, &blocks(text, ctx.known).unwrap_or_default());
    let mut have = routes(&own.replace('@', "\n@"));
    for s in ctx.linked {
        have.extend(routes(&s.text));
    }
    wanted.iter().any(|w| have.contains(w))
}

/// A block as a student would paste it by hand: placeholders filled as for `text`.
pub fn snippet(template: &str, text: &str, ctx: &Context) -> String {
    render(template, &Vars::of(text, ctx, None), "", "    ", "\n")
}

fn manual(
    path: &str,
    integration: Integration,
    block: &PyBlock,
    text: &str,
    ctx: &Context,
    reason: &str,
) -> ManualStep {
    let vars = Vars::of(text, ctx, None);
    ManualStep {
        file: path.to_string(),
        integration: integration.name().to_string(),
        reason: reason.to_string(),
        place: block.anchor.describe(),
        snippet: render(block.template, &vars, "", "    ", "\n"),
    }
}

struct Vars {
    service: String,
    now: String,
    datetime_import: Option<String>,
    /// `import os`, unless the code outside o11y's blocks imports it already.
    os_import: Option<String>,
    result: Option<String>,
}

impl Vars {
    fn of(text: &str, ctx: &Context, result: Option<String>) -> Vars {
        let module = text
            .lines()
            .any(|l| l.trim_end() == "import datetime" || l.starts_with("import datetime "));
        let both = text.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with("from datetime import")
                && l.contains(" datetime")
                && l.contains("timezone")
                && !l.contains(" as ")
        });
        let (now, datetime_import) = if module {
            (
                "datetime.datetime.now(datetime.timezone.utc).isoformat()",
                None,
            )
        } else if both {
            ("datetime.now(timezone.utc).isoformat()", None)
        } else {
            (
                "datetime.now(timezone.utc).isoformat()",
                Some("from datetime import datetime, timezone".to_string()),
            )
        };
        let mut outside = true;
        let imports_os = text.lines().any(|l| {
            let t = l.trim_start();
            if t.starts_with(BEGIN) {
                outside = false;
            } else if t.starts_with(END) {
                outside = true;
                return false;
            }
            outside && (l.trim_end() == "import os" || l.starts_with("import os "))
        });
        Vars {
            service: ctx.service.to_string(),
            now: now.to_string(),
            datetime_import,
            os_import: (!imports_os).then(|| "import os".to_string()),
            result,
        }
    }
}

/// Fills a template: placeholders replaced, lines whose placeholder has no value dropped,
/// indented by `base` with `unit` for each of the template's 4-space levels.
fn render(template: &str, v: &Vars, base: &str, unit: &str, eol: &str) -> String {
    let mut s = String::new();
    for line in template.trim_end_matches('\n').split('\n') {
        let mut l = line
            .replace("{service}", &v.service)
            .replace("{now}", &v.now);
        for (key, val) in [
            ("{result}", &v.result),
            ("{datetime_import}", &v.datetime_import),
            ("{os_import}", &v.os_import),
        ] {
            if l.contains(key) {
                match val {
                    Some(val) => l = l.replace(key, val),
                    None => l.clear(),
                }
            }
        }
        if l.is_empty() && line.contains('{') {
            continue;
        }
        if l.is_empty() {
            s.push_str(eol);
            continue;
        }
        let body = l.trim_start_matches(' ');
        let levels = (l.len() - body.len()) / 4;
        s.push_str(base);
        for _ in 0..levels {
            s.push_str(unit);
        }
        s.push_str(body);
        s.push_str(eol);
    }
    s
}

fn wrap(integration: Integration, part: &str, body: &str, base: &str, eol: &str) -> String {
    format!("{base}{BEGIN}{integration}:{part}{eol}{body}{base}{END}{integration}:{part}{eol}")
}

/// Where `block` goes in `text`: Ok(new text), or Err(reason) when there is no safe place.
fn place(
    text: &str,
    integration: Integration,
    block: &PyBlock,
    ctx: &Context,
) -> Result<Result<String, String>, ParseError> {
    let tree = parse(text)?;
    let root = tree.root_node();
    let found = blocks(text, ctx.known)?;
    let eol = eol_of(text);
    let inside = |offset: usize| found.iter().find(|b| offset >= b.start && offset < b.end);
    // Past the blocks that sit at `at` and come earlier in o11y's order.
    let skip_earlier = |mut at: usize| {
        while let Some(b) = found
            .iter()
            .find(|b| b.start == at && b.integration < integration)
        {
            at = b.end;
        }
        at
    };
    let vars = Vars::of(text, ctx, None);
    let module_block = |at: usize| {
        let body = render(block.template, &vars, "", "    ", eol);
        insert_lines(
            text,
            at,
            &wrap(integration, block.part, &body, "", eol),
            eol,
        )
    };
    match block.anchor {
        Anchor::AfterImports => {
            let app_at = app_creation(root, text).map(|n| n.start_byte());
            let last_import = top_level(root)
                .filter(|n| {
                    matches!(
                        n.kind(),
                        "import_statement" | "import_from_statement" | "future_import_statement"
                    )
                })
                .filter(|n| inside(n.start_byte()).is_none())
                .filter(|n| app_at.is_none_or(|a| n.end_byte() <= a))
                .last();
            let at = match last_import {
                Some(n) => next_line_start(text, n.end_byte()),
                None => docstring_end(root, text),
            };
            Ok(Ok(module_block(skip_earlier(at))))
        }
        Anchor::AfterAppCreated => match (app_creation(root, text), factory_app(root, text)) {
            (Some(n), _) => Ok(Ok(module_block(skip_earlier(next_line_start(text, n.end_byte()))))),
            // `def create_app(): app = Flask(__name__) ... return app`: inside the factory.
            (None, Some((func, assign))) => {
                let (base, unit) = body_indent(text, func, assign);
                let at = skip_earlier(next_line_start(text, assign.end_byte()));
                let body = render(block.template, &vars, &base, &unit, eol);
                Ok(Ok(insert_lines(text, at, &wrap(integration, block.part, &body, &base, eol), eol)))
            }
            (None, None) if is_factory(root, text) => Ok(Err(
                "this file builds the app in a factory function that does not assign `app = Flask(...)` and return it, so o11y cannot tell the right place"
                    .into(),
            )),
            (None, None) => Ok(Err("this file has no `app = Flask(__name__)`".into())),
        },
        Anchor::BesideRoutes => {
            if app_creation(root, text).is_none() {
                let Some((func, assign)) = factory_app(root, text) else {
                    return Ok(Err("this file has no module-level `app = Flask(__name__)`".into()));
                };
                // Before the factory's `return app`, after the blocks o11y put there earlier.
                let Some(ret) = func
                    .child_by_field_name("body")
                    .and_then(|b| named_children(b).filter(|n| n.kind() != "comment").last())
                    .and_then(taken_return)
                else {
                    return Ok(Err("the app factory does not end in `return app`".into()));
                };
                let (base, unit) = body_indent(text, func, assign);
                let mut at = line_start(text, ret.start_byte());
                while let Some(b) = found.iter().find(|b| b.end == at && b.integration > integration) {
                    at = b.start;
                }
                let body = render(block.template, &vars, &base, &unit, eol);
                return Ok(Ok(insert_lines(text, at, &wrap(integration, block.part, &body, &base, eol), eol)));
            }
            let at = top_level(root)
                .find(|n| n.kind() == "if_statement" && node_text(*n, text).contains("__name__"))
                .map_or(text.len(), |n| line_start(text, n.start_byte()));
            Ok(Ok(module_block(at)))
        }
        Anchor::BodyStart { class, method } | Anchor::BeforeReturn { class, method } => {
            let Some(func) = find_method(root, text, class, method) else {
                return Ok(Err(format!("there is no `{class}.{method}` in this file")));
            };
            let Some(body) = func.child_by_field_name("body") else {
                return Ok(Err(format!("`{class}.{method}` has no body")));
            };
            let stmts: Vec<Node> = named_children(body).filter(|n| n.kind() != "comment").collect();
            let (Some(first), Some(last)) = (stmts.first(), stmts.last()) else {
                return Ok(Err(format!("`{class}.{method}` has no body")));
            };
            if first.start_position().row == func.start_position().row {
                return Ok(Err(format!("`{class}.{method}` is written on one line")));
            }
            let base = super::text::indent_at(text, first.start_byte()).to_string();
            let def_indent = super::text::indent_at(text, func.start_byte()).to_string();
            let unit = base
                .strip_prefix(def_indent.as_str())
                .filter(|u| !u.is_empty())
                .unwrap_or("    ")
                .to_string();
            let (at, result) = if matches!(block.anchor, Anchor::BodyStart { .. }) {
                let first_real = stmts
                    .iter()
                    .find(|n| !(n.kind() == "expression_statement" && is_docstring(**n)))
                    .unwrap_or(first);
                let mut at = line_start(text, first_real.start_byte());
                if let Some(b) = inside(at) {
                    at = b.start;
                }
                (skip_earlier(at), None)
            } else if let Some(ret) = taken_return(*last) {
                let last = &ret;
                let mut at = line_start(text, last.start_byte());
                // Before the blocks that sit just above the return and come later in o11y's order.
                while let Some(b) = found.iter().find(|b| b.end == at && b.integration > integration) {
                    at = b.start;
                }
                let result = named_children(*last)
                    .find(|n| n.kind() != "comment")
                    .filter(|n| n.kind() == "identifier")
                    .map(|n| node_text(n, text).to_string());
                (at, result)
            } else if terminates(*last) {
                return Ok(Err(format!(
                    "`{class}.{method}` ends in a statement that always returns or raises, but o11y cannot tell which `return` it takes"
                )));
            } else {
                (next_line_start(text, last.end_byte()), None)
            };
            // A return inside `with` blocks is indented deeper than the function's body.
            let base = if at < text.len() && matches!(block.anchor, Anchor::BeforeReturn { .. }) {
                let here = super::text::indent_at(text, at).to_string();
                if here.len() > base.len() { here } else { base }
            } else {
                base
            };
            let vars = Vars::of(text, ctx, result);
            let body = render(block.template, &vars, &base, &unit, eol);
            Ok(Ok(insert_lines(text, at, &wrap(integration, block.part, &body, &base, eol), eol)))
        }
    }
}

/// The `return` a function's last statement takes: the statement itself, or the last one of
/// the `with` blocks it sits in.
fn taken_return(last: Node) -> Option<Node> {
    match last.kind() {
        "return_statement" => Some(last),
        "with_statement" => {
            let body = last.child_by_field_name("body")?;
            let inner = named_children(body)
                .filter(|n| n.kind() != "comment")
                .last()?;
            taken_return(inner)
        }
        _ => None,
    }
}

/// Whether running `n` always ends in a `return` or `raise`, so nothing after it in its block
/// runs.
fn terminates(n: Node) -> bool {
    let last_of = |body: Option<Node>| {
        body.and_then(|b| named_children(b).filter(|c| c.kind() != "comment").last())
            .is_some_and(terminates)
    };
    match n.kind() {
        "return_statement" | "raise_statement" => true,
        "with_statement" => last_of(n.child_by_field_name("body")),
        "if_statement" => {
            let mut has_else = false;
            let mut all = last_of(n.child_by_field_name("consequence"));
            for c in named_children(n) {
                match c.kind() {
                    "elif_clause" => all &= last_of(c.child_by_field_name("consequence")),
                    "else_clause" => {
                        has_else = true;
                        all &= last_of(c.child_by_field_name("body"));
                    }
                    _ => {}
                }
            }
            has_else && all
        }
        "try_statement" => {
            let mut all = last_of(n.child_by_field_name("body"));
            for c in named_children(n) {
                match c.kind() {
                    "except_clause" | "except_group_clause" => {
                        all &= named_children(c)
                            .filter(|x| x.kind() == "block")
                            .last()
                            .is_some_and(|b| last_of(Some(b)));
                    }
                    "else_clause" => all &= last_of(c.child_by_field_name("body")),
                    _ => {}
                }
            }
            all
        }
        _ => false,
    }
}

/// The o11y blocks that can never run: they follow, in the same block of code, a statement
/// that always returns or raises.
pub fn unreachable_blocks(text: &str, known: &[Integration]) -> Vec<Found> {
    let (Ok(tree), Ok(found)) = (parse(text), blocks(text, known)) else {
        return Vec::new();
    };
    let mut out: Vec<Found> = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(n) = stack.pop() {
        if n.kind() == "block" {
            let stmts: Vec<Node> = named_children(n)
                .filter(|c| c.kind() != "comment")
                .collect();
            if let Some(end) = stmts.iter().find(|s| terminates(**s)).map(|s| s.end_byte()) {
                // An o11y block whose code is part of this block, after that statement.
                for b in &found {
                    let later_here = stmts
                        .iter()
                        .any(|s| s.start_byte() >= b.start && s.start_byte() < b.end);
                    if b.start >= end && later_here && !out.contains(b) {
                        out.push(b.clone());
                    }
                }
            }
        }
        stack.extend(named_children(n));
    }
    out
}

/// Module-level statements. Column 0 is required too: tree-sitter's error recovery can hoist
/// an indented statement to the module when comments are indented oddly.
fn top_level<'t>(root: Node<'t>) -> impl Iterator<Item = Node<'t>> {
    named_children(root).filter(|n| n.start_position().column == 0)
}

fn named_children<'t>(node: Node<'t>) -> impl Iterator<Item = Node<'t>> {
    (0..node.named_child_count()).filter_map(move |i| node.named_child(i))
}

fn node_text<'a>(n: Node, text: &'a str) -> &'a str {
    &text[n.start_byte()..n.end_byte()]
}

fn is_docstring(n: Node) -> bool {
    n.named_child(0).is_some_and(|c| c.kind() == "string")
}

/// Offset after a module docstring, or 0.
fn docstring_end(root: Node, text: &str) -> usize {
    match top_level(root).find(|n| n.kind() != "comment") {
        Some(n) if n.kind() == "expression_statement" && is_docstring(n) => {
            next_line_start(text, n.end_byte())
        }
        _ => 0,
    }
}

/// The module-level `app = Flask(...)` statement.
fn app_creation<'t>(root: Node<'t>, text: &str) -> Option<Node<'t>> {
    top_level(root).find(|n| assigns_app(*n, text))
}

/// Whether `n` is the statement `app = Flask(...)`.
fn assigns_app(n: Node, text: &str) -> bool {
    if n.kind() != "expression_statement" {
        return false;
    }
    let Some(assign) = n.named_child(0).filter(|a| a.kind() == "assignment") else {
        return false;
    };
    let left = assign
        .child_by_field_name("left")
        .map(|l| node_text(l, text));
    let right = assign.child_by_field_name("right");
    left == Some("app")
        && right.is_some_and(|r| {
            r.kind() == "call"
                && r.child_by_field_name("function")
                    .map(|f| node_text(f, text))
                    .is_some_and(|f| f == "Flask" || f.ends_with(".Flask"))
        })
}

/// An app factory: a module-level function whose body assigns `app = Flask(...)` and ends in
/// `return app`; with that assignment.
fn factory_app<'t>(root: Node<'t>, text: &str) -> Option<(Node<'t>, Node<'t>)> {
    top_level(root).find_map(|n| {
        let f = if n.kind() == "decorated_definition" {
            n.child_by_field_name("definition")?
        } else {
            n
        };
        if f.kind() != "function_definition" {
            return None;
        }
        let body = f.child_by_field_name("body")?;
        let stmts: Vec<Node> = named_children(body)
            .filter(|c| c.kind() != "comment")
            .collect();
        if stmts.first()?.start_position().row == f.start_position().row {
            return None;
        }
        let assign = stmts.iter().copied().find(|s| assigns_app(*s, text))?;
        let ret = taken_return(*stmts.last()?)?;
        let returns_app = named_children(ret)
            .find(|c| c.kind() != "comment")
            .is_some_and(|c| node_text(c, text) == "app");
        returns_app.then_some((f, assign))
    })
}

/// The indentation of a statement in a function's body, and one indentation unit of the file.
fn body_indent(text: &str, func: Node, stmt: Node) -> (String, String) {
    let base = super::text::indent_at(text, stmt.start_byte()).to_string();
    let def_indent = super::text::indent_at(text, func.start_byte()).to_string();
    let unit = base
        .strip_prefix(def_indent.as_str())
        .filter(|u| !u.is_empty())
        .unwrap_or("    ")
        .to_string();
    (base, unit)
}

fn is_factory(root: Node, text: &str) -> bool {
    top_level(root).any(|n| {
        let f = if n.kind() == "decorated_definition" {
            n.child_by_field_name("definition")
        } else {
            Some(n)
        };
        f.is_some_and(|f| {
            f.kind() == "function_definition" && node_text(f, text).contains("Flask(")
        })
    })
}

fn find_method<'t>(root: Node<'t>, text: &str, class: &str, method: &str) -> Option<Node<'t>> {
    let unwrap = |n: Node<'t>| {
        if n.kind() == "decorated_definition" {
            n.child_by_field_name("definition")
        } else {
            Some(n)
        }
    };
    let named = |n: &Node, name: &str| {
        n.child_by_field_name("name")
            .is_some_and(|x| node_text(x, text) == name)
    };
    let cls = top_level(root)
        .filter_map(unwrap)
        .find(|n| n.kind() == "class_definition" && named(n, class))?;
    let body = cls.child_by_field_name("body")?;
    named_children(body)
        .filter_map(unwrap)
        .find(|n| n.kind() == "function_definition" && named(n, method))
}

/// 1-based line of an offset, for messages.
pub fn line_of(text: &str, offset: usize) -> usize {
    line_number(text, offset)
}

/// A module-level or nested import: how many leading dots (0 for absolute), the module path,
/// and the names imported from it (`from m import a, b`; empty for `import m`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub dots: usize,
    pub module: String,
    pub names: Vec<String>,
}

/// Every import statement of a file, in order. A file that does not parse has none.
pub fn imports(text: &str) -> Vec<Import> {
    let Ok(tree) = parse(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(n) = stack.pop() {
        match n.kind() {
            "import_statement" => {
                for c in named_children(n) {
                    let name = match c.kind() {
                        "aliased_import" => c.child_by_field_name("name"),
                        "dotted_name" => Some(c),
                        _ => None,
                    };
                    if let Some(name) = name {
                        out.push((
                            n.start_byte(),
                            Import {
                                dots: 0,
                                module: node_text(name, text).to_string(),
                                names: Vec::new(),
                            },
                        ));
                    }
                }
            }
            "import_from_statement" => {
                let Some(m) = n.child_by_field_name("module_name") else {
                    continue;
                };
                let raw = node_text(m, text);
                let dots = raw.chars().take_while(|c| *c == '.').count();
                let module = raw[dots..].trim().to_string();
                let mut names = Vec::new();
                let mut cursor = n.walk();
                for c in n.children_by_field_name("name", &mut cursor) {
                    let c = if c.kind() == "aliased_import" {
                        c.child_by_field_name("name").unwrap_or(c)
                    } else {
                        c
                    };
                    names.push(node_text(c, text).to_string());
                }
                out.push((
                    n.start_byte(),
                    Import {
                        dots,
                        module,
                        names,
                    },
                ));
            }
            _ => stack.extend(named_children(n)),
        }
    }
    out.sort_by_key(|(at, _)| *at);
    out.into_iter().map(|(_, i)| i).collect()
}

/// Whether the file creates a Flask app with `Flask(__name__)` anywhere (module level or in a
/// factory function).
pub fn creates_flask_app(text: &str) -> bool {
    text.lines().any(|l| {
        let code = l.split('#').next().unwrap_or("");
        code.contains("Flask(__name__")
    })
}

/// The encoding a Python file declares other than UTF-8, and the line that declares it: a
/// PEP 263 coding line (`# -*- coding: latin-1 -*-`) on line 1 or 2.
pub fn declared_encoding(bytes: &[u8]) -> Option<(String, usize)> {
    static CODING: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    let re = CODING.get_or_init(|| {
        regex::bytes::Regex::new(r"^[ \t\x0c]*#.*?coding[:=][ \t]*([-_.a-zA-Z0-9]+)")
            .expect("a valid pattern")
    });
    for (n, line) in bytes.split(|b| *b == b'\n').take(2).enumerate() {
        if let Some(c) = re.captures(line) {
            let name = String::from_utf8_lossy(&c[1])
                .to_ascii_lowercase()
                .replace('_', "-");
            return (!matches!(name.as_str(), "utf-8" | "utf8" | "utf-8-sig"))
                .then_some((name, n + 1));
        }
    }
    None
}

#[cfg(test)]
mod encoding_tests {
    use super::declared_encoding;

    #[test]
    fn a_coding_line_on_line_one_or_two_names_the_encoding() {
        assert_eq!(
            declared_encoding(b"# -*- coding: latin-1 -*-\nx = '\xe9'\n"),
            Some(("latin-1".into(), 1))
        );
        assert_eq!(
            declared_encoding(b"#!/usr/bin/env python\n# vim: set fileencoding=ISO_8859_1 :\n"),
            Some(("iso-8859-1".into(), 2))
        );
        assert_eq!(declared_encoding(b"# coding: utf-8\n"), None);
        // Python reads a coding line on lines 1 and 2 only.
        assert_eq!(declared_encoding(b"\n\n# coding: latin-1\n"), None);
    }
}
