//! The one model of a row (and of a `BatchEnum`), from which the table name, the
//! columns, the declared-type checks and the encode order are all generated.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Generics, Ident, LitStr, Path, Type};

use crate::attr::{self, Attrs, Place};
use crate::case;
use crate::ctxt::Ctxt;
use crate::decl;

/// A `#[derive(BatchRow)]` struct.
pub(crate) struct Row<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) generics: &'a Generics,
    /// The path of the batchrow crate (`::batchrow` unless `#[batch(crate = "..")]`).
    pub(crate) krate: Path,
    pub(crate) table: String,
    /// Every field, skipped ones included, in declaration order.
    pub(crate) fields: Vec<Field<'a>>,
    /// Whether the input is a struct with named fields. When it is not (the error is
    /// recorded), the model has no fields, and its expansion is only there so that the
    /// uses of the type do not add an error each.
    pub(crate) named: bool,
}

/// One field of a row.
pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    /// The field name without `r#`: `r#type` is `type`.
    pub(crate) rust_name: String,
    pub(crate) ty: &'a Type,
    /// The column name, after `rename` / `rename_all`.
    pub(crate) name: String,
    /// Where to report a problem with the column name.
    pub(crate) name_span: Span,
    /// `#[batch(type = "..")]`: the literal (a parse error is already reported).
    pub(crate) declared: Option<LitStr>,
    pub(crate) attrs: Attrs,
}

impl Field<'_> {
    pub(crate) fn skipped(&self) -> bool {
        self.attrs.skip.is_some()
    }
}

impl Row<'_> {
    /// The encoded fields (the columns), in order.
    pub(crate) fn columns(&self) -> impl Iterator<Item = &Field<'_>> {
        self.fields.iter().filter(|f| !f.skipped())
    }
}

/// A `#[derive(BatchEnum)]` enum.
pub(crate) struct Enum<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) generics: &'a Generics,
    pub(crate) krate: Path,
    pub(crate) variants: Vec<Variant<'a>>,
    /// Whether the input is an enum (else the error is recorded and there are no
    /// variants).
    pub(crate) is_enum: bool,
}

/// One variant of a `BatchEnum`.
pub(crate) struct Variant<'a> {
    pub(crate) ident: &'a Ident,
    /// Whether the variant is a unit variant (one that carries data is an error, but
    /// the fallback expansion still matches it).
    pub(crate) unit: bool,
    pub(crate) label: String,
    pub(crate) label_span: Span,
    /// `None` when the discriminant was rejected (the error is already recorded).
    pub(crate) value: Option<i16>,
    /// Where to report a duplicate value: the discriminant, or the variant.
    pub(crate) value_span: Span,
}

fn krate(container: &Attrs) -> Path {
    container
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::batchrow))
}

impl<'a> Row<'a> {
    /// Builds the model from what parses, recording every problem in `cx`. An input
    /// that is not a struct with named fields gives a model without fields.
    pub(crate) fn from_ast(cx: &mut Ctxt, input: &'a DeriveInput) -> Self {
        let container = attr::parse(cx, &input.attrs, Place::Row);
        let named = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => Some(named),
                Fields::Unnamed(fields) => {
                    cx.error_at(
                        fields,
                        "`#[derive(BatchRow)]` needs a struct with named fields: each field is a column named after it",
                    );
                    None
                }
                Fields::Unit => {
                    cx.error_at(
                        &input.ident,
                        "`#[derive(BatchRow)]` needs a struct with named fields; this unit struct has no columns",
                    );
                    None
                }
            },
            Data::Enum(data) => {
                cx.error_at(
                    data.enum_token,
                    "`#[derive(BatchRow)]` needs a struct with named fields, not an enum; to store a fieldless enum in an enum column, use `#[derive(BatchEnum)]`",
                );
                None
            }
            Data::Union(data) => {
                cx.error_at(
                    data.union_token,
                    "`#[derive(BatchRow)]` needs a struct with named fields, not a union",
                );
                None
            }
        };
        let rename_all = container.rename_all;
        let fields = named
            .into_iter()
            .flat_map(|named| &named.named)
            .filter_map(|field| {
                let ident = field.ident.as_ref()?;
                let attrs = attr::parse(cx, &field.attrs, Place::Field);
                let rust_name = ident.unraw().to_string();
                let (name, name_span) = match &attrs.rename {
                    Some(lit) => (lit.value(), lit.span()),
                    None => {
                        let name = rename_all
                            .map_or_else(|| rust_name.clone(), |r| r.apply_to_field(&rust_name));
                        (name, ident.span())
                    }
                };
                let declared = attrs.ty.clone().inspect(|lit| {
                    if let Err(message) = decl::parse(&lit.value()) {
                        cx.error_at(lit, message);
                    }
                });
                Some(Field {
                    ident,
                    rust_name,
                    ty: &field.ty,
                    name,
                    name_span,
                    declared,
                    attrs,
                })
            })
            .collect();
        let table = container.table.as_ref().map_or_else(
            || case::table_name(&input.ident.unraw().to_string()),
            LitStr::value,
        );
        Row {
            ident: &input.ident,
            generics: &input.generics,
            krate: krate(&container),
            table,
            fields,
            named: named.is_some(),
        }
    }
}

