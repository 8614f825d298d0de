//! Enum columns, written by label: the server's enum definition gives each label its
//! value, so a Rust enum and a table may number their variants differently.

use batch_core::{EncodeError, EnumVariant, Reason};

use super::{accept, leaf, put_bytes, put_fixed};
use crate::types::{ChType, EnumDef};

/// The rule of a Rust enum (`#[derive(BatchEnum)]`): an `Enum8`/`Enum16` column with
/// every one of its labels, or a string column.
pub(crate) fn accepts(variants: &[EnumVariant], column: &ChType) -> Result<(), Reason> {
    match leaf(column) {
        ChType::Enum8(def) | ChType::Enum16(def) => labels(variants, def),
        _ => accept(
            column,
            |t| matches!(t, ChType::String | ChType::FixedString(_)),
            "Enum8/Enum16 with its labels, or String",
        ),
    }
}

fn labels(variants: &[EnumVariant], def: &EnumDef) -> Result<(), Reason> {
    let missing = EnumVariant::missing(variants, |l| def.value_of(l).is_some());
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Reason::new(format!(
            "the server enum lacks the label{} {}",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        )))
    }
}

/// Writes `label` to an `Enum8`/`Enum16` column (as the server's value for it), or to a
/// string column (as text). `rust` names the Rust type for errors.
#[inline]
pub(crate) fn encode_label(
    label: &str,
    column: &ChType,
    buf: &mut Vec<u8>,
    rust: &'static str,
) -> Result<(), EncodeError> {
    match leaf(column) {
        ChType::Enum8(def) => {
            let v = def.value_of(label).ok_or_else(|| missing(label, column))?;
            let v = i8::try_from(v).map_err(|_| missing(label, column))?;
            buf.extend_from_slice(&v.to_le_bytes());
            Ok(())
        }
        ChType::Enum16(def) => {
            let v = def.value_of(label).ok_or_else(|| missing(label, column))?;
            buf.extend_from_slice(&v.to_le_bytes());
            Ok(())
        }
        ChType::String => {
            put_bytes(buf, label.as_bytes());
            Ok(())
        }
        ChType::FixedString(n) => put_fixed(buf, label.as_bytes(), *n),
        other => Err(EncodeError::Unsupported {
            rust,
            server: other.to_string(),
        }),
    }
}

#[cold]
fn missing(label: &str, column: &ChType) -> EncodeError {
    EncodeError::Other(format!(
        "the label '{label}' is not a value of the column's {column}"
    ))
}
