//! Doctor's services checks that belong to no one integration: the AWS identity.

use std::sync::Arc;

use super::secrets::aws_needed;
use crate::context::{Check, CheckFuture, Ctx};
use crate::report::{Group, Outcome};

pub fn checks() -> Vec<Check> {
    vec![Check {
        id: "services.aws",
        group: Group::Services,
        title: "AWS identity (STS)",
        integration: None,
        run: aws_identity,
    }]
}

fn aws_identity(c: Arc<Ctx>) -> CheckFuture {
    Box::pin(async move {
        if !aws_needed(&c) {
            return Outcome::skip(super::secrets::aws_off(&c));
        }
        let cfg = c.aws().await;
        if cfg.region().is_none() {
            return Outcome::skip("no AWS region (see the credentials check)");
        }
        match crate::net::aws::identity(cfg).await {
            Ok(id) => Outcome::ok(id.describe()),
            Err(f) => Outcome::fail(
                f.line("AWS STS", &crate::net::aws::host(cfg, "sts")),
                crate::net::aws::hint(&f),
            ),
        }
    })
}
