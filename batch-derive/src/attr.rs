//! Parsing of the `#[batch(..)]` attributes. Every key is in one table, [`KEYS`], with
//! the places it may be written; the accepted keys listed in messages and the "goes on
//! the struct" hints come from it. Unknown and duplicated keys are errors, spanned at the
//! key; parsing goes on after an error so that every mistake is reported.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitStr, Path, Token};

use crate::case::RenameRule;
use crate::ctxt::Ctxt;

/// Where an attribute is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// On a `#[derive(BatchRow)]` struct.
    Row,
    /// On a `#[derive(BatchEnum)]` enum.
    Enum,
    /// On a field of a row.
    Field,
    /// On a variant of a `BatchEnum`.
    Variant,
}

impl Place {
    fn describe(self) -> &'static str {
        match self {
            Place::Row => "a `#[derive(BatchRow)]` struct",
            Place::Enum => "a `#[derive(BatchEnum)]` enum",
            Place::Field => "a field",
            Place::Variant => "an enum variant",
        }
    }
}

/// A key of `#[batch(..)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Table,
    RenameAll,
    Crate,
    Rename,
    Skip,
    Type,
}

/// Every key: its name, and the places it may be written.
const KEYS: &[(&str, Key, &[Place])] = &[
    ("table", Key::Table, &[Place::Row]),
    ("rename_all", Key::RenameAll, &[Place::Row, Place::Enum]),
    ("crate", Key::Crate, &[Place::Row, Place::Enum]),
    ("rename", Key::Rename, &[Place::Field, Place::Variant]),
    ("skip", Key::Skip, &[Place::Field]),
    ("type", Key::Type, &[Place::Field]),
];

/// The names of the keys accepted at `place`, in table order.
fn keys_at(place: Place) -> Vec<&'static str> {
    KEYS.iter()
        .filter(|(_, _, places)| places.contains(&place))
        .map(|(name, _, _)| *name)
        .collect()
}

/// What the attributes at one place say. Only the keys of that place can be set.
#[derive(Default)]
pub(crate) struct Attrs {
    /// `table = ".."`.
    pub(crate) table: Option<LitStr>,
    /// `rename_all = ".."`.
    pub(crate) rename_all: Option<RenameRule>,
    /// `crate = ".."`.
    pub(crate) krate: Option<Path>,
    /// `rename = ".."`.
    pub(crate) rename: Option<LitStr>,
    /// `skip`.
    pub(crate) skip: Option<Path>,
    /// `type = ".."`.
    pub(crate) ty: Option<LitStr>,
}

/// Parses every `#[batch(..)]` attribute in `attrs`, written at `place`.
pub(crate) fn parse(cx: &mut Ctxt, attrs: &[Attribute], place: Place) -> Attrs {
    let mut out = Attrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("batch")) {
        // A syntax error ends that attribute (its tokens cannot be trusted any more) but
        // not the others.
        if let Err(e) = attr.parse_nested_meta(|meta| one(cx, &meta, place, &mut out)) {
            cx.push(e);
        }
    }
    out
}

/// One `key` or `key = value`.
fn one(
    cx: &mut Ctxt,
    meta: &ParseNestedMeta<'_>,
    place: Place,
    out: &mut Attrs,
) -> syn::Result<()> {
    let key = KEYS
        .iter()
        .find(|(name, _, places)| meta.path.is_ident(name) && places.contains(&place));
    let Some(&(name, key, _)) = key else {
        return unknown(cx, meta, place);
    };
    match key {
        Key::Table => {
            let lit = string(meta)?;
            if lit.value().is_empty() {
                cx.error_at(&lit, "the table name must not be empty");
            }
            set(cx, &meta.path, name, &mut out.table, lit);
        }
        Key::RenameAll => {
            let lit = string(meta)?;
            match RenameRule::from_name(&lit.value()) {
                Ok(rule) => set(cx, &meta.path, name, &mut out.rename_all, rule),
                Err(message) => cx.error_at(&lit, message),
            }
        }
        Key::Crate => {
            let lit = string(meta)?;
            match lit.parse::<Path>() {
                Ok(path) => set(cx, &meta.path, name, &mut out.krate, path),
                Err(_) => cx.error_at(
                    &lit,
                    "expected a path to the batchrow crate, such as `crate = \"my_crate::batchrow\"`",
                ),
            }
        }
        Key::Rename => {
            let lit = string(meta)?;
            if lit.value().is_empty() {
                let what = if place == Place::Variant {
                    "the label"
                } else {
                    "the column name"
                };
                cx.error_at(&lit, format!("{what} must not be empty"));
            }
            set(cx, &meta.path, name, &mut out.rename, lit);
        }
        Key::Skip => {
            if !(meta.input.is_empty() || meta.input.peek(Token![,])) {
                cx.error_at(&meta.path, "`skip` takes no value: write `#[batch(skip)]`");
                skip_value(meta)?;
            }
            set(cx, &meta.path, name, &mut out.skip, meta.path.clone());
        }
        Key::Type => {
            let lit = string(meta)?;
            set(cx, &meta.path, name, &mut out.ty, lit);
        }
    }
    Ok(())
}

