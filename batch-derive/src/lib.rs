//! The derive macros of batchrow. Use them through the `batchrow` crate.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod ast;
mod attr;
mod case;
mod ctxt;
mod decl;
mod expand;
mod valid;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Derives `BatchRow` (and `EncodeRow` for every sink format) for a struct with named fields.
#[proc_macro_derive(BatchRow, attributes(batch))]
pub fn derive_batch_row(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives `ColumnValue`, `EnumValue` and `Encode` for a fieldless enum stored in an
/// enum column.
#[proc_macro_derive(BatchEnum, attributes(batch))]
pub fn derive_batch_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive_enum(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
