//! The generic parameters of a row: its type with every lifetime `'static`, and which
//! field types depend on a type or const parameter. Both walk the syntax tree with
//! `syn::visit` (as thiserror's `generics.rs`), not its tokens.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::visit::{self, Visit};
use syn::visit_mut::{self, VisitMut};
use syn::{GenericParam, Generics, Ident, Lifetime, Type};

/// The generic parameters of the struct, to make types `'static` and to tell which
/// field types depend on a type or const parameter; both walk the syntax tree with
/// `syn::visit`.
pub(crate) struct Params {
    lifetimes: HashSet<Ident>,
    types: HashSet<Ident>,
    generics: Generics,
}

impl Params {
    pub(crate) fn of(generics: &Generics) -> Self {
        let lifetimes = generics
            .lifetimes()
            .map(|l| l.lifetime.ident.clone())
            .collect();
        let types = generics
            .params
            .iter()
            .filter_map(|p| match p {
                GenericParam::Type(t) => Some(t.ident.clone()),
                GenericParam::Const(c) => Some(c.ident.clone()),
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
    pub(crate) fn make_static(&self, ty: &Type) -> Type {
        struct MakeStatic<'a>(&'a HashSet<Ident>);
        impl VisitMut for MakeStatic<'_> {
            fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
                if self.0.contains(&lifetime.ident) {
                    *lifetime = Lifetime::new("'static", lifetime.span());
                }
                visit_mut::visit_lifetime_mut(self, lifetime);
            }
        }
        let mut ty = ty.clone();
        MakeStatic(&self.lifetimes).visit_type_mut(&mut ty);
        ty
    }

    /// Whether `ty` names a type or const parameter of the struct: a path that starts
    /// with one (`T`, `T::Item`, `Vec<T>`, `[u8; N]`).
    pub(crate) fn mentioned_in(&self, ty: &Type) -> bool {
        struct Mentions<'a> {
            names: &'a HashSet<Ident>,
            found: bool,
        }
        impl<'ast> Visit<'ast> for Mentions<'_> {
            fn visit_path(&mut self, path: &'ast syn::Path) {
                if path.leading_colon.is_none()
                    && path
                        .segments
                        .first()
                        .is_some_and(|s| self.names.contains(&s.ident))
                {
                    self.found = true;
                }
                visit::visit_path(self, path);
            }
        }
        if self.types.is_empty() {
            return false;
        }
        let mut v = Mentions {
            names: &self.types,
            found: false,
        };
        v.visit_type(ty);
        v.found
    }

    /// `Struct<'static, T, N>`.
    pub(crate) fn static_self(&self, ident: &Ident) -> TokenStream {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn params() -> Params {
        let generics: Generics = syn::parse_quote!(<'a, 'b, T: Clone, const N: usize>);
        Params::of(&generics)
    }

    #[test]
    fn lifetimes_become_static() {
        let p = params();
        let cases: [(Type, &str); 4] = [
            (syn::parse_quote!(&'a str), "& 'static str"),
            (
                syn::parse_quote!(Option<&'b [&'a u8]>),
                "Option < & 'static [& 'static u8] >",
            ),
            // Not a parameter of the struct: left alone.
            (syn::parse_quote!(&'c str), "& 'c str"),
            (
                syn::parse_quote!(Box<dyn for<'x> Fn(&'x u8) -> &'a u8>),
                "Box < dyn for < 'x > Fn (& 'x u8) -> & 'static u8 >",
            ),
        ];
        for (ty, expected) in cases {
            assert_eq!(p.make_static(&ty).to_token_stream().to_string(), expected);
        }
    }

    #[test]
    fn which_types_are_generic() {
        let p = params();
        let cases: [(Type, bool); 9] = [
            (syn::parse_quote!(T), true),
            (syn::parse_quote!(Vec<T>), true),
            (syn::parse_quote!(T::Item), true),
            (syn::parse_quote!(<T as IntoIterator>::Item), true),
            (syn::parse_quote!([u8; N]), true),
            (syn::parse_quote!(&'a str), false),
            (syn::parse_quote!(u64), false),
            // A path that only ends in a parameter's name is another type: walking the
            // tokens took these for generic.
            (syn::parse_quote!(other::T), false),
            (syn::parse_quote!(::T), false),
        ];
        for (ty, expected) in cases {
            assert_eq!(p.mentioned_in(&ty), expected, "{}", ty.to_token_stream());
        }
        let none = Params::of(&Generics::default());
        assert!(!none.mentioned_in(&syn::parse_quote!(T)));
    }

    #[test]
    fn static_self() {
        let p = params();
        let ident: Ident = syn::parse_quote!(Row);
        assert_eq!(
            p.static_self(&ident).to_string(),
            "Row < 'static , 'static , T , N >"
        );
    }
}
