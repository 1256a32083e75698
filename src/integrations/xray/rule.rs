//! The tracing group and the sampling rule: o11y's, or the project's aws/json/xray.json.

/// aws/json/xray.json: the sampling rule that `init` creates.
pub const SAMPLING_RULE_TEMPLATE: &str = include_str!("../../../templates/files/xray.json");
pub const SAMPLING_RULE_PATH: &str = "aws/json/xray.json";

/// The tracing group `init`, `smoke` and `doctor --fix` create.
pub const GROUP: &str = "Cruddur";

pub fn group_filter(service: &str) -> String {
    format!("service(\"{service}\")")
}

/// The sampling rule of aws/json/xray.json (`{"SamplingRule": {...}}`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuleSpec {
    pub rule_name: String,
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    pub priority: i32,
    pub fixed_rate: f64,
    pub reservoir_size: i32,
    pub service_name: String,
    pub service_type: String,
    pub host: String,
    #[serde(rename = "HTTPMethod")]
    pub http_method: String,
    #[serde(rename = "URLPath")]
    pub url_path: String,
    pub version: i32,
}

impl RuleSpec {
    pub fn parse(json: &str) -> Result<RuleSpec, String> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct File {
            sampling_rule: RuleSpec,
        }
        serde_json::from_str::<File>(json)
            .map(|f| f.sampling_rule)
            .map_err(|e| format!("aws/json/xray.json: {e}"))
    }

    pub(super) fn to_sdk(&self) -> aws_sdk_xray::types::SamplingRule {
        aws_sdk_xray::types::SamplingRule::builder()
            .rule_name(&self.rule_name)
            .resource_arn(&self.resource_arn)
            .priority(self.priority)
            .fixed_rate(self.fixed_rate)
            .reservoir_size(self.reservoir_size)
            .service_name(&self.service_name)
            .service_type(&self.service_type)
            .host(&self.host)
            .http_method(&self.http_method)
            .url_path(&self.url_path)
            .version(self.version)
            .build()
            .expect("every required field is set")
    }

    /// What differs from the rule AWS has, field by field.
    pub(super) fn differences(&self, r: &aws_sdk_xray::types::SamplingRule) -> Vec<String> {
        let mut d = Vec::new();
        let mut cmp = |name: &str, want: String, have: String| {
            if want != have {
                d.push(format!("{name} is {have}, not {want}"));
            }
        };
        cmp(
            "FixedRate",
            self.fixed_rate.to_string(),
            r.fixed_rate().to_string(),
        );
        cmp(
            "ReservoirSize",
            self.reservoir_size.to_string(),
            r.reservoir_size().to_string(),
        );
        cmp(
            "Priority",
            self.priority.to_string(),
            r.priority().to_string(),
        );
        cmp(
            "ServiceName",
            self.service_name.clone(),
            r.service_name().to_string(),
        );
        cmp("URLPath", self.url_path.clone(), r.url_path().to_string());
        d
    }
}

/// The rule o11y writes, for projects without aws/json/xray.json.
pub fn default_rule(service: &str) -> RuleSpec {
    RuleSpec::parse(&SAMPLING_RULE_TEMPLATE.replace("{service}", service))
        .expect("the template is valid")
}

/// The rule the project asks for: aws/json/xray.json, else o11y's default.
pub fn project_rule(root: Option<&std::path::Path>, service: &str) -> Result<RuleSpec, String> {
    match root.and_then(|r| std::fs::read_to_string(r.join(SAMPLING_RULE_PATH)).ok()) {
        Some(text) => RuleSpec::parse(&text),
        None => Ok(default_rule(service)),
    }
}
