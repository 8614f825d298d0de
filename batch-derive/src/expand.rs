//! Code generation from the parsed model.

use proc_macro2::{Literal, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{DeriveInput, Generics, Path, Type};

use crate::ast::{Enum, Row};
use crate::ctxt::Ctxt;
use crate::generics::Params;
use crate::valid;

/// What a derive produces: its errors, if any, and the impls. With errors, the impls
/// are built from what parsed (as thiserror's fallback), so that each use of the type
/// does not add an error of its own; every path expands to the impls, none to nothing.
pub(crate) struct Expansion {
    pub(crate) errors: Option<syn::Error>,
    pub(crate) impls: TokenStream,
}

impl Expansion {
    /// The errors (as `compile_error!`s), then the impls.
    pub(crate) fn into_tokens(self) -> TokenStream {
        let errors = self.errors.map(syn::Error::into_compile_error);
        let impls = self.impls;
        quote!(#errors #impls)
    }
}

/// `#[derive(BatchRow)]`: parses, checks and expands.
pub(crate) fn derive(input: &DeriveInput) -> Expansion {
    let mut cx = Ctxt::new();
    let row = Row::from_ast(&mut cx, input);
    if row.named {
        valid::check_row(&mut cx, &row);
    }
    Expansion {
        errors: cx.check().err(),
        impls: expand_row(&row),
    }
}

/// `#[derive(BatchEnum)]`: parses, checks and expands, with the same fallback as
/// [`derive`].
pub(crate) fn derive_enum(input: &DeriveInput) -> Expansion {
    let mut cx = Ctxt::new();
    let en = Enum::from_ast(&mut cx, input);
    if en.is_enum {
        valid::check_enum(&mut cx, &en);
    }
    Expansion {
        errors: cx.check().err(),
        impls: expand_enum(&en),
    }
}

fn private(krate: &Path) -> TokenStream {
    quote!(#krate::__private)
}

fn expand_row(row: &Row<'_>) -> TokenStream {
    let ident = row.ident;
    let p = private(&row.krate);
    let generics = row.generics;
    let (impl_generics, ty_generics, _) = generics.split_for_impl();
    let params = Params::of(generics);

    // Bounds of the `BatchRow` impl: the user's, `'static` type parameters (for
    // `type Static`), and the column traits of fields whose type is generic.
    let mut row_bounds: Vec<TokenStream> = user_bounds(generics);
    for param in generics.type_params() {
        let name = &param.ident;
        row_bounds.push(quote!(#name: 'static));
    }
    let mut columns = Vec::new();
    let mut encodes = Vec::new();
    let mut encode_bounds = Vec::new();
    let mut accepts = Vec::new();
    let mut slots = Vec::new();
    for (i, field) in row.columns().enumerate() {
        let ty = field.ty;
        let ty_span = ty.span();
        let static_ty = params.make_static(ty);
        if params.mentioned_in(ty) {
            row_bounds.push(quote_spanned!(ty_span=> #static_ty: #p::ColumnValue));
        }
        // Checked against the field type's `Encode::accepts` by the sink, before the
        // first row.
        let declared = match &field.declared {
            Some(lit) => quote!(#p::Option::Some(#lit)),
            None => quote!(#p::Option::None),
        };
        let name = &field.name;
        let field_name = &field.rust_name;
        let rust_type = type_string(ty);
        let kind = quote_spanned!(ty_span=> <#static_ty as #p::ColumnValue>::KIND);
        columns.push(quote! {
            #p::Column::new(#name, #field_name, #rust_type, #declared, #kind)
        });
        let member = field.ident;
        let slot = format_ident!("__c{}", i);
        encodes.push(quote_spanned! {ty_span=>
            <#ty as #p::Encode<__F>>::encode(&self.#member, #slot, buf)
                .map_err(|e| e.in_column(#name))?;
        });
        encode_bounds.push(quote_spanned!(ty_span=> #ty: #p::Encode<__F>));
        let index = Literal::usize_unsuffixed(i);
        accepts.push(quote_spanned! {ty_span=>
            #index => #p::Option::Some(<#ty as #p::Encode<__F>>::accepts(column)),
        });
        slots.push(slot);
    }
    let count = slots.len();
    let count_usize = Literal::usize_unsuffixed(count);
    let count_u16 = Literal::u16_suffixed(u16::try_from(count).unwrap_or(u16::MAX));
    let table = &row.table;
    let static_ty = params.static_self(ident);

    let mut encode_generics = generics.clone();
    encode_generics
        .params
        .push(syn::parse_quote!(__F: #p::Format));
    let (encode_impl_generics, _, _) = encode_generics.split_for_impl();
    let row_where = where_clause(&row_bounds);
    let encode_where = where_clause(row_bounds.iter().chain(&encode_bounds));

    // Evaluate COLUMNS now when it does not depend on a type or const parameter.
    let force_columns =
        (generics.type_params().count() == 0 && generics.const_params().count() == 0).then(|| {
            quote! {
                const _: () = {
                    let _ = <#static_ty as #p::BatchRow>::COLUMNS;
                };
            }
        });

    quote! {
        #[automatically_derived]
        impl #impl_generics #p::BatchRow for #ident #ty_generics #row_where {
            const TABLE: &'static str = #table;
            const COLUMNS: &'static [#p::Column] = &[#(#columns),*];
            type Static = #static_ty;
        }

        #[automatically_derived]
        impl #encode_impl_generics #p::EncodeRow<__F> for #ident #ty_generics #encode_where {
            #[inline]
            fn encode_row(
                &self,
                columns: &[<__F as #p::Format>::Column],
                buf: &mut #p::Vec<u8>,
            ) -> #p::Result<(), #p::EncodeError> {
                let [#(#slots),*] = columns else {
                    return #p::Result::Err(#p::EncodeError::ColumnCount {
                        expected: #count_usize,
                        got: columns.len(),
                    });
                };
                <__F as #p::Format>::begin_row(#count_u16, buf);
                #(#encodes)*
                #p::Result::Ok(())
            }

            fn accepts_column(
                index: usize,
                column: &<__F as #p::Format>::Column,
            ) -> #p::Option<#p::Result<(), #p::Reason>> {
                let _ = column;
                match index {
                    #(#accepts)*
                    _ => #p::Option::None,
                }
            }
        }

        #force_columns
    }
}

fn expand_enum(en: &Enum<'_>) -> TokenStream {
    let ident = en.ident;
    let p = private(&en.krate);
    let (impl_generics, ty_generics, where_clause) = en.generics.split_for_impl();
    // `Self::V`, or `Self::V { .. }` for a variant that carries data (an error already
    // reported: the fallback still has to match it).
    let variants: Vec<TokenStream> = en
        .variants
        .iter()
        .map(|v| {
            let ident = v.ident;
            if v.unit {
                quote!(#ident)
            } else {
                quote!(#ident { .. })
            }
        })
        .collect();
    let labels: Vec<&str> = en.variants.iter().map(|v| v.label.as_str()).collect();
    let values: Vec<Literal> = en
        .variants
        .iter()
        .map(|v| Literal::i16_unsuffixed(v.value.unwrap_or_default()))
        .collect();
    // Without variants (an empty enum, or not an enum: the error is reported), the
    // matches need an arm of their own.
    let (fallback_label, fallback_value) = if variants.is_empty() {
        (Some(quote!(_ => "",)), Some(quote!(_ => 0,)))
    } else {
        (None, None)
    };
    quote! {
        #[automatically_derived]
        impl #impl_generics #p::ColumnValue for #ident #ty_generics #where_clause {
            const KIND: #p::ValueKind = #p::ValueKind::Enum(&[
                #(#p::EnumVariant { label: #labels, value: #values }),*
            ]);
        }

        #[automatically_derived]
        impl #impl_generics #p::EnumValue for #ident #ty_generics #where_clause {
            #[inline]
            fn label(&self) -> &'static str {
                match self {
                    #(Self::#variants => #labels,)*
                    #fallback_label
                }
            }

            #[inline]
            fn value(&self) -> i16 {
                match self {
                    #(Self::#variants => #values,)*
                    #fallback_value
                }
            }
        }

        #[automatically_derived]
        impl<__F: #p::Format> #p::Encode<__F> for #ident #ty_generics #where_clause {
            #[inline]
            fn encode(
                &self,
                column: &<__F as #p::Format>::Column,
                buf: &mut #p::Vec<u8>,
            ) -> #p::Result<(), #p::EncodeError> {
                <__F as #p::Format>::encode_enum(
                    <Self as #p::EnumValue>::label(self),
                    <Self as #p::EnumValue>::value(self),
                    column,
                    buf,
                )
            }

            fn accepts(
                column: &<__F as #p::Format>::Column,
            ) -> #p::Result<(), #p::Reason> {
                <__F as #p::Format>::accepts_enum(
                    &[#(#p::EnumVariant { label: #labels, value: #values }),*],
                    column,
                )
            }
        }
    }
}

fn user_bounds(generics: &Generics) -> Vec<TokenStream> {
    generics
        .where_clause
        .iter()
        .flat_map(|w| w.predicates.iter())
        .map(ToTokens::to_token_stream)
        .collect()
}

fn where_clause<'a>(bounds: impl IntoIterator<Item = &'a TokenStream>) -> TokenStream {
    let bounds: Vec<&TokenStream> = bounds.into_iter().collect();
    if bounds.is_empty() {
        TokenStream::new()
    } else {
        quote!(where #(#bounds,)*)
    }
}

/// The field type as written, with the spacing a person would use:
/// `Option<&'a [u8]>`, `HashMap<String, u64>`, `[u8; 16]`.
pub(crate) fn type_string(ty: &Type) -> String {
    fn push(out: &mut String, tokens: TokenStream, prev_word: &mut bool) {
        for tt in tokens {
            match tt {
                TokenTree::Group(group) => {
                    let (open, close) = match group.delimiter() {
                        proc_macro2::Delimiter::Parenthesis => ("(", ")"),
                        proc_macro2::Delimiter::Bracket => ("[", "]"),
                        proc_macro2::Delimiter::Brace => ("{", "}"),
                        proc_macro2::Delimiter::None => ("", ""),
                    };
                    if *prev_word && group.delimiter() == proc_macro2::Delimiter::Bracket {
                        out.push(' ');
                    }
                    out.push_str(open);
                    *prev_word = false;
                    push(out, group.stream(), prev_word);
                    out.push_str(close);
                    *prev_word = false;
                }
                TokenTree::Punct(punct) => {
                    let c = punct.as_char();
                    if c == '+' || c == '=' {
                        out.push(' ');
                    }
                    out.push(c);
                    if matches!(c, ',' | ';' | '+' | '=') || (c == '>' && out.ends_with("->")) {
                        out.push(' ');
                    }
                    if c == '-' && punct.spacing() == proc_macro2::Spacing::Joint {
                        out.pop();
                        out.push_str(" -");
                    }
                    *prev_word = false;
                }
                TokenTree::Ident(ident) => {
                    if *prev_word {
                        out.push(' ');
                    }
                    out.push_str(&ident.to_string());
                    *prev_word = true;
                }
                TokenTree::Literal(lit) => {
                    if *prev_word {
                        out.push(' ');
                    }
                    out.push_str(&lit.to_string());
                    *prev_word = true;
                }
            }
        }
    }
    let mut out = String::new();
    push(&mut out, ty.to_token_stream(), &mut false);
    out
}
