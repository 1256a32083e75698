//! What the Python patcher weighs besides the file itself.

use crate::spec::Integration;

/// Values the templates may use (`{service}`; `{now}`, `{result}`, `{datetime_import}` and
/// `{os_import}` are read from the file), and what else of the project the patcher weighs.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    pub service: &'a str,
    /// The backend modules the app module imports (see `Inputs::linked`).
    pub linked: &'a [crate::patch::Source],
    /// Versions below which requirements.txt pins Flask, as asked by `flask_below`.
    pub requirements: &'a str,
    /// Every integration o11y knows, to read the markers of its blocks.
    pub known: &'a [Integration],
}

impl Context<'_> {
    /// Whether requirements.txt pins Flask below `version`.
    pub fn flask_below(&self, version: &str) -> bool {
        crate::patch::requirements::pinned_below(self.requirements, "flask", version)
    }
}
