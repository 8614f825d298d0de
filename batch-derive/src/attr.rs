//! Parsing of the `#[batch(..)]` attributes. Unknown and duplicated keys are errors,
//! spanned at the key; parsing goes on after an error so that every mistake is reported.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitStr, Path, Token};

use crate::case::RenameRule;
use crate::ctxt::Ctxt;

/// What the attributes are attached to, for the list of accepted keys.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// A `#[derive(BatchRow)]` struct.
    Row,
    /// A `#[derive(BatchEnum)]` enum.
    Enum,
}

/// The container attributes: `#[batch(table = "..", rename_all = "..", crate = "..")]`.
#[derive(Default)]
pub(crate) struct Container {
    pub(crate) table: Option<LitStr>,
    pub(crate) rename_all: Option<RenameRule>,
    pub(crate) krate: Option<Path>,
}

/// The field attributes: `#[batch(rename = "..", skip, type = "..")]`.
#[derive(Default)]
pub(crate) struct Field {
    pub(crate) rename: Option<LitStr>,
    pub(crate) skip: Option<Path>,
    pub(crate) ty: Option<LitStr>,
}

/// The variant attributes of a `BatchEnum`: `#[batch(rename = "..")]`.
#[derive(Default)]
pub(crate) struct Variant {
    pub(crate) rename: Option<LitStr>,
}

pub(crate) fn container(cx: &mut Ctxt, attrs: &[Attribute], target: Target) -> Container {
    let mut out = Container::default();
    each(cx, attrs, |cx, meta| {
        if meta.path.is_ident("table") && target == Target::Row {
            let lit = string(&meta)?;
            if lit.value().is_empty() {
                cx.error_at(&lit, "the table name must not be empty");
            }
            set(cx, &meta.path, "table", &mut out.table, lit);
        } else if meta.path.is_ident("rename_all") {
            let lit = string(&meta)?;
            match RenameRule::from_name(&lit.value()) {
                Ok(rule) => set(cx, &meta.path, "rename_all", &mut out.rename_all, rule),
                Err(message) => cx.error_at(&lit, message),
            }
        } else if meta.path.is_ident("crate") {
            let lit = string(&meta)?;
            match lit.parse::<Path>() {
                Ok(path) => set(cx, &meta.path, "crate", &mut out.krate, path),
                Err(_) => cx.error_at(
                    &lit,
                    "expected a path to the batchrow crate, such as `crate = \"my_crate::batchrow\"`",
                ),
            }
        } else {
            let (on, keys) = match target {
                Target::Row => ("a `#[derive(BatchRow)]` struct", ROW_KEYS),
                Target::Enum => ("a `#[derive(BatchEnum)]` enum", ENUM_KEYS),
            };
            unknown(cx, &meta, on, keys)?;
        }
        Ok(())
    });
    out
}

pub(crate) fn field(cx: &mut Ctxt, attrs: &[Attribute]) -> Field {
    let mut out = Field::default();
    each(cx, attrs, |cx, meta| {
        if meta.path.is_ident("rename") {
            let lit = string(&meta)?;
            if lit.value().is_empty() {
                cx.error_at(&lit, "the column name must not be empty");
            }
            set(cx, &meta.path, "rename", &mut out.rename, lit);
        } else if meta.path.is_ident("skip") {
            if !(meta.input.is_empty() || meta.input.peek(Token![,])) {
                cx.error_at(&meta.path, "`skip` takes no value: write `#[batch(skip)]`");
                skip_value(&meta)?;
            }
            set(cx, &meta.path, "skip", &mut out.skip, meta.path.clone());
        } else if meta.path.is_ident("type") {
            let lit = string(&meta)?;
            set(cx, &meta.path, "type", &mut out.ty, lit);
        } else {
            unknown(cx, &meta, "a field", FIELD_KEYS)?;
        }
        Ok(())
    });
    out
}

pub(crate) fn variant(cx: &mut Ctxt, attrs: &[Attribute]) -> Variant {
    let mut out = Variant::default();
    each(cx, attrs, |cx, meta| {
        if meta.path.is_ident("rename") {
            let lit = string(&meta)?;
            if lit.value().is_empty() {
                cx.error_at(&lit, "the label must not be empty");
            }
            set(cx, &meta.path, "rename", &mut out.rename, lit);
        } else {
            unknown(cx, &meta, "an enum variant", VARIANT_KEYS)?;
        }
        Ok(())
    });
    out
}

/// Runs `f` on every key of every `#[batch(..)]` attribute. A syntax error ends that
/// attribute (its tokens cannot be trusted any more) but not the others.
fn each(
    cx: &mut Ctxt,
    attrs: &[Attribute],
    mut f: impl FnMut(&mut Ctxt, ParseNestedMeta<'_>) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("batch")) {
        if let Err(e) = attr.parse_nested_meta(|meta| f(cx, meta)) {
            cx.push(e);
        }
    }
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
    let key = meta
        .path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default();
    let value = meta
        .value()
        .map_err(|e| syn::Error::new(e.span(), format!("expected `{key} = \"...\"`")))?;
    value
        .parse::<LitStr>()
        .map_err(|e| syn::Error::new(e.span(), format!("expected a string: `{key} = \"...\"`")))
}

/// The keys of each target, for messages.
const ROW_KEYS: &[&str] = &["table", "rename_all", "crate"];
const ENUM_KEYS: &[&str] = &["rename_all", "crate"];
const FIELD_KEYS: &[&str] = &["rename", "skip", "type"];
const VARIANT_KEYS: &[&str] = &["rename"];

/// Reports an unknown key with the keys accepted here and, when it is likely, the one
/// that was meant.
fn unknown(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>, on: &str, keys: &[&str]) -> syn::Result<()> {
    let name = path_name(&meta.path);
    let expected = match keys {
        [only] => format!("`{only}`"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|k| format!("`{k}`")).collect();
            format!("{} or `{last}`", init.join(", "))
        }
        [] => String::new(),
    };
    let mut message = format!("unknown batch attribute `{name}` on {on}; expected {expected}");
    if let Some(hint) = hint(&name, keys) {
        message.push_str("; ");
        message.push_str(&hint);
    }
    cx.error_at(&meta.path, message);
    skip_value(meta)
}

fn hint(name: &str, keys: &[&str]) -> Option<String> {
    if keys == FIELD_KEYS && ROW_KEYS.contains(&name) {
        return Some(format!(
            "`{name}` goes on the struct: `#[batch({name} = \"..\")]`"
        ));
    }
    if keys == ROW_KEYS && FIELD_KEYS.contains(&name) {
        return Some(format!("`{name}` goes on a field"));
    }
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
    fn hints() {
        assert_eq!(
            hint("tabel", ROW_KEYS).as_deref(),
            Some("did you mean `table`?")
        );
        assert_eq!(
            hint("rename_al", ROW_KEYS).as_deref(),
            Some("did you mean `rename_all`?")
        );
        assert_eq!(
            hint("name", FIELD_KEYS).as_deref(),
            Some("did you mean `rename`?")
        );
        assert_eq!(
            hint("ignore", FIELD_KEYS).as_deref(),
            Some("did you mean `skip`?")
        );
        assert_eq!(
            hint("table", FIELD_KEYS).as_deref(),
            Some("`table` goes on the struct: `#[batch(table = \"..\")]`")
        );
        assert_eq!(
            hint("skip", ROW_KEYS).as_deref(),
            Some("`skip` goes on a field")
        );
        assert_eq!(hint("table", ENUM_KEYS), None);
        assert_eq!(hint("colour", FIELD_KEYS), None);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }
}
