//! Code generation from the parsed model.

use std::collections::HashSet;

use proc_macro2::{Group, Literal, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{DeriveInput, GenericParam, Generics, Ident, Path, Type};

use crate::ast::{Enum, Row};
use crate::ctxt::Ctxt;
use crate::valid;

/// `#[derive(BatchRow)]`: parses, checks and expands, or returns every error found.
pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut cx = Ctxt::new();
    let row = Row::from_ast(&mut cx, input);
    if let Some(row) = &row {
        valid::check_row(&mut cx, row);
    }
    cx.finish()?;
    Ok(row.map(|row| expand_row(&row)).unwrap_or_default())
}

/// `#[derive(BatchEnum)]`: parses, checks and expands, or returns every error found.
pub(crate) fn derive_enum(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut cx = Ctxt::new();
    let en = Enum::from_ast(&mut cx, input);
    if let Some(en) = &en {
        valid::check_enum(&mut cx, en);
    }
    cx.finish()?;
    Ok(en.map(|en| expand_enum(&en)).unwrap_or_default())
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
    let mut fits_checks = Vec::new();
    let mut columns = Vec::new();
    let mut encodes = Vec::new();
    let mut encode_bounds = Vec::new();
    let mut accepts = Vec::new();
    let mut slots = Vec::new();
    for (i, field) in row.columns().enumerate() {
        let ty = field.ty;
        let ty_span = ty.span();
        let static_ty = params.make_static(ty);
        let generic = params.mentioned_in(ty);
        if generic {
            row_bounds.push(quote_spanned!(ty_span=> #static_ty: #p::ColumnValue));
        }
        let declared = match &field.declared {
            Some((lit, Some(decl))) => {
                let span = lit.span();
                let marker = respan(decl.marker(&p), span);
                if generic {
                    row_bounds.push(quote_spanned!(span=> #static_ty: #p::Fits<#marker>));
                } else {
                    let checked = respan(static_ty.to_token_stream(), span);
                    fits_checks.push(quote_spanned! {span=>
                        const _: () = #p::assert_fits::<#checked, #marker>();
                    });
                }
                quote!(#p::Option::Some(#lit))
            }
            _ => quote!(#p::Option::None),
        };
        let name = &field.name;
        let field_name = field.ident.to_string();
        let field_name = field_name.strip_prefix("r#").unwrap_or(&field_name);
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
        #(#fits_checks)*
    }
}

fn expand_enum(en: &Enum<'_>) -> TokenStream {
    let ident = en.ident;
    let p = private(&en.krate);
    let (impl_generics, ty_generics, where_clause) = en.generics.split_for_impl();
    let variants: Vec<&Ident> = en.variants.iter().map(|v| v.ident).collect();
    let labels: Vec<&str> = en.variants.iter().map(|v| v.label.as_str()).collect();
    let values: Vec<Literal> = en
        .variants
        .iter()
        .map(|v| Literal::i16_unsuffixed(v.value.unwrap_or_default()))
        .collect();
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
                }
            }

            #[inline]
            fn value(&self) -> i16 {
                match self {
                    #(Self::#variants => #values,)*
                }
            }
        }

        #[automatically_derived]
        impl #impl_generics #p::Fits<#p::decl::Enum> for #ident #ty_generics #where_clause {}

        #[automatically_derived]
        impl #impl_generics #p::Fits<#p::decl::Str> for #ident #ty_generics #where_clause {}

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

/// The generic parameters of the struct, to make types `'static` and to tell which
/// field types depend on a type or const parameter.
struct Params {
    lifetimes: HashSet<String>,
    types: HashSet<String>,
    generics: Generics,
}

impl Params {
    fn of(generics: &Generics) -> Self {
        let lifetimes = generics
            .lifetimes()
            .map(|l| l.lifetime.ident.to_string())
            .collect();
        let types = generics
            .params
            .iter()
            .filter_map(|p| match p {
                GenericParam::Type(t) => Some(t.ident.to_string()),
                GenericParam::Const(c) => Some(c.ident.to_string()),
                GenericParam::Lifetime(_) => None,
            })
            .collect();
        Params {
            lifetimes,
            types,
            generics: generics.clone(),
        }
    }

    /// `ty` with every lifetime parameter of the struct replaced by `'static`.
    fn make_static(&self, ty: &Type) -> TokenStream {
        fn walk(tokens: TokenStream, lifetimes: &HashSet<String>) -> TokenStream {
            let mut after_quote = false;
            tokens
                .into_iter()
                .map(|tt| {
                    let was_quote = std::mem::replace(
                        &mut after_quote,
                        matches!(&tt, TokenTree::Punct(p) if p.as_char() == '\''),
                    );
                    match tt {
                        TokenTree::Ident(ident)
                            if was_quote && lifetimes.contains(&ident.to_string()) =>
                        {
                            TokenTree::Ident(Ident::new("static", ident.span()))
                        }
                        TokenTree::Group(group) => {
                            let mut g =
                                Group::new(group.delimiter(), walk(group.stream(), lifetimes));
                            g.set_span(group.span());
                            TokenTree::Group(g)
                        }
                        other => other,
                    }
                })
                .collect()
        }
        walk(ty.to_token_stream(), &self.lifetimes)
    }

    /// Whether `ty` names a type or const parameter of the struct.
    fn mentioned_in(&self, ty: &Type) -> bool {
        fn walk(tokens: TokenStream, names: &HashSet<String>) -> bool {
            tokens.into_iter().any(|tt| match tt {
                TokenTree::Ident(ident) => names.contains(&ident.to_string()),
                TokenTree::Group(group) => walk(group.stream(), names),
                _ => false,
            })
        }
        !self.types.is_empty() && walk(ty.to_token_stream(), &self.types)
    }

    /// `Struct<'static, T, N>`.
    fn static_self(&self, ident: &Ident) -> TokenStream {
        if self.generics.params.is_empty() {
            return quote!(#ident);
        }
        let args = self.generics.params.iter().map(|p| match p {
            GenericParam::Lifetime(l) => {
                let s = syn::Lifetime::new("'static", l.lifetime.span());
                quote!(#s)
            }
            GenericParam::Type(t) => t.ident.to_token_stream(),
            GenericParam::Const(c) => c.ident.to_token_stream(),
        });
        quote!(#ident<#(#args),*>)
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

/// Sets the span of every token, so that a trait error lands on the attribute.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(group) => {
                let mut g = Group::new(group.delimiter(), respan(group.stream(), span));
                g.set_span(span);
                TokenTree::Group(g)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
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
