//! The error collector: every phase pushes its errors here, and they are all reported
//! together, each spanned at the offending token.

use std::fmt::Display;

use quote::ToTokens;

/// Collects `syn::Error`s so that a derive reports every mistake at once.
#[derive(Default)]
pub(crate) struct Ctxt {
    errors: Option<syn::Error>,
}

impl Ctxt {
    pub(crate) fn new() -> Self {
        Ctxt::default()
    }

    /// Records an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.errors {
            Some(errors) => errors.combine(error),
            None => self.errors = Some(error),
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

    /// `Err` with every recorded error combined, or `Ok` if there was none.
    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.errors {
            Some(errors) => Err(errors),
            None => Ok(()),
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
        assert!(cx.finish().is_ok());
        let mut cx = Ctxt::new();
        cx.error_span(Span::call_site(), "first");
        cx.error_span(Span::call_site(), "second");
        let messages: Vec<String> = cx
            .finish()
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(messages, ["first", "second"]);
    }
}
