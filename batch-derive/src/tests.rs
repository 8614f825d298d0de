//! Snapshot tests of the expansion (the happy path) and of the collected errors.
//!
//! The generated code is pretty-printed with `prettyplease` and compared with the
//! reviewed files in `src/snapshots/`. After a deliberate change to the expansion, run
//! `INSTA_UPDATE=always cargo test -p batch-derive --lib` once (`cargo insta` is not
//! installed here), then review the diff of the `.snap` files before committing.

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::expand;

fn pretty(tokens: TokenStream) -> String {
    let file: syn::File = syn::parse2(tokens).unwrap();
    prettyplease::unparse(&file)
}

fn row(input: DeriveInput) -> String {
    let expansion = expand::derive(&input);
    if let Some(e) = expansion.errors {
        panic!("expected no errors, got {e}");
    }
    pretty(expansion.impls)
}

/// The errors of an expansion, after checking that it still has the impls (`impl_of`,
/// such as "BatchRow for Event").
fn errors_of(expansion: expand::Expansion, impl_of: &str) -> Vec<String> {
    let impls = pretty(expansion.impls);
    assert!(impls.contains(impl_of), "no fallback impl: {impls}");
    match expansion.errors {
        None => panic!("expected errors, got {impls}"),
        Some(e) => e.into_iter().map(|e| e.to_string()).collect(),
    }
}

fn errors(input: DeriveInput) -> Vec<String> {
    errors_of(
        expand::derive(&input),
        &format!("BatchRow for {}", input.ident),
    )
}

fn enum_errors_of(input: &DeriveInput) -> Vec<String> {
    errors_of(
        expand::derive_enum(input),
        &format!("EnumValue for {}", input.ident),
    )
}

#[test]
fn row_with_rename_skip_type_and_lifetime() {
    let input: DeriveInput = syn::parse_quote! {
        #[batch(table = "events", rename_all = "camelCase")]
        struct Event<'a> {
            event_id: u64,
            #[batch(rename = "ts")]
            at: chrono::DateTime<chrono::Utc>,
            user: &'a str,
            tags: Vec<String>,
            note: Option<String>,
            #[batch(type = "LowCardinality(String)")]
            kind: String,
            #[batch(type = "DateTime64(3)")]
            seen_at: chrono::NaiveDateTime,
            #[batch(skip)]
            scratch: u32,
        }
    };
    insta::assert_snapshot!(row(input));
}

#[test]
fn generic_row() {
    let input: DeriveInput = syn::parse_quote! {
        #[batch(crate = "batch_core")]
        struct Pair<'a, K: Clone, V, const N: usize>
        where
            V: Default,
        {
            #[batch(type = "UInt64")]
            key: K,
            values: &'a [V],
            #[batch(type = "FixedString(16)")]
            id: [u8; N],
            name: String,
        }
    };
    insta::assert_snapshot!(row(input));
}

#[test]
fn batch_enum() {
    let input: DeriveInput = syn::parse_quote! {
        #[batch(rename_all = "snake_case")]
        enum Level {
            Debug = -1,
            Info,
            #[batch(rename = "WARNING")]
            Warn = 10,
            FatalError,
        }
    };
    let expansion = expand::derive_enum(&input);
    assert!(expansion.errors.is_none());
    insta::assert_snapshot!(pretty(expansion.impls));
}

#[test]
fn every_error_is_reported() {
    let input: DeriveInput = syn::parse_quote! {
        #[batch(tabel = "events", rename_all = "Camel")]
        struct Event {
            #[batch(rename = "id")]
            a: u64,
            #[batch(rename = "id")]
            b: u64,
            #[batch(type = "DateTime65")]
            c: u64,
            #[batch(skip, rename = "x", colour = 3)]
            d: u64,
            #[batch(type = "Int32", type = "Int64")]
            e: i64,
        }
    };
    let got = errors(input);
    let expected = [
        "unknown batch attribute `tabel` on a `#[derive(BatchRow)]` struct; expected `table`, `rename_all` or `crate`",
        "unknown `rename_all` rule \"Camel\"; expected one of \"lowercase\", \"UPPERCASE\", \"PascalCase\", \"camelCase\", \"snake_case\", \"SCREAMING_SNAKE_CASE\", \"kebab-case\", \"SCREAMING-KEBAB-CASE\"",
        "unknown column type `DateTime65`",
        "unknown batch attribute `colour` on a field; expected `rename`, `skip` or `type`",
        "duplicate `type` attribute: give `type` only once",
        "`rename` has no effect on a `skip`ped field: remove `rename` or `skip`",
        "duplicate column name `id`: field `a` already has it",
    ];
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for (got, expected) in got.iter().zip(expected) {
        assert!(
            got.starts_with(expected),
            "{got:?} should start with {expected:?}"
        );
    }
}

#[test]
fn not_a_named_struct() {
    let cases: [(DeriveInput, &str); 4] = [
        (
            syn::parse_quote!(
                enum E {
                    A,
                }
            ),
            "not an enum; to store a fieldless enum in an enum column, use `#[derive(BatchEnum)]`",
        ),
        (syn::parse_quote!(union U { a: u32 }), "not a union"),
        (
            syn::parse_quote!(
                struct T(u32);
            ),
            "needs a struct with named fields",
        ),
        (
            syn::parse_quote!(
                struct U;
            ),
            "this unit struct has no columns",
        ),
    ];
    for (input, expected) in cases {
        let got = errors(input);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains(expected), "{got:?}");
    }
}

