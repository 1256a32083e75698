//! X-Ray on AWS: the tracing group and the sampling rule (read, compared, created), a smoke
//! segment sent through the API and read back, and its console link.

use crate::integrations::xray::rule::{group_filter, project_rule, RuleSpec, GROUP};
use crate::integrations::xray::segment::new_smoke;

type RulesError = aws_sdk_xray::error::SdkError<
    aws_sdk_xray::operation::get_sampling_rules::GetSamplingRulesError,
    aws_smithy_runtime_api::http::Response,
>;

/// Every sampling rule AWS has: GetSamplingRules answers a page at a time.
async fn all_rules(
    client: &aws_sdk_xray::Client,
) -> Result<Vec<aws_sdk_xray::types::SamplingRuleRecord>, RulesError> {
    client
        .get_sampling_rules()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
}

/// Whether AWS has a sampling rule of this name.
async fn rule_exists(client: &aws_sdk_xray::Client, name: &str) -> bool {
    all_rules(client).await.is_ok_and(|all| {
        all.iter()
            .filter_map(|r| r.sampling_rule())
            .any(|r| r.rule_name() == Some(name))
    })
}

/// The group and the rule, as AWS has them: (notes, problems). Creates what is missing when
/// `create`; "already exists" is fine; a different existing definition is reported, not changed.
pub async fn provision(
    cfg: &aws_config::SdkConfig,
    service: &str,
    rule: &RuleSpec,
    create: bool,
) -> Result<(Vec<String>, Vec<String>), crate::net::Fault> {
    use aws_sdk_xray::error::ProvideErrorMetadata;
    let client = aws_sdk_xray::Client::new(cfg);
    let mut notes = Vec::new();
    let mut problems = Vec::new();
    let filter = group_filter(service);
    // Both reads at once: they do not depend on each other. The rules come in pages.
    let (group, rules) = tokio::join!(
        client.get_group().group_name(GROUP).send(),
        all_rules(&client)
    );
    let existing = match group {
        Ok(g) => g
            .group()
            .and_then(|g| g.filter_expression())
            .map(str::to_string),
        // GetGroup names a missing group only by this code (there is no NotFound code).
        Err(e) if e.code() == Some("InvalidRequestException") => None,
        Err(e) => return Err(crate::net::aws::fault(&e)),
    };
    match existing {
        Some(f) if f == filter => notes.push(format!("group {GROUP} is there ({filter})")),
        Some(f) => problems.push(format!("group {GROUP} filters `{f}`, not `{filter}`")),
        None if create => match client
            .create_group()
            .group_name(GROUP)
            .filter_expression(&filter)
            .send()
            .await
        {
            Ok(_) => notes.push(format!("created group {GROUP} ({filter})")),
            // X-Ray has no "already exists" code: InvalidRequestException covers that and
            // every malformed request, so the group is read again to tell them apart.
            Err(e)
                if e.code() == Some("InvalidRequestException")
                    && client.get_group().group_name(GROUP).send().await.is_ok() =>
            {
                notes.push(format!("group {GROUP} is there"))
            }
            Err(e) => return Err(crate::net::aws::fault(&e)),
        },
        None => problems.push(format!("there is no group {GROUP}")),
    }
    let rules = rules.map_err(|e| crate::net::aws::fault(&e))?;
    let have = rules
        .iter()
        .filter_map(|r| r.sampling_rule())
        .find(|r| r.rule_name() == Some(rule.rule_name.as_str()))
        .cloned();
    match have {
        Some(r) => {
            let diff = rule.differences(&r);
            if diff.is_empty() {
                notes.push(format!("sampling rule {} is there", rule.rule_name));
            } else {
                problems.push(format!(
                    "sampling rule {} differs from aws/json/xray.json: {}",
                    rule.rule_name,
                    diff.join(", ")
                ));
            }
        }
        None if create => match client
            .create_sampling_rule()
            .sampling_rule(rule.to_sdk())
            .send()
            .await
        {
            Ok(_) => notes.push(format!("created sampling rule {}", rule.rule_name)),
            Err(e)
                if e.code() == Some("InvalidRequestException")
                    && rule_exists(&client, &rule.rule_name).await =>
            {
                notes.push(format!("sampling rule {} is there", rule.rule_name))
            }
            Err(e) => return Err(crate::net::aws::fault(&e)),
        },
        None => problems.push(format!("there is no sampling rule {}", rule.rule_name)),
    }
    Ok((notes, problems))
}

