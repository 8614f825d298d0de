//! `rename_all` rules, with serde's case names, and the default table name.

/// A `rename_all` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RenameRule {
    /// `"lowercase"`
    Lower,
    /// `"UPPERCASE"`
    Upper,
    /// `"PascalCase"`
    Pascal,
    /// `"camelCase"`
    Camel,
    /// `"snake_case"`
    Snake,
    /// `"SCREAMING_SNAKE_CASE"`
    ScreamingSnake,
    /// `"kebab-case"`
    Kebab,
    /// `"SCREAMING-KEBAB-CASE"`
    ScreamingKebab,
}

const RULES: &[(&str, RenameRule)] = &[
    ("lowercase", RenameRule::Lower),
    ("UPPERCASE", RenameRule::Upper),
    ("PascalCase", RenameRule::Pascal),
    ("camelCase", RenameRule::Camel),
    ("snake_case", RenameRule::Snake),
    ("SCREAMING_SNAKE_CASE", RenameRule::ScreamingSnake),
    ("kebab-case", RenameRule::Kebab),
    ("SCREAMING-KEBAB-CASE", RenameRule::ScreamingKebab),
];

impl RenameRule {
    /// Parses a rule name, or says which names exist.
    pub(crate) fn from_name(name: &str) -> Result<Self, String> {
        RULES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, rule)| *rule)
            .ok_or_else(|| {
                let names: Vec<String> = RULES.iter().map(|(n, _)| format!("\"{n}\"")).collect();
                format!(
                    "unknown `rename_all` rule \"{name}\"; expected one of {}",
                    names.join(", ")
                )
            })
    }

    /// Renames a struct field, written in snake_case.
    pub(crate) fn apply_to_field(self, field: &str) -> String {
        match self {
            RenameRule::Lower | RenameRule::Snake => field.to_owned(),
            RenameRule::Upper | RenameRule::ScreamingSnake => field.to_ascii_uppercase(),
            RenameRule::Pascal => {
                let mut out = String::with_capacity(field.len());
                let mut capitalize = true;
                for ch in field.chars() {
                    if ch == '_' {
                        capitalize = true;
                    } else if capitalize {
                        out.push(ch.to_ascii_uppercase());
                        capitalize = false;
                    } else {
                        out.push(ch);
                    }
                }
                out
            }
            RenameRule::Camel => lower_first(&RenameRule::Pascal.apply_to_field(field)),
            RenameRule::Kebab => field.replace('_', "-"),
            RenameRule::ScreamingKebab => field.to_ascii_uppercase().replace('_', "-"),
        }
    }

    /// Renames an enum variant, written in PascalCase.
    pub(crate) fn apply_to_variant(self, variant: &str) -> String {
        match self {
            RenameRule::Pascal => variant.to_owned(),
            RenameRule::Lower => variant.to_ascii_lowercase(),
            RenameRule::Upper => variant.to_ascii_uppercase(),
            RenameRule::Camel => lower_first(variant),
            RenameRule::Snake => {
                let mut out = String::with_capacity(variant.len() + 4);
                for (i, ch) in variant.char_indices() {
                    if i > 0 && ch.is_uppercase() {
                        out.push('_');
                    }
                    out.push(ch.to_ascii_lowercase());
                }
                out
            }
            RenameRule::ScreamingSnake => RenameRule::Snake
                .apply_to_variant(variant)
                .to_ascii_uppercase(),
            RenameRule::Kebab => RenameRule::Snake
                .apply_to_variant(variant)
                .replace('_', "-"),
            RenameRule::ScreamingKebab => RenameRule::ScreamingSnake
                .apply_to_variant(variant)
                .replace('_', "-"),
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// The default table name: the struct name in snake_case, keeping acronyms together
/// (`PageView` -> `page_view`, `HTTPRequest` -> `http_request`).
pub(crate) fn table_name(ident: &str) -> String {
    let chars: Vec<char> = ident.chars().collect();
    let mut out = String::with_capacity(ident.len() + 4);
    for (i, &ch) in chars.iter().enumerate() {
        if ch.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|c| c.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.extend(ch.to_lowercase());
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        let cases = [
            // rule, "user_id", "id"
            ("lowercase", "user_id", "id"),
            ("UPPERCASE", "USER_ID", "ID"),
            ("PascalCase", "UserId", "Id"),
            ("camelCase", "userId", "id"),
            ("snake_case", "user_id", "id"),
            ("SCREAMING_SNAKE_CASE", "USER_ID", "ID"),
            ("kebab-case", "user-id", "id"),
            ("SCREAMING-KEBAB-CASE", "USER-ID", "ID"),
        ];
        for (rule, user_id, id) in cases {
            let rule = RenameRule::from_name(rule).unwrap();
            assert_eq!(rule.apply_to_field("user_id"), user_id, "{rule:?}");
            assert_eq!(rule.apply_to_field("id"), id, "{rule:?}");
        }
    }

    #[test]
    fn variants() {
        let cases = [
            ("lowercase", "pageview"),
            ("UPPERCASE", "PAGEVIEW"),
            ("PascalCase", "PageView"),
            ("camelCase", "pageView"),
            ("snake_case", "page_view"),
            ("SCREAMING_SNAKE_CASE", "PAGE_VIEW"),
            ("kebab-case", "page-view"),
            ("SCREAMING-KEBAB-CASE", "PAGE-VIEW"),
        ];
        for (rule, expected) in cases {
            let rule = RenameRule::from_name(rule).unwrap();
            assert_eq!(rule.apply_to_variant("PageView"), expected, "{rule:?}");
        }
    }

    #[test]
    fn unknown_rule_lists_the_names() {
        let err = RenameRule::from_name("Snake_Case").unwrap_err();
        assert!(err.contains("\"Snake_Case\""), "{err}");
        assert!(err.contains("\"SCREAMING-KEBAB-CASE\""), "{err}");
    }

    #[test]
    fn table_names() {
        assert_eq!(table_name("Event"), "event");
        assert_eq!(table_name("PageView"), "page_view");
        assert_eq!(table_name("HTTPRequest"), "http_request");
        assert_eq!(table_name("Event2Log"), "event2_log");
        assert_eq!(table_name("already_snake"), "already_snake");
    }
}
