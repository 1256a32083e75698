//! AWS credentials, region and identity, through the SDK's own chain (environment, profile,
//! SSO). Endpoints follow the SDK's variables (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`),
//! which is how tests point o11y at moto.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

use super::Fault;

pub const REGION_VARS: &[&str] = &["AWS_DEFAULT_REGION", "AWS_REGION"];

/// The SDK configuration, with o11y's time limits.
pub async fn config(timeout: Duration) -> SdkConfig {
    config_with(timeout, None, None).await
}

/// Keys given to o11y (typed, piped or from a store) rather than found by the SDK's chain.
pub struct Keys {
    pub id: String,
    pub secret: String,
    /// Temporary credentials (SSO, `aws configure export-credentials`) come with one.
    pub token: Option<String>,
}

/// The SDK configuration with these keys and region, where given; the SDK's chain otherwise.
pub async fn config_with(
    timeout: Duration,
    keys: Option<&Keys>,
    region: Option<&str>,
) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(timeout)
                .connect_timeout(timeout)
                .build(),
        )
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1));
    if let Some(k) = keys {
        loader = loader.credentials_provider(aws_credential_types::Credentials::new(
            k.id.clone(),
            k.secret.clone(),
            k.token.clone(),
            None,
            "o11y",
        ));
    }
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r.to_string()));
    }
    loader.load().await
}

/// Whether a region name has AWS's shape (`us-east-1`, `eu-central-2`, `us-gov-west-1`).
pub fn valid_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
}

/// Calls `probe` until it finds what it looks for (`Ok(true)`), waiting longer after each miss
/// (250 ms, then ×1.6, at most 3 s) and giving up once `bound` has passed (`Ok(false)`). For the
/// read-backs of X-Ray and CloudWatch Logs, which make new data readable only after a delay.
pub async fn poll<F, Fut, E>(bound: Duration, mut probe: F) -> Result<bool, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, E>>,
{
    let until = std::time::Instant::now() + bound;
    let mut pause = Duration::from_millis(250);
    loop {
        if probe().await? {
            return Ok(true);
        }
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        tokio::time::sleep(pause.min(left)).await;
        pause = pause.mul_f64(1.6).min(Duration::from_secs(3));
    }
}

/// Who the credentials belong to.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

impl Identity {
    pub fn describe(&self) -> String {
        let acct: String = self.account.chars().take(4).collect();
        format!("account {acct}…, {}", self.arn)
    }
}

/// An AWS error, classified, with the service's own error code when there is one.
pub fn fault<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> Fault {
    match e {
        SdkError::TimeoutError(_) => Fault::Timeout,
        SdkError::DispatchFailure(d) => {
            if d.is_timeout() {
                Fault::Timeout
            } else {
                let text = super::chain(e).to_ascii_lowercase();
                if text.contains("dns") || text.contains("lookup") {
                    Fault::Dns
                } else if text.contains("refused") {
                    Fault::Refused
                } else if text.contains("certificate") || text.contains("tls") {
                    Fault::Tls
                } else {
                    Fault::Other(super::chain(e))
                }
            }
        }
        SdkError::ServiceError(s) => {
            // Some AWS-compatible servers wrap the error one level deeper than the SDK's parser
            // looks (`<Errors><Error>`); the code is then read from the body itself.
            let body = s
                .raw()
                .body()
                .bytes()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            let from_body = body
                .split_once("<Code>")
                .and_then(|(_, rest)| rest.split_once("</Code>"))
                .map(|(code, _)| code.to_string());
            let code = s
                .err()
                .code()
                .map(str::to_string)
                .or(from_body)
                .unwrap_or_default();
            let code = code.as_str();
            let status = s.raw().status().as_u16();
            match code {
                "InvalidClientTokenId"
                | "SignatureDoesNotMatch"
                // JSON-protocol services (X-Ray, CloudWatch Logs) name a wrong secret so.
                | "InvalidSignatureException"
                | "UnrecognizedClientException"
                | "ExpiredToken"
                | "ExpiredTokenException"
                | "IncompleteSignature" => Fault::Unauthorized,
                "AccessDenied" | "AccessDeniedException" => Fault::Forbidden,
                "Throttling" | "ThrottlingException" | "TooManyRequestsException" => {
                    Fault::RateLimited { retry_after: None }
                }
                _ if status >= 500 => Fault::Server(status),
                _ if status == 429 => Fault::RateLimited { retry_after: None },
                _ if code.is_empty() && status == 401 => Fault::Unauthorized,
                _ if code.is_empty() && status == 403 => Fault::Forbidden,
                _ if code.is_empty() => {
                    Fault::BadBody(format!("an HTTP {status} answer that is not an AWS error"))
                }
                _ => Fault::Other(format!("{code}: {}", s.err().message().unwrap_or(""))),
            }
        }
        SdkError::ResponseError(_) => Fault::BadBody("the answer is not an AWS response".into()),
        other => Fault::Other(super::chain(other)),
    }
}

/// STS GetCallerIdentity.
pub async fn identity(cfg: &SdkConfig) -> Result<Identity, Fault> {
    let out = aws_sdk_sts::Client::new(cfg)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| fault(&e))?;
    Ok(Identity {
        account: out.account().unwrap_or("").to_string(),
        arn: out.arn().unwrap_or("").to_string(),
    })
}

/// The host an AWS call of service `prefix` (`sts`, `xray`, `logs`) goes to: the endpoint
/// override in effect (`AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`), else
/// `PREFIX.REGION.amazonaws.com`. One name for one host in every message.
pub fn host(cfg: &aws_config::SdkConfig, prefix: &str) -> String {
    let service = match prefix {
        "logs" => "CLOUDWATCH_LOGS",
        "xray" => "XRAY",
        _ => "STS",
    };
    std::env::var(format!("AWS_ENDPOINT_URL_{service}"))
        .or_else(|_| std::env::var(crate::env::AWS_ENDPOINT_URL))
        .ok()
        .filter(|u| !u.trim().is_empty())
        .map(|u| super::host_of(&u))
        .unwrap_or_else(|| {
            format!(
                "{prefix}.{}.amazonaws.com",
                cfg.region().map(|r| r.to_string()).unwrap_or_default()
            )
        })
}

/// The hint for an AWS fault.
pub fn hint(f: &Fault) -> String {
    match f {
        Fault::Unauthorized => "the AWS keys are wrong or expired: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY again (or `aws configure`)".into(),
        Fault::Forbidden => "the AWS user lacks a permission o11y needs (see the message); add it in IAM".into(),
        other => {
            // An endpoint override is blamed only when there is one.
            let set = std::env::vars().any(|(k, v)| k.starts_with("AWS_ENDPOINT_URL") && !v.is_empty());
            other.hint("AWS_ACCESS_KEY_ID", if set { "AWS_ENDPOINT_URL" } else { "" })
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn region_shapes() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-4",
        ] {
            assert!(super::valid_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "us east 1",
            "us-east-1a",
            "-east-1",
        ] {
            assert!(!super::valid_region(bad), "{bad}");
        }
    }
}
