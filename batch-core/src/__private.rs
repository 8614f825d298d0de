//! Items the derive's generated code names. Not public API: they may change in any
//! release.

pub use crate::format::{Encode, EncodeError, EnumValue, Format, Reason};
pub use crate::row::{BatchRow, Column, EncodeRow};
pub use crate::value::{ColumnValue, EnumVariant, ValueKind};
pub use core::option::Option;
pub use core::result::Result;
pub use std::vec::Vec;
