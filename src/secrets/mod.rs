//! Where keys and endpoints live outside the code: `.env` beside the compose file (docker
//! compose reads it by itself), and masking for anything shown.

pub mod dotenv;

/// A secret as it may be shown: its last four characters.
pub fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    if n <= 4 {
        return "****".into();
    }
    let tail: String = secret.chars().skip(n - 4).collect();
    format!("****{tail}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_all_but_four() {
        assert_eq!(super::mask("hcaik_abcdefgh1234"), "****1234");
        assert_eq!(super::mask("abc"), "****");
    }
}