/// Fills `slot`, or reports a duplicate key at its second occurrence.
fn set<T>(cx: &mut Ctxt, path: &Path, key: &str, slot: &mut Option<T>, value: T) {
    if slot.is_some() {
        cx.error_at(
            path,
            format!("duplicate `{key}` attribute: give `{key}` only once"),
        );
    } else {
        *slot = Some(value);
    }
}

fn string(meta: &ParseNestedMeta<'_>) -> syn::Result<LitStr> {
    let key = path_name(&meta.path);
    let value = meta
        .value()
        .map_err(|e| syn::Error::new(e.span(), format!("expected `{key} = \"...\"`")))?;
    value
        .parse::<LitStr>()
        .map_err(|e| syn::Error::new(e.span(), format!("expected a string: `{key} = \"...\"`")))
}

/// Reports an unknown key with the keys accepted here and, when it is likely, the one
/// that was meant.
fn unknown(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>, place: Place) -> syn::Result<()> {
    let name = path_name(&meta.path);
    let expected = match keys_at(place).as_slice() {
        [only] => format!("`{only}`"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|k| format!("`{k}`")).collect();
            format!("{} or `{last}`", init.join(", "))
        }
        [] => String::new(),
    };
    let mut message = format!(
        "unknown batch attribute `{name}` on {}; expected {expected}",
        place.describe()
    );
    if let Some(hint) = hint(&name, place) {
        message.push_str("; ");
        message.push_str(&hint);
    }
    cx.error_at(&meta.path, message);
    skip_value(meta)
}

fn hint(name: &str, place: Place) -> Option<String> {
    // A key of the row written on a field, or the reverse.
    if let Some((_, _, places)) = KEYS.iter().find(|(n, _, _)| *n == name) {
        return match place {
            Place::Field if places.contains(&Place::Row) => Some(format!(
                "`{name}` goes on the struct: `#[batch({name} = \"..\")]`"
            )),
            Place::Row if places.contains(&Place::Field) => {
                Some(format!("`{name}` goes on a field"))
            }
            _ => None,
        };
    }
    let keys = keys_at(place);
    let alias = match name {
        "name" | "column" | "rename_to" => Some("rename"),
        "ty" | "sql_type" | "column_type" | "db_type" => Some("type"),
        "ignore" | "skip_serializing" | "skip_insert" => Some("skip"),
        "table_name" | "tablename" => Some("table"),
        _ => None,
    };
    let meant = alias.filter(|a| keys.contains(a)).or_else(|| {
        keys.iter()
            .map(|k| (distance(name, k), *k))
            .filter(|(d, _)| *d <= 2)
            .min()
            .map(|(_, k)| k)
    })?;
    Some(format!("did you mean `{meant}`?"))
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(diag + usize::from(ca != *cb));
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Consumes `= value` or `(..)` after an unknown key, so that parsing can go on.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

fn path_name(path: &Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    segments.join("::")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn keys_by_place() {
        assert_eq!(keys_at(Place::Row), ["table", "rename_all", "crate"]);
        assert_eq!(keys_at(Place::Enum), ["rename_all", "crate"]);
        assert_eq!(keys_at(Place::Field), ["rename", "skip", "type"]);
        assert_eq!(keys_at(Place::Variant), ["rename"]);
    }

    #[test]
    fn hints() {
        assert_eq!(
            hint("tabel", Place::Row).as_deref(),
            Some("did you mean `table`?")
        );
        assert_eq!(
            hint("rename_al", Place::Row).as_deref(),
            Some("did you mean `rename_all`?")
        );
        assert_eq!(
            hint("name", Place::Field).as_deref(),
            Some("did you mean `rename`?")
        );
        assert_eq!(
            hint("ignore", Place::Field).as_deref(),
            Some("did you mean `skip`?")
        );
        assert_eq!(
            hint("table", Place::Field).as_deref(),
            Some("`table` goes on the struct: `#[batch(table = \"..\")]`")
        );
        assert_eq!(
            hint("skip", Place::Row).as_deref(),
            Some("`skip` goes on a field")
        );
        assert_eq!(hint("table", Place::Enum), None);
        assert_eq!(hint("colour", Place::Field), None);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }
}
