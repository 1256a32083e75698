//! The HTTP and AWS plumbing every command shares: the one client builder, where a key may be
//! sent, same-origin redirects, one poll helper, and network failures classified (one line of
//! what happened and a hint of what to do) for every service o11y talks to.

pub mod aws;

use std::fmt;

/// What went wrong talking to a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    Timeout,
    Refused,
    Dns,
    Tls,
    Unauthorized,
    Forbidden,
    NotFound,
    RateLimited {
        retry_after: Option<String>,
    },
    Server(u16),
    Status(u16),
    /// An answer that is not what the service sends.
    BadBody(String),
    Other(String),
}

impl Fault {
    pub fn from_status(status: u16, retry_after: Option<String>) -> Fault {
        match status {
            401 => Fault::Unauthorized,
            403 => Fault::Forbidden,
            404 => Fault::NotFound,
            429 => Fault::RateLimited { retry_after },
            500..=599 => Fault::Server(status),
            s => Fault::Status(s),
        }
    }

    pub fn from_reqwest(e: &reqwest::Error) -> Fault {
        if e.is_timeout() {
            return Fault::Timeout;
        }
        let mut chain = String::new();
        let mut src: Option<&dyn std::error::Error> = Some(e);
        while let Some(s) = src {
            chain.push_str(&s.to_string().to_ascii_lowercase());
            chain.push(' ');
            src = s.source();
        }
        if chain.contains("dns")
            || chain.contains("failed to lookup")
            || chain.contains("name or service not known")
        {
            Fault::Dns
        } else if chain.contains("refused") {
            Fault::Refused
        } else if ["certificate", "tls", "handshake", "corrupt message"]
            .iter()
            .any(|w| chain.contains(w))
        {
            Fault::Tls
        } else if chain.contains("timed out") {
            Fault::Timeout
        } else {
            Fault::Other(self::chain(e))
        }
    }

    /// One line: what happened with `service` at `host`.
    pub fn line(&self, service: &str, host: &str) -> String {
        match self {
            Fault::Timeout => format!("{service} ({host}) did not answer in time"),
            Fault::Refused => {
                format!("{service} ({host}) refused the connection: nothing listens there")
            }
            Fault::Dns => format!("{host} cannot be resolved (DNS)"),
            Fault::Tls => format!("the TLS handshake with {host} failed"),
            Fault::Unauthorized => format!("{service} rejected the key"),
            Fault::Forbidden => format!("{service} knows the key but does not allow this with it"),
            Fault::NotFound => {
                format!("{service} answered 404: the endpoint {host} is not {service}'s API")
            }
            Fault::RateLimited { retry_after } => format!(
                "{service} is rate-limiting this key (429){}",
                retry_after
                    .as_ref()
                    .map(|r| format!(", retry after {r} s"))
                    .unwrap_or_default()
            ),
            Fault::Server(s) => format!("{service} had an error of its own ({s})"),
            Fault::Status(s) => format!("{service} answered an unexpected {s}"),
            Fault::BadBody(what) => format!("{host} answered, but not as {service} does: {what}"),
            Fault::Other(e) => format!("cannot reach {service} ({host}): {e}"),
        }
    }

    /// What to do about it. `endpoint_setting` names the override in effect, or is empty when
    /// the real service's own address was used (then no setting is blamed).
    pub fn hint(&self, key_var: &str, endpoint_setting: &str) -> String {
        let set = !endpoint_setting.is_empty();
        match self {
            Fault::Timeout if set => format!("check your network; a proxy or firewall may block it (or raise `--timeout`); a wrong `{endpoint_setting}` can do this too"),
            Fault::Timeout => "check your network; a proxy or firewall may block it (or raise `--timeout`)".into(),
            Fault::Refused if set => format!("check `{endpoint_setting}`: it points at a port where nothing runs"),
            Fault::Refused => "check your network and proxy settings (`HTTPS_PROXY`)".into(),
            Fault::Dns if set => format!("check your network, and the host name in `{endpoint_setting}`"),
            Fault::Dns => "check your network: this machine cannot look up the service's name (DNS); `ping 1.1.1.1` and your resolver settings tell more".into(),
            Fault::Tls => "a proxy may intercept HTTPS, or the clock is wrong; check `date` and your proxy settings".into(),
            Fault::Unauthorized => format!("copy the key again into `{key_var}` (no quotes or spaces), then run `o11y doctor` again"),
            Fault::Forbidden => format!("use a key with the needed permission in `{key_var}`"),
            Fault::NotFound if set => format!("unset `{endpoint_setting}` to use the real service, or fix its URL"),
            Fault::RateLimited { .. } => "wait a minute and run it again".into(),
            Fault::Server(_) => "the service has trouble; try again in a few minutes".into(),
            Fault::Status(_) | Fault::BadBody(_) if set => format!("check `{endpoint_setting}`: it should point at the real service"),
            Fault::NotFound | Fault::Status(_) | Fault::BadBody(_) => "something between this machine and the service (a proxy, a captive portal) answered instead of it; check your network".into(),
            Fault::Other(_) => "check your network and try again".into(),
        }
    }
}

