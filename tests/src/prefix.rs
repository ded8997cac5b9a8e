//! Validation of the WordPress table prefix, the only identifier spliced into SQL.

use thiserror::Error;

#[derive(Debug, Error)]
#[error("invalid table prefix {0:?}: expected 1 to 32 characters from [A-Za-z0-9_]")]
pub struct InvalidPrefix(pub String);

/// Letters, digits and `_` only: safe to splice between backticks.
pub fn is_identifier(name: &str) -> bool {
    name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Accepts exactly what `^[A-Za-z0-9_]{1,32}$` accepts.
pub fn validate_prefix(prefix: &str) -> Result<&str, InvalidPrefix> {
    let ok = (1..=32).contains(&prefix.len()) && is_identifier(prefix);
    if ok {
        Ok(prefix)
    } else {
        Err(InvalidPrefix(prefix.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::validate_prefix;

    #[test]
    fn accepts_only_safe_identifiers() {
        assert!(validate_prefix("wp_").is_ok());
        assert!(validate_prefix("Shop2_").is_ok());
        assert!(validate_prefix(&"a".repeat(32)).is_ok());
        assert!(validate_prefix("").is_err());
        assert!(validate_prefix(&"a".repeat(33)).is_err());
        assert!(validate_prefix("wp`; DROP").is_err());
        assert!(validate_prefix("wp-").is_err());
        assert!(validate_prefix("wpé").is_err());
    }
}
