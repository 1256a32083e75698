//! What parsing a JSON body would build, measured before it is built: one pass over the bytes
//! that allocates nothing. Every receiver that parses JSON checks a body's shape first, so a
//! few megabytes of `[{},{},...]` cannot become gigabytes of values.

/// Values (every scalar, string, object key, array and object) and the deepest nesting.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub values: usize,
    pub containers: usize,
    pub depth: usize,
}

/// Nesting no receiver needs (serde_json stops at 128).
pub const MAX_DEPTH: usize = 64;

/// The shape of `b`, counting stopped once `max_values` or `MAX_DEPTH` is passed (the shape
/// returned then is past the bound, which is all a caller needs to know). Exact for valid JSON;
/// for invalid JSON a bound on what a parser would build before it failed.
pub fn shape(b: &[u8], max_values: usize) -> Shape {
    let mut s = Shape::default();
    let (mut depth, mut in_str, mut escaped, mut in_scalar) = (0usize, false, false, false);
    for &x in b {
        if in_str {
            match (escaped, x) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match x {
            b'"' => {
                in_str = true;
                in_scalar = false;
                s.values += 1;
            }
            b'{' | b'[' => {
                in_scalar = false;
                s.values += 1;
                s.containers += 1;
                depth += 1;
                s.depth = s.depth.max(depth);
            }
            b'}' | b']' => {
                in_scalar = false;
                depth = depth.saturating_sub(1);
            }
            b',' | b':' | b' ' | b'\t' | b'\n' | b'\r' => in_scalar = false,
            _ if !in_scalar => {
                in_scalar = true;
                s.values += 1;
            }
            _ => {}
        }
        if s.values > max_values || s.depth > MAX_DEPTH {
            break;
        }
    }
    s
}

/// Why `b` is refused, when it holds more than `max_values` values or nests deeper than
/// MAX_DEPTH.
pub fn too_large(b: &[u8], max_values: usize) -> Option<String> {
    let s = shape(b, max_values);
    if s.depth > MAX_DEPTH {
        Some(format!("JSON nested deeper than {MAX_DEPTH} levels"))
    } else if s.values > max_values {
        Some(format!("JSON of more than {max_values} values"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_value_outside_strings() {
        let s = shape(
            br#"{"a": [1, -2.5e3, true, null, "x,{[\"]"], "b": {}}"#,
            usize::MAX,
        );
        // the object, "a", the array, 5 scalars/strings, "b", {}
        assert_eq!(
            s,
            Shape {
                values: 10,
                containers: 3,
                depth: 2
            }
        );
        assert_eq!(shape(b"[[[[]]]]", 100).depth, 4);
        assert!(too_large(b"[{},{},{}]", 3).is_some());
        assert!(too_large(b"[{},{},{}]", 4).is_none());
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert!(too_large(deep.as_bytes(), 1000).unwrap().contains("deeper"));
    }
}