/// The setting to name in a hint: `var` when `api` is an override, nothing for `default`.
pub fn override_name<'a>(api: &str, default: &str, var: &'a str) -> &'a str {
    if api.trim_end_matches('/') == default.trim_end_matches('/') {
        ""
    } else {
        var
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.line("the service", "its endpoint"))
    }
}

/// The host part of a URL, for messages.
pub fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_else(|| url.to_string())
}

/// A request whose failure is a `Fault`: Ok with (status, body) for 2xx answers and for the
/// statuses in `interpret`, which the caller reads itself.
pub async fn send_bytes(
    req: reqwest::RequestBuilder,
    interpret: &[u16],
) -> Result<(u16, bytes::Bytes), Fault> {
    let r = req.send().await.map_err(|e| Fault::from_reqwest(&e))?;
    let status = r.status().as_u16();
    // Retry-After is HTTP's; Rollbar says it with x-rate-limit-remaining-seconds instead.
    let retry = ["retry-after", "x-rate-limit-remaining-seconds"]
        .iter()
        .find_map(|h| r.headers().get(*h))
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = r.bytes().await.map_err(|e| Fault::from_reqwest(&e))?;
    if (200..300).contains(&status) || interpret.contains(&status) {
        Ok((status, body))
    } else {
        Err(Fault::from_status(status, retry))
    }
}

/// [`send_bytes`] with the body as text.
pub async fn send(req: reqwest::RequestBuilder, interpret: &[u16]) -> Result<(u16, String), Fault> {
    let (status, body) = send_bytes(req, interpret).await?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// `e.source()` chains made plain, for errors that are not reqwest's.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

/// Whether a key may be sent to `url`: over `https://`, or over `http://` to this machine only
/// (127.0.0.0/8, ::1, localhost). Judged on the URL as the HTTP client parses it, so
/// `HTTP://`, `http:/host`, `http:\\host` and stray spaces are seen for what they are.
pub fn key_may_go_to(url: &str) -> Result<reqwest::Url, String> {
    let u = reqwest::Url::parse(url.trim()).map_err(|e| format!("`{url}` is not a URL ({e})"))?;
    let host = u.host_str().unwrap_or("");
    let loopback = match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
    {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    };
    match u.scheme() {
        "https" if !host.is_empty() => Ok(u),
        "http" if loopback => Ok(u),
        "http" => Err(format!(
            "a key sent to {url} would travel unencrypted (http://) to another machine"
        )),
        other => Err(format!(
            "`{url}` is not an https:// URL (its scheme is `{other}`)"
        )),
    }
}

/// Redirects are followed only within the origin the request went to: a key header must never
/// be carried to another host (reqwest drops only its own sensitive headers on the way).
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().cloned();
        let same = first.is_some_and(|f| f.origin() == attempt.url().origin());
        if !same || attempt.previous().len() > 5 {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// Makes aws-lc, the crypto library the AWS SDK's rustls uses, the one of every other rustls
/// client too: one TLS stack, one crypto library.
pub fn use_one_crypto_library() {
    // Err only when a provider is installed already, which is the same one.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// The HTTP client for the services' APIs, giving up after `timeout`. Server certificates are
/// checked against the system's root certificates, as the AWS SDK does, so a proxy with its
/// own CA works the same for every service.
/// The only place a client is built: every request o11y makes goes through one of these.
pub fn client(timeout: std::time::Duration) -> Result<reqwest::Client, String> {
    use_one_crypto_library();
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(same_origin_redirects())
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))
}

/// The body of a 2xx answer, or what the answer was.
pub async fn expect_2xx(r: Result<reqwest::Response, reqwest::Error>) -> Result<String, String> {
    match r {
        Ok(r) if r.status().is_success() => Ok(r.text().await.unwrap_or_default()),
        Ok(r) => {
            let status = r.status();
            Err(format!(
                "answered {status}: {}",
                r.text()
                    .await
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect::<String>()
            ))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The time since the Unix epoch.
pub fn unix_now() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_go_encrypted_or_to_this_machine_only() {
        for ok in [
            "https://api.honeycomb.io",
            "http://127.0.0.1:4318",
            "http://127.8.9.1",
            "http://localhost:1/x",
            "HTTP://LOCALHOST:9",
            "http://[::1]:80",
            " https://api.rollbar.com/api/1/",
        ] {
            assert!(super::key_may_go_to(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.honeycomb.io",
            "HTTP://api.honeycomb.io",
            "Http://api.honeycomb.io",
            "http:/api.honeycomb.io",
            "http:\\\\api.honeycomb.io",
            " http://api.honeycomb.io",
            "http://127.0.0.1.nip.io",
            "http://localhost.example.com",
            "ftp://api.honeycomb.io",
            "api.honeycomb.io",
            "http://0x7f.1@evil.example",
        ] {
            assert!(super::key_may_go_to(bad).is_err(), "{bad}");
        }
    }
}