#[test]
fn zero_columns() {
    let got = errors(syn::parse_quote! {
        struct Nothing {
            #[batch(skip)]
            a: u32,
        }
    });
    assert_eq!(
        got,
        ["a `#[derive(BatchRow)]` struct needs at least one column that is not `#[batch(skip)]`"]
    );
}

#[test]
fn too_many_columns() {
    let fields = (0..=u32::from(u16::MAX)).map(|i| quote::format_ident!("f{}", i));
    let input: DeriveInput = syn::parse_quote!(struct Wide { #(#fields: u8),* });
    assert_eq!(
        errors(input),
        ["a row can have at most 65535 columns, this one has 65536"]
    );
}

#[test]
fn enum_errors() {
    let input: DeriveInput = syn::parse_quote! {
        #[batch(table = "t")]
        enum E {
            A(u8),
            B = 40000,
            #[batch(rename = "A")]
            C = 7,
            D = 7,
            E = N,
        }
    };
    let got = enum_errors_of(&input);
    let expected = [
        "unknown batch attribute `table` on a `#[derive(BatchEnum)]` enum; expected `rename_all` or `crate`",
        "`#[derive(BatchEnum)]` needs a fieldless enum, but `A` carries data",
        "the value of `B` does not fit an i16",
        "`#[derive(BatchEnum)]` needs integer literal discriminants",
        "duplicate label \"A\": variant `A` already has it",
        "duplicate value 7: variant `C` already has it",
    ];
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for (got, expected) in got.iter().zip(expected) {
        assert!(
            got.starts_with(expected),
            "{got:?} should start with {expected:?}"
        );
    }
    let empty: DeriveInput = syn::parse_quote!(
        enum Never {}
    );
    assert_eq!(
        enum_errors_of(&empty),
        ["`#[derive(BatchEnum)]` needs at least one variant: an enum column cannot be empty"]
    );
    let not_an_enum: DeriveInput = syn::parse_quote!(
        struct S {
            a: u8,
        }
    );
    assert_eq!(enum_errors_of(&not_an_enum).len(), 1);
}

#[test]
fn rust_type_strings() {
    let cases: [(syn::Type, &str); 8] = [
        (syn::parse_quote!(u64), "u64"),
        (syn::parse_quote!(&'a str), "&'a str"),
        (syn::parse_quote!(Option<&'a [u8]>), "Option<&'a [u8]>"),
        (syn::parse_quote!(&'a mut [u8; 16]), "&'a mut [u8; 16]"),
        (
            syn::parse_quote!(std::collections::HashMap<String, Vec<u64>>),
            "std::collections::HashMap<String, Vec<u64>>",
        ),
        (
            syn::parse_quote!(Box<dyn Fn(u8) -> u8 + Send>),
            "Box<dyn Fn(u8) -> u8 + Send>",
        ),
        (syn::parse_quote!((u8, i8)), "(u8, i8)"),
        (
            syn::parse_quote!(<T as Trait>::Assoc),
            "<T as Trait>::Assoc",
        ),
    ];
    for (ty, expected) in cases {
        assert_eq!(expand::type_string(&ty), expected);
    }
}

/// With an attribute error, the impls are still generated from what parsed, so that the
/// uses of the row do not each report a missing impl.
#[test]
fn fallback_after_an_error() {
    let input: DeriveInput = syn::parse_quote! {
        #[batch(tabel = "events")]
        struct Event {
            id: u64,
            #[batch(type = "Int32", type = "Int64")]
            count: i64,
        }
    };
    let expansion = expand::derive(&input);
    assert_eq!(expansion.errors.into_iter().flatten().count(), 2);
    let impls = pretty(expansion.impls);
    assert!(
        impls.contains("impl ::batchrow::__private::BatchRow for Event"),
        "{impls}"
    );
    assert!(impls.contains("EncodeRow<__F> for Event"), "{impls}");
    assert!(impls.contains("Column::new(\n"), "{impls}");
    assert!(impls.contains("\"count\""), "{impls}");
    // Not a struct: the impls of a row without columns.
    let expansion = expand::derive(&syn::parse_quote!(
        enum E {
            A,
        }
    ));
    assert!(expansion.errors.is_some());
    let impls = pretty(expansion.impls);
    assert!(
        impls.contains("const COLUMNS: &'static [::batchrow::__private::Column] = &[];"),
        "{impls}"
    );
}

/// Raw identifiers lose their `r#` through `IdentExt::unraw`, in column names, Rust
/// field names and the default table name.
#[test]
fn raw_identifiers() {
    let impls = row(syn::parse_quote! {
        struct r#Match {
            r#type: String,
            #[batch(rename = "r#kept")]
            r#loop: u8,
        }
    });
    let flat: String = impls.split_whitespace().collect();
    assert!(
        flat.contains("constTABLE:&'staticstr=\"match\";"),
        "{impls}"
    );
    assert!(
        flat.contains("Column::new(\"type\",\"type\",\"String\","),
        "{impls}"
    );
    assert!(
        flat.contains("Column::new(\"r#kept\",\"loop\",\"u8\","),
        "{impls}"
    );
    assert!(flat.contains("self.r#type"), "{impls}");
}
