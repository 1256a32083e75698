//! The stand-ins themselves (tests/support/): they must keep answering what the real services
//! document, so that a later edit cannot quietly drift into answers no service gives. Each
//! shape pinned here is cited in the stand-in beside the code that produces it.

mod common;

use common::*;
use serde_json::{json, Value};

async fn call(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn honeycomb_answers_as_its_auth_api_documents() {
    let fake = fake("none");
    let base = format!("http://127.0.0.1:{}", fake.port);
    let http = o11y::net::client(std::time::Duration::from_secs(10)).unwrap();
    let auth = |key: &str| {
        http.get(format!("{base}/1/auth"))
            .header("X-Honeycomb-Team", key)
    };

    // Classic keys report "configuration", may send, and have no environment.
    let (status, v) = call(auth("test-classic-key-00000001")).await;
    assert_eq!(status, 200);
    assert_eq!(v["type"], "configuration");
    assert_eq!(v["api_key_access"]["events"], true);
    assert_eq!(v["api_key_access"]["createDatasets"], false);
    assert_eq!(v["environment"], json!({"name": "", "slug": ""}));
    for field in ["id", "type", "api_key_access", "environment", "team"] {
        assert!(
            v.get(field).is_some(),
            "required field {field} missing: {v}"
        );
    }
    // Ingest keys: api_key_access holds only createDatasets.
    let (_, v) = call(auth("test-env-ingest-key-000001")).await;
    assert_eq!(v["type"], "ingest");
    assert_eq!(v["api_key_access"], json!({"createDatasets": true}));
    // An unknown key: 401 and the legacy error body.
    let (status, v) = call(auth("no-such-key")).await;
    assert_eq!(status, 401);
    assert_eq!(
        v,
        json!({"error": "unknown API key - check your credentials"})
    );

    // OTLP: a classic key without a dataset header is 401 with husky's message.
    let (status, v) = call(
        http.post(format!("{base}/v1/traces"))
            .header("x-honeycomb-team", "test-classic-key-00000001")
            .header("content-type", "application/x-protobuf")
            .body(vec![0u8; 4]),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        v,
        json!({"message": "missing 'x-honeycomb-dataset' header"})
    );
}

#[tokio::test]
async fn rollbar_checks_the_schema_before_the_token_and_refuses_with_403() {
    let fake = fake("none");
    let url = format!("http://127.0.0.1:{}/api/1/item/", fake.port);
    let http = o11y::net::client(std::time::Duration::from_secs(10)).unwrap();
    let item = json!({"data": {"environment": "t", "body": {"message": {"body": "hi"}}}});
    let post = |token: Option<&str>, body: &Value| {
        let r = http.post(&url).json(body);
        match token {
            Some(t) => r.header("X-Rollbar-Access-Token", t),
            None => r,
        }
    };
    // An empty item is 422 whatever the token: 422 proves nothing about it.
    for token in ["test-rollbar-post-server-token", "no-such-token"] {
        let (status, v) = call(post(Some(token), &json!({"data": {}}))).await;
        assert_eq!(status, 422, "{token}");
        assert_eq!(v["err"], 1);
    }
    let (status, v) = call(post(None, &item)).await;
    assert_eq!(status, 422);
    assert_eq!(
        v["message"],
        "Invalid format. access_token is missing and it is required."
    );
    let cases = [
        ("no-such-token", "access token not found: no-such-token"),
        (
            "test-rollbar-disabled-token",
            "insufficient privileges: The access token is disabled.",
        ),
        (
            "test-rollbar-read-token",
            "insufficient privileges: post_server_item scope is required but the access token only has read.",
        ),
    ];
    for (token, message) in cases {
        let (status, v) = call(post(Some(token), &item)).await;
        assert_eq!(status, 403, "{token}");
        assert_eq!(v, json!({"err": 1, "message": message}));
    }
    let (status, v) = call(post(Some("test-rollbar-post-server-token"), &item)).await;
    assert_eq!(status, 200);
    assert_eq!(v["err"], 0);
    assert_eq!(v["result"]["id"], Value::Null);
    assert!(
        v["result"]["uuid"].as_str().is_some_and(|u| !u.is_empty()),
        "{v}"
    );
    let (status, v) = call(http.post(&url).body("{not json")).await;
    assert_eq!(status, 400);
    assert_eq!(v["err"], 1);
}

async fn xray_client(port: u16, secret: &str) -> aws_sdk_xray::Client {
    let cfg = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing", secret, None, None, "test",
        ))
        .load()
        .await;
    aws_sdk_xray::Client::new(&cfg)
}

#[tokio::test]
async fn xray_answers_as_its_api_model_says() {
    use aws_sdk_xray::error::ProvideErrorMetadata;
    let moto = moto(false);
    let standin = xray_standin_with(moto.port, &["--page-size", "1", "--delay", "600"]);
    let x = xray_client(standin.port, "testing").await;

    // Every account has the Default rule; rules come a page at a time.
    let first = x.get_sampling_rules().send().await.unwrap();
    let names: Vec<_> = first
        .sampling_rule_records()
        .iter()
        .filter_map(|r| r.sampling_rule()?.rule_name())
        .collect();
    assert_eq!(names, ["Default"]);
    assert!(first.next_token().is_none(), "one rule, one page");
    x.create_group()
        .group_name("G")
        .filter_expression("service(\"s\")")
        .send()
        .await
        .unwrap();
    let again = x.create_group().group_name("G").send().await.unwrap_err();
    assert_eq!(again.code(), Some("InvalidRequestException"));
    let rule = aws_sdk_xray::types::SamplingRule::builder()
        .rule_name("R")
        .resource_arn("*")
        .priority(1)
        .fixed_rate(0.1)
        .reservoir_size(1)
        .service_name("*")
        .service_type("*")
        .host("*")
        .http_method("*")
        .url_path("*")
        .version(1)
        .build()
        .unwrap();
    x.create_sampling_rule()
        .sampling_rule(rule.clone())
        .send()
        .await
        .unwrap();
    let again = x
        .create_sampling_rule()
        .sampling_rule(rule)
        .send()
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some("InvalidRequestException"));
    let page = x.get_sampling_rules().send().await.unwrap();
    assert!(page.next_token().is_some(), "two rules at one a page");

    // A trace is not readable before it is processed.
    let trace = format!("1-{:08x}-{}", 1_800_000_000u32, "ab".repeat(12));
    let doc = json!({"name": "s", "id": "0123456789abcdef", "trace_id": trace,
                     "start_time": 1.8e9, "end_time": 1.8e9 + 0.1});
    let put = x
        .put_trace_segments()
        .trace_segment_documents(doc.to_string())
        .send()
        .await
        .unwrap();
    assert!(put.unprocessed_trace_segments().is_empty());
    let got = x.batch_get_traces().trace_ids(&trace).send().await.unwrap();
    assert!(got.traces().is_empty());
    assert_eq!(got.unprocessed_trace_ids(), std::slice::from_ref(&trace));

    // A wrong secret: InvalidSignatureException, as AWS's JSON services answer.
    let wrong = xray_client(standin.port, "not-the-secret").await;
    let e = wrong.get_group().group_name("G").send().await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidSignatureException"));
}