impl<'a> Enum<'a> {
    /// Builds the model from what parses, recording every problem in `cx`. An input
    /// that is not an enum gives a model without variants.
    pub(crate) fn from_ast(cx: &mut Ctxt, input: &'a DeriveInput) -> Self {
        let container = attr::parse(cx, &input.attrs, Place::Enum);
        let data = match &input.data {
            Data::Enum(data) => Some(data),
            Data::Struct(data) => {
                cx.error_at(
                    data.struct_token,
                    "`#[derive(BatchEnum)]` needs a fieldless enum; for a struct that is a table row, use `#[derive(BatchRow)]`",
                );
                None
            }
            Data::Union(data) => {
                cx.error_at(
                    data.union_token,
                    "`#[derive(BatchEnum)]` needs a fieldless enum, not a union",
                );
                None
            }
        };
        let mut next: Option<i128> = Some(0);
        let mut variants = Vec::new();
        for variant in data.into_iter().flat_map(|data| &data.variants) {
            let attrs = attr::parse(cx, &variant.attrs, Place::Variant);
            if !matches!(variant.fields, Fields::Unit) {
                cx.error_at(
                    &variant.fields,
                    format!(
                        "`#[derive(BatchEnum)]` needs a fieldless enum, but `{}` carries data; an enum column stores only a label and a number",
                        variant.ident
                    ),
                );
            }
            let (value, value_span) = match &variant.discriminant {
                Some((_, expr)) => match discriminant(expr) {
                    Some(v) => (Some(v), expr.span()),
                    None => {
                        cx.error_at(
                            expr,
                            "`#[derive(BatchEnum)]` needs integer literal discriminants, such as `= 3` or `= -1`",
                        );
                        (None, expr.span())
                    }
                },
                None => (next, variant.ident.span()),
            };
            next = value.map(|v| v + 1);
            let value = match value.map(i16::try_from) {
                Some(Ok(v)) => Some(v),
                Some(Err(_)) => {
                    cx.error_span(
                        value_span,
                        format!(
                            "the value of `{}` does not fit an i16 (Enum16 holds -32768..=32767)",
                            variant.ident
                        ),
                    );
                    None
                }
                None => None,
            };
            let (label, label_span) = match &attrs.rename {
                Some(lit) => (lit.value(), lit.span()),
                None => {
                    let raw = variant.ident.unraw().to_string();
                    let label = container
                        .rename_all
                        .map_or_else(|| raw.clone(), |r| r.apply_to_variant(&raw));
                    (label, variant.ident.span())
                }
            };
            variants.push(Variant {
                ident: &variant.ident,
                unit: matches!(variant.fields, Fields::Unit),
                label,
                label_span,
                value,
                value_span,
            });
        }
        Enum {
            ident: &input.ident,
            generics: &input.generics,
            krate: krate(&container),
            variants,
            is_enum: data.is_some(),
        }
    }
}

/// The value of an integer literal discriminant, possibly negated.
fn discriminant(expr: &syn::Expr) -> Option<i128> {
    match expr {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        }) => int.base10_parse::<i128>().ok(),
        syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => discriminant(expr).map(|v| -v),
        syn::Expr::Group(group) => discriminant(&group.expr),
        syn::Expr::Paren(paren) => discriminant(&paren.expr),
        _ => None,
    }
}
