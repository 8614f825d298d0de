//! The error collector: every phase pushes its errors here, and they are all reported
//! together, each spanned at the offending token.
//!
//! As serde_derive's `Ctxt`, it cannot be forgotten: dropping a context whose errors
//! were not taken with [`Ctxt::check`] panics, which turns a derive that would silently
//! drop its errors into a loud bug in this crate's own tests.

use std::fmt::Display;

use quote::ToTokens;

/// Collects `syn::Error`s so that a derive reports every mistake at once.
pub(crate) struct Ctxt {
    /// `None` once [`Ctxt::check`] has taken them.
    errors: Option<Vec<syn::Error>>,
}

impl Ctxt {
    pub(crate) fn new() -> Self {
        Ctxt {
            errors: Some(Vec::new()),
        }
    }

    /// Records an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        if let Some(errors) = &mut self.errors {
            errors.push(error);
        }
    }

    /// Records an error spanned at `tokens`.
    pub(crate) fn error_at<T: ToTokens, M: Display>(&mut self, tokens: T, message: M) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error at `span`.
    pub(crate) fn error_span<M: Display>(&mut self, span: proc_macro2::Span, message: M) {
        self.push(syn::Error::new(span, message));
    }

    /// `Err` with every recorded error combined, or `Ok` if there was none. Must be
    /// called before the context is dropped.
    pub(crate) fn check(mut self) -> syn::Result<()> {
        let mut errors = self.errors.take().unwrap_or_default().into_iter();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for e in errors {
            combined.combine(e);
        }
        Err(combined)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        // A bug in this crate, never a user's mistake: every path through the derive
        // calls `check`. Not while unwinding from another panic.
        #[allow(clippy::panic)]
        if self.errors.is_some() && !std::thread::panicking() {
            panic!("batch-derive: an error context was dropped without `check()`");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use proc_macro2::Span;

    #[test]
    fn combines_every_error() {
        let cx = Ctxt::new();
        assert!(cx.check().is_ok());
        let mut cx = Ctxt::new();
        cx.error_span(Span::call_site(), "first");
        cx.error_span(Span::call_site(), "second");
        let messages: Vec<String> = cx
            .check()
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(messages, ["first", "second"]);
    }

    #[test]
    #[should_panic(expected = "dropped without `check()`")]
    fn dropping_unchecked_panics() {
        let mut cx = Ctxt::new();
        cx.error_span(Span::call_site(), "lost");
        drop(cx);
    }

    #[test]
    #[should_panic(expected = "dropped without `check()`")]
    fn dropping_unchecked_panics_even_without_errors() {
        drop(Ctxt::new());
    }
}
