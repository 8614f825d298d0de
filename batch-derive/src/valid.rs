//! Checks across fields (or variants), run on the parsed model before expansion.

use std::collections::HashMap;

use crate::ast::{Enum, Row};
use crate::ctxt::Ctxt;

/// Checks a row: skipped fields carry no column attributes, column names are unique,
/// and there is at least one column and at most `u16::MAX`.
pub(crate) fn check_row(cx: &mut Ctxt, row: &Row<'_>) {
    for field in &row.fields {
        if field.skipped() {
            if let Some(rename) = &field.attrs.rename {
                cx.error_at(
                    rename,
                    "`rename` has no effect on a `skip`ped field: remove `rename` or `skip`",
                );
            }
            if let Some(ty) = &field.attrs.ty {
                cx.error_at(
                    ty,
                    "`type` has no effect on a `skip`ped field: remove `type` or `skip`",
                );
            }
        }
    }
    let mut seen: HashMap<&str, &syn::Ident> = HashMap::new();
    for field in row.columns() {
        match seen.get(field.name.as_str()) {
            Some(first) => cx.error_span(
                field.name_span,
                format!(
                    "duplicate column name `{}`: field `{}` already has it; give one of them `#[batch(rename = \"..\")]` or `#[batch(skip)]`",
                    field.name, first
                ),
            ),
            None => {
                seen.insert(&field.name, field.ident);
            }
        }
    }
    let count = row.columns().count();
    if count == 0 {
        cx.error_at(
            row.ident,
            "a `#[derive(BatchRow)]` struct needs at least one column that is not `#[batch(skip)]`",
        );
    } else if u16::try_from(count).is_err() {
        cx.error_at(
            row.ident,
            format!(
                "a row can have at most {} columns, this one has {count}",
                u16::MAX
            ),
        );
    }
}

/// Checks an enum: it has a variant, and labels and values are unique.
pub(crate) fn check_enum(cx: &mut Ctxt, en: &Enum<'_>) {
    if en.variants.is_empty() {
        cx.error_at(
            en.ident,
            "`#[derive(BatchEnum)]` needs at least one variant: an enum column cannot be empty",
        );
    }
    for (i, variant) in en.variants.iter().enumerate() {
        let earlier = &en.variants[..i];
        if let Some(first) = earlier.iter().find(|v| v.label == variant.label) {
            cx.error_span(
                variant.label_span,
                format!(
                    "duplicate label \"{}\": variant `{}` already has it; give one of them `#[batch(rename = \"..\")]`",
                    variant.label, first.ident
                ),
            );
        }
        if let Some(first) = earlier
            .iter()
            .find(|v| v.value.is_some() && v.value == variant.value)
        {
            cx.error_span(
                variant.value_span,
                format!(
                    "duplicate value {}: variant `{}` already has it",
                    variant.value.unwrap_or_default(),
                    first.ident
                ),
            );
        }
    }
}
