//! o11y.toml: the integrations switched on and the service name. Never a secret.

use toml_edit::{Array, DocumentMut, Item, Value};

use super::ParseError;
use crate::spec::Integration;

pub const FILE: &str = "o11y.toml";

const HEADER: &str = "# o11y's settings for this project. No secrets here: keys live in your environment,\n# your Gitpod or Codespaces secrets, or a git-ignored .env.\n";

/// What o11y.toml says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub service: Option<String>,
    pub integrations: Option<Vec<Integration>>,
    /// `[endpoints]`: honeycomb_api, rollbar_api (flags and environment variables win).
    pub endpoints: std::collections::BTreeMap<String, String>,
}

fn line_of(text: &str, span: Option<std::ops::Range<usize>>) -> usize {
    span.map_or(1, |s| {
        text[..s.start.min(text.len())].matches('\n').count() + 1
    })
}

/// The settings of `text`; `known` are the integration names it may list.
pub fn parse(text: &str, known: &[Integration]) -> Result<Config, ParseError> {
    // The immutable document keeps spans, for line numbers in errors.
    let doc = toml_edit::ImDocument::parse(text).map_err(|e: toml_edit::TomlError| {
        ParseError::new(
            line_of(text, e.span()),
            format!("not valid TOML: {}", e.message()),
        )
    })?;
    let service = match doc.get("service") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .ok_or_else(|| {
                    ParseError::new(line_of(text, v.span()), "`service` must be a string")
                })?
                .to_string(),
        ),
    };
    let integrations = match doc.get("integrations") {
        None => None,
        Some(v) => {
            let arr = v.as_array().ok_or_else(|| {
                ParseError::new(
                    line_of(text, v.span()),
                    "`integrations` must be a list of names",
                )
            })?;
            let mut out = Vec::new();
            for item in arr.iter() {
                let name = item.as_str().unwrap_or_default();
                let i = known
                    .iter()
                    .copied()
                    .find(|i| i.name().eq_ignore_ascii_case(name.trim()))
                    .ok_or_else(|| {
                        ParseError::new(
                            line_of(text, item.span()),
                            format!(
                                "`{name}` is not an integration; choose from {}",
                                known
                                    .iter()
                                    .map(|i| i.name())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        )
                    })?;
                out.push(i);
            }
            out.sort();
            out.dedup();
            Some(out)
        }
    };
    let mut endpoints = std::collections::BTreeMap::new();
    if let Some(t) = doc.get("endpoints").and_then(|e| e.as_table_like()) {
        for (k, v) in t.iter() {
            let url = v.as_str().ok_or_else(|| {
                ParseError::new(
                    line_of(text, v.span()),
                    format!("endpoint `{k}` must be a URL string"),
                )
            })?;
            endpoints.insert(k.to_string(), url.to_string());
        }
    }
    Ok(Config {
        service,
        integrations,
        endpoints,
    })
}

/// The file's text with `service` and `integrations` set, everything else kept.
pub fn render(
    before: Option<&str>,
    service: &str,
    enabled: &[Integration],
    known: &[Integration],
) -> Result<String, ParseError> {
    let mut doc: DocumentMut = match before {
        Some(t) => {
            parse(t, known)?;
            t.parse().expect("checked above")
        }
        None => {
            let mut list = enabled.to_vec();
            list.sort();
            let names: Vec<String> = list.iter().map(|i| format!("\"{}\"", i.name())).collect();
            return Ok(format!(
                "{HEADER}service = \"{}\"\nintegrations = [{}]\n",
                service.replace('\\', "\\\\").replace('"', "\\\""),
                names.join(", ")
            ));
        }
    };
    if doc.get("service").and_then(|v| v.as_str()) != Some(service) {
        doc["service"] = toml_edit::value(service);
    }
    let mut sorted = enabled.to_vec();
    sorted.sort();
    let current = before
        .and_then(|t| parse(t, known).ok())
        .and_then(|c| c.integrations);
    if current.as_deref() != Some(&sorted[..]) {
        let mut arr = Array::new();
        for i in &sorted {
            arr.push(i.name());
        }
        doc["integrations"] = Item::Value(Value::Array(arr));
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrations::all;

    #[test]
    fn round_trip_keeps_comments() {
        let t = render(None, "backend-flask", all(), all()).unwrap();
        assert!(t.starts_with("# o11y's settings"));
        let c = parse(&t, all()).unwrap();
        assert_eq!(c.service.as_deref(), Some("backend-flask"));
        assert_eq!(c.integrations.unwrap(), all().to_vec());
        let edited = format!("{t}# mine\n");
        assert_eq!(
            render(Some(&edited), "backend-flask", all(), all()).unwrap(),
            edited
        );
    }

    #[test]
    fn bad_name_is_an_error_with_its_line() {
        let e = parse(
            "service = \"x\"\nintegrations = [\"honeycomb\", \"datadog\"]\n",
            all(),
        )
        .unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.what.contains("datadog"));
    }
}
