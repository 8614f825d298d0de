//! Quoting for the SQL the sink builds.

/// Quotes an identifier with backticks, escaping backslashes and backticks, so that any
/// table or column name is safe in a statement.
pub(crate) fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('`');
    for c in name.chars() {
        if c == '`' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('`');
    out
}

#[cfg(test)]
mod tests {
    use super::quote_ident;

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(quote_ident("events"), "`events`");
        assert_eq!(quote_ident("we`ird"), r"`we\`ird`");
        assert_eq!(quote_ident(r"back\slash"), r"`back\\slash`");
        assert_eq!(quote_ident("naïve col"), "`naïve col`");
    }
}
