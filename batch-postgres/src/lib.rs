//! The postgres sink of batchrow.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
