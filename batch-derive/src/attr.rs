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
            let (on, expected) = match target {
                Target::Row => (
                    "a `#[derive(BatchRow)]` struct",
                    "`table`, `rename_all` or `crate`",
                ),
                Target::Enum => ("a `#[derive(BatchEnum)]` enum", "`rename_all` or `crate`"),
            };
            unknown(cx, &meta, on, expected)?;
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
            unknown(cx, &meta, "a field", "`rename`, `skip` or `type`")?;
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
            unknown(cx, &meta, "an enum variant", "`rename`")?;
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

fn unknown(cx: &mut Ctxt, meta: &ParseNestedMeta<'_>, on: &str, expected: &str) -> syn::Result<()> {
    let name = path_name(&meta.path);
    cx.error_at(
        &meta.path,
        format!("unknown batch attribute `{name}` on {on}; expected {expected}"),
    );
    skip_value(meta)
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
