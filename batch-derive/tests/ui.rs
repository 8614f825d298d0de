//! Compile-fail tests: each `tests/ui/<mistake>.rs` must fail to compile with exactly the
//! errors in its `.stderr` file.
//!
//! The toolchain is pinned in `rust-toolchain.toml`, so the `.stderr` files are stable.
//! After a deliberate change to a message (or a toolchain bump), regenerate them with
//! `TRYBUILD=overwrite cargo test -p batch-derive --test ui` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
