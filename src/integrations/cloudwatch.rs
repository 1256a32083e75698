//! CloudWatch Logs: a watchtower handler on the `cruddur` logger.

use super::{Anchor, HandMade, Integration, PyBlock, PyFile, Spec};

pub const SPEC: Spec = Spec {
    integration: Integration::Cloudwatch,
    packages: &["watchtower"],
    env: &[],
    blocks: &[
        PyBlock {
            file: PyFile::App,
            part: "imports",
            anchor: Anchor::AfterImports,
            template: include_str!("../../templates/app/cloudwatch_imports.py"),
        },
        PyBlock {
            file: PyFile::App,
            part: "setup",
            anchor: Anchor::AfterAppCreated,
            template: include_str!("../../templates/app/cloudwatch_setup.py"),
        },
        PyBlock {
            file: PyFile::HomeActivities,
            part: "imports",
            anchor: Anchor::AfterImports,
            template: include_str!("../../templates/services/cloudwatch_imports.py"),
        },
        PyBlock {
            file: PyFile::HomeActivities,
            part: "log",
            anchor: Anchor::BodyStart {
                class: "HomeActivities",
                method: "run",
            },
            template: include_str!("../../templates/services/cloudwatch_log.py"),
        },
    ],
    hand_made: &[HandMade {
        file: PyFile::App,
        mentions: &["watchtower"],
        complete: &["CloudWatchLogHandler"],
        flaws: &[(
            "log_group=",
            "uses watchtower's deprecated `log_group=` argument; the current name is `log_group_name=`",
        )],
    }],
};