/// PutTraceSegments with one complete segment (checking UnprocessedTraceSegments), then, when
/// `verify`, BatchGetTraces until the trace is there (at most `wait`). Returns the trace id and
/// whether it was read back.
pub async fn smoke_aws(
    cfg: &aws_config::SdkConfig,
    service: &str,
    verify: bool,
    wait: std::time::Duration,
) -> Result<(String, bool), String> {
    let client = aws_sdk_xray::Client::new(cfg);
    let (trace, datagram) = new_smoke(service);
    let doc = datagram
        .split_once('\n')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    let out = client
        .put_trace_segments()
        .trace_segment_documents(doc)
        .send()
        .await
        .map_err(|e| {
            crate::net::aws::fault(&e).line("AWS X-Ray", &crate::net::aws::host(cfg, "xray"))
        })?;
    if let Some(u) = out.unprocessed_trace_segments().first() {
        return Err(format!(
            "X-Ray answered 200 but did not take the segment: {} {}",
            u.error_code().unwrap_or(""),
            u.message().unwrap_or("")
        ));
    }
    if !verify {
        return Ok((trace, false));
    }
    // Real X-Ray makes a trace readable only after processing it, seconds later.
    let read = crate::net::aws::poll(wait, || async {
        let got = client
            .batch_get_traces()
            .trace_ids(&trace)
            .send()
            .await
            .map_err(|e| {
                crate::net::aws::fault(&e).line("AWS X-Ray", &crate::net::aws::host(cfg, "xray"))
            })?;
        Ok::<bool, String>(got.traces().iter().any(|t| t.id() == Some(trace.as_str())))
    })
    .await?;
    Ok((trace, read))
}

pub fn console_link(region: &str, trace: &str) -> String {
    format!("https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#xray:traces/{trace}")
}

/// The group and rule provisioned, then a segment sent through the API and read back.
pub(super) async fn smoke(
    ctx: std::sync::Arc<crate::context::Ctx>,
    o: crate::integrations::behaviour::SmokeOpts,
) -> crate::report::Step {
    use crate::report::Step;
    let service = ctx.service();
    let cfg = ctx.aws().await;
    let Some(region) = cfg.region().map(|r| r.to_string()) else {
        return Step::failed(
            "no AWS region",
            "`export AWS_DEFAULT_REGION=us-east-1` (your region), then run `o11y smoke` again",
        );
    };
    let rule = match project_rule(ctx.root(), &service) {
        Err(e) => {
            return Step::failed(
                e,
                "fix aws/json/xray.json (or delete it and run `o11y apply`)",
            )
        }
        Ok(rule) => rule,
    };
    let (notes, problems) = match provision(cfg, &service, &rule, true).await {
        Err(f) => {
            return Step::failed(
                f.line("AWS X-Ray", &crate::net::aws::host(cfg, "xray")),
                crate::net::aws::hint(&f),
            )
        }
        Ok(found) => found,
    };
    match smoke_aws(cfg, &service, o.verify, o.wait).await {
        Err(e) => Step::failed(e, "run `o11y doctor --only services,xray` for the cause"),
        Ok((trace, read)) => {
            let mut detail = if read {
                format!("segment read back ({trace})")
            } else if o.verify {
                format!("segment accepted ({trace}), not readable yet after {:.0} s: X-Ray processes a trace before it can be read; the link shows it in a minute", o.wait.as_secs_f64())
            } else {
                format!("segment accepted ({trace})")
            };
            for n in notes.iter().chain(problems.iter()) {
                detail.push_str(&format!("; {n}"));
            }
            let link = Some(console_link(&region, &trace));
            if read {
                Step::verified(detail, link)
            } else {
                Step::accepted(detail, link)
            }
        }
    }
}
