//! Rollbar's item API: `POST /api/1/item/`, answered as api.rollbar.com answers.

use serde_json::{json, Value};

use super::arrival::{malformed, now, Arrival};
use super::http::{Reply, Req};

const RECEIVER: &str = "rollbar";
/// Values an item may hold: a deep Python traceback with its locals is a few thousand.
pub const MAX_VALUES: usize = 50_000;

/// What an item says, for a person.
fn describe(data: &Value) -> (String, Option<String>) {
    let body = &data["body"];
    if let Some(m) = body["message"]["body"].as_str() {
        return (m.to_string(), None);
    }
    let trace = if body["trace"].is_object() {
        &body["trace"]
    } else {
        // A chained exception: the last one raised comes first.
        &body["trace_chain"][0]
    };
    let class = trace["exception"]["class"].as_str().map(str::to_string);
    let message = trace["exception"]["message"].as_str().unwrap_or("");
    match &class {
        Some(c) if !message.is_empty() => (format!("{c}: {message}"), class.clone()),
        Some(c) => (c.clone(), class.clone()),
        None => ("(an item with no message or exception)".into(), None),
    }
}

pub fn handle(r: &Req) -> Reply {
    if r.path != "/api/1/item/" && r.path != "/api/1/item" {
        return Reply::json(
            404,
            json!({"err": 1, "message": "Not found: this receiver takes POST /api/1/item/"}),
        );
    }
    if r.method != "POST" {
        return Reply::json(405, json!({"err": 1, "message": "Method not allowed"}));
    }
    if let Some(why) = super::json::too_large(&r.body, MAX_VALUES) {
        // Every answer of the item API, errors included, is JSON `{"err": 1, "message"}`
        // (https://docs.rollbar.com/reference/create-item); a body too large is HTTP's 413.
        return Reply::json(
            413,
            json!({"err": 1, "message": format!("Request entity too large: {why}")}),
        )
        .with(malformed(RECEIVER, format!("item refused: {why}")));
    }
    let payload: Value = match serde_json::from_slice(&r.body) {
        Ok(v) => v,
        Err(e) => {
            let why = format!("body is not JSON: {e}");
            return Reply::json(
                400,
                json!({"err": 1, "message": "Invalid JSON in request body"}),
            )
            .with(malformed(RECEIVER, why));
        }
    };
    let token = match r.header("x-rollbar-access-token") {
        "" => payload["access_token"].as_str().unwrap_or(""),
        t => t,
    };
    if token.is_empty() {
        return Reply::json(401, json!({"err": 1, "message": "Missing access token"}))
            .with(malformed(RECEIVER, "item without an access token"));
    }
    let data = &payload["data"];
    if !data.is_object() || !data["body"].is_object() {
        return Reply::json(
            422,
            json!({"err": 1, "message": "Invalid format. data.body is required."}),
        )
        .with(malformed(RECEIVER, "item without data.body"));
    }
    let uuid = data["uuid"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let (title, exception_class) = describe(data);
    Reply::json(200, json!({"err": 0, "result": {"id": null, "uuid": uuid}})).with(
        Arrival::Rollbar {
            time: now(),
            level: data["level"].as_str().unwrap_or("error").to_string(),
            environment: data["environment"].as_str().unwrap_or("").to_string(),
            title,
            exception_class,
            uuid,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(token: Option<&str>, body: &str) -> (u16, Value, Vec<Arrival>) {
        let mut headers = hyper::header::HeaderMap::new();
        if let Some(t) = token {
            headers.insert("x-rollbar-access-token", t.parse().unwrap());
        }
        let r = handle(&Req {
            method: "POST".into(),
            path: "/api/1/item/".into(),
            headers,
            body: body.to_string().into(),
        });
        (
            r.status,
            serde_json::from_slice(&r.body).unwrap(),
            r.arrivals,
        )
    }

    #[test]
    fn token_and_body_are_checked_like_rollbar() {
        let item =
            json!({"data": {"level": "warning", "body": {"message": {"body": "Hello World!"}}}})
                .to_string();
        assert_eq!(post(None, &item).0, 401);
        assert_eq!(post(Some("t"), "{\"data\": {}}").0, 422);
        assert_eq!(post(Some("t"), "nope").0, 400);
        let bomb = format!("{{\"data\": [{}]}}", vec!["{}"; MAX_VALUES].join(","));
        assert_eq!(post(Some("t"), &bomb).0, 413);
        let (status, body, arrivals) = post(Some("t"), &item);
        assert_eq!(status, 200);
        assert_eq!(body["err"], 0);
        assert!(body["result"]["uuid"].is_string());
        match &arrivals[0] {
            Arrival::Rollbar { level, title, .. } => assert_eq!(
                (level.as_str(), title.as_str()),
                ("warning", "Hello World!")
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn chained_exceptions_are_named() {
        let item = json!({"access_token": "t", "data": {"body": {"trace_chain": [{"frames": [], "exception": {"class": "KeyError", "message": "'x'"}}]}}});
        let (_, _, arrivals) = post(None, &item.to_string());
        match &arrivals[0] {
            Arrival::Rollbar {
                exception_class,
                title,
                ..
            } => {
                assert_eq!(exception_class.as_deref(), Some("KeyError"));
                assert_eq!(title, "KeyError: 'x'");
            }
            other => panic!("{other:?}"),
        }
    }
}
