//! AWS X-Ray: the SDK's Flask middleware, a daemon container, and a `mock-data` subsegment.

use super::{Anchor, EnvVar, HandMade, Integration, PyBlock, PyFile, Spec};

pub const SPEC: Spec = Spec {
    integration: Integration::Xray,
    packages: &["aws-xray-sdk"],
    env: &[
        EnvVar {
            name: "AWS_XRAY_URL",
            value: "${AWS_XRAY_URL:-*}",
        },
        EnvVar {
            name: "AWS_XRAY_DAEMON_ADDRESS",
            value: "${AWS_XRAY_DAEMON_ADDRESS:-xray-daemon:2000}",
        },
    ],
    blocks: &[
        PyBlock {
            file: PyFile::App,
            part: "imports",
            anchor: Anchor::AfterImports,
            template: include_str!("../../templates/app/xray_imports.py"),
        },
        PyBlock {
            file: PyFile::App,
            part: "setup",
            anchor: Anchor::AfterAppCreated,
            template: include_str!("../../templates/app/xray_setup.py"),
        },
        PyBlock {
            file: PyFile::UserActivities,
            part: "imports",
            anchor: Anchor::AfterImports,
            template: include_str!("../../templates/services/xray_imports.py"),
        },
        PyBlock {
            file: PyFile::UserActivities,
            part: "subsegment",
            anchor: Anchor::BeforeReturn {
                class: "UserActivities",
                method: "run",
            },
            template: include_str!("../../templates/services/xray_subsegment.py"),
        },
    ],
    hand_made: &[
        HandMade {
            file: PyFile::App,
            mentions: &["aws_xray_sdk", "xray_recorder"],
            complete: &["XRayMiddleware(", "xray_recorder.configure"],
            flaws: &[],
        },
        HandMade {
            file: PyFile::UserActivities,
            mentions: &["aws_xray_sdk", "xray_recorder"],
            complete: &["subsegment"],
            flaws: &[],
        },
    ],
};

/// The name of the daemon service added to the compose file.
pub const DAEMON_SERVICE: &str = "xray-daemon";

/// The daemon service, in block style at two levels of `{i}` (one indent unit) below `services:`.
/// `{e}` is the file's line ending.
pub const DAEMON_TEMPLATE: &str = "{i}xray-daemon:{e}\
{i}{i}image: \"amazon/aws-xray-daemon\"{e}\
{i}{i}environment:{e}\
{i}{i}{i}AWS_ACCESS_KEY_ID: \"${AWS_ACCESS_KEY_ID}\"{e}\
{i}{i}{i}AWS_SECRET_ACCESS_KEY: \"${AWS_SECRET_ACCESS_KEY}\"{e}\
{i}{i}{i}AWS_REGION: \"${AWS_DEFAULT_REGION}\"{e}\
{i}{i}command:{e}\
{i}{i}{i}- \"xray -o -b xray-daemon:2000\"{e}\
{i}{i}ports:{e}\
{i}{i}{i}- \"2000:2000/udp\"{e}";

/// aws/json/xray.json: the sampling rule that `init` creates.
pub const SAMPLING_RULE_TEMPLATE: &str = include_str!("../../templates/files/xray.json");
pub const SAMPLING_RULE_PATH: &str = "aws/json/xray.json";
