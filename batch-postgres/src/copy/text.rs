//! Text: `String`, `&str` and `Cow<str>` into `text`, `varchar(n)`, `character(n)`,
//! `name`, `citext`, enum types, `json` and `jsonb`, and enum labels.
//!
//! The binary format of all of them is the UTF-8 text, except `jsonb`, which starts with
//! a version byte (1). Values the server would reject are refused while encoding, so the
//! row is handed back to the producer instead of failing a whole batch: a NUL character
//! (PostgreSQL text cannot hold one), a value longer than `varchar(n)` / `character(n)`
//! (trailing spaces beyond `n` are allowed: the server cuts them, as it does for
//! `INSERT`), a `name` of 64 bytes or more, and a label the enum type does not have.

use std::borrow::Cow;

use batch_core::{Encode, EncodeError, EnumVariant, Reason};

use super::{oid, put_with_len, too_long, unsupported, PgBinary, PgType, PgTypeKind};

/// `name` holds at most `NAMEDATALEN - 1` = 63 bytes.
const NAME_MAX: usize = 63;

/// The jsonb binary format version.
pub(crate) const JSONB_VERSION: u8 = 1;

/// Writes `s` with its length prefix.
#[inline]
fn put_text(s: &str, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
    let Ok(len) = i32::try_from(s.len()) else {
        return Err(too_long("a PostgreSQL text value", s.len()));
    };
    buf.reserve(4 + s.len());
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(s.as_bytes());
    Ok(())
}

#[inline]
fn check_nul(s: &str) -> Result<(), EncodeError> {
    if has_nul(s.as_bytes()) {
        Err(nul_error())
    } else {
        Ok(())
    }
}

/// Whether `bytes` holds a 0, eight bytes at a time: a word `x` holds a 0 byte exactly
/// when `(x - 0x01..01) & !x & 0x80..80` is not 0 (the classic "has a zero byte"
/// test), so the words need no branch each. Short text values, the common case, take a
/// few instructions rather than a call.
#[inline]
pub(super) fn has_nul(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut words = bytes.chunks_exact(8);
    let mut zero = 0;
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let x = u64::from_ne_bytes(w);
        zero |= x.wrapping_sub(ONES) & !x & HIGHS;
    }
    zero != 0 || words.remainder().contains(&0)
}

#[cold]
fn nul_error() -> EncodeError {
    EncodeError::Other("PostgreSQL text cannot contain the NUL character (\\0)".to_owned())
}

/// Checks the length limit of `varchar(n)` / `character(n)` like the server does:
/// characters beyond `n` are allowed only if they are all spaces.
#[inline]
fn check_char_limit(s: &str, column: &PgType) -> Result<(), EncodeError> {
    let Some(max) = column.char_limit() else {
        return Ok(());
    };
    if s.len() <= max {
        return Ok(()); // at most `max` bytes, so at most `max` characters
    }
    match s.char_indices().nth(max) {
        Some((cut, _)) if !s[cut..].bytes().all(|b| b == b' ') => Err(EncodeError::Length {
            what: if column.base_oid() == oid::VARCHAR {
                "character varying(n)"
            } else {
                "character(n)"
            },
            len: s.chars().count(),
            max,
        }),
        _ => Ok(()),
    }
}

#[cold]
fn not_a_label(value: &str, column: &PgType) -> EncodeError {
    EncodeError::Other(format!(
        "`{value}` is not a label of the enum type {}",
        column.name()
    ))
}

/// Writes a string held in a `T` to a text-like, enum or JSON column.
pub(crate) fn encode_str<T: ?Sized>(
    s: &str,
    column: &PgType,
    buf: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    match column.kind() {
        PgTypeKind::Enum(labels) => {
            if !labels.iter().any(|l| l == s) {
                return Err(not_a_label(s, column));
            }
            put_text(s, buf)
        }
        PgTypeKind::Citext => {
            check_nul(s)?;
            put_text(s, buf)
        }
        PgTypeKind::Base => match column.base_oid() {
            oid::TEXT | oid::VARCHAR | oid::BPCHAR => {
                check_nul(s)?;
                check_char_limit(s, column)?;
                put_text(s, buf)
            }
            oid::NAME => {
                check_nul(s)?;
                if s.len() > NAME_MAX {
                    return Err(EncodeError::Length {
                        what: "name (bytes)",
                        len: s.len(),
                        max: NAME_MAX,
                    });
                }
                put_text(s, buf)
            }
            oid::JSON => {
                check_nul(s)?;
                put_text(s, buf)
            }
            oid::JSONB => {
                check_nul(s)?;
                put_with_len(buf, |buf| {
                    buf.push(JSONB_VERSION);
                    buf.extend_from_slice(s.as_bytes());
                    Ok(())
                })
            }
            _ => Err(unsupported::<T>(column)),
        },
        _ => Err(unsupported::<T>(column)),
    }
}

/// The rule of text: the text-like types, enum types (label by label, while encoding),
/// `json` and `jsonb`.
fn accepts_str(column: &PgType) -> Result<(), Reason> {
    let json = matches!(column.kind(), PgTypeKind::Base)
        && matches!(column.base_oid(), oid::JSON | oid::JSONB);
    if column.is_text() || column.enum_labels().is_some() || json {
        Ok(())
    } else {
        Err(Reason::needs(
            "text, varchar(n), character(n), name, citext, an enum type, json or jsonb",
        ))
    }
}

/// The rule of a Rust enum (`#[derive(BatchEnum)]`): an enum type with every one of its
/// labels, or a text-like type.
pub(crate) fn accepts_label(variants: &[EnumVariant], column: &PgType) -> Result<(), Reason> {
    let Some(labels) = column.enum_labels() else {
        return if column.is_text() {
            Ok(())
        } else {
            Err(Reason::needs("an enum type with its labels, or text"))
        };
    };
    let missing = EnumVariant::missing(variants, |l| labels.iter().any(|s| s == l));
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Reason::new(format!(
            "the enum type {} has no label {}; add it with ALTER TYPE … ADD VALUE",
            column.name(),
            missing.join(", ")
        )))
    }
}

/// Writes a Rust enum's label to an enum or text-like column.
pub(crate) fn encode_label(
    label: &'static str,
    column: &PgType,
    buf: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    // The enum's own type is not known here (`Format::encode_enum`): the label is
    // written as the string it is.
    if column.enum_labels().is_some() || column.is_text() {
        encode_str::<str>(label, column, buf)
    } else {
        Err(unsupported::<str>(column))
    }
}

impl Encode<PgBinary> for str {
    #[inline]
    fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        encode_str::<str>(self, column, buf)
    }

    fn accepts(column: &PgType) -> Result<(), Reason> {
        accepts_str(column)
    }
}

impl Encode<PgBinary> for String {
    #[inline]
    fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        encode_str::<String>(self, column, buf)
    }

    fn accepts(column: &PgType) -> Result<(), Reason> {
        accepts_str(column)
    }
}

impl Encode<PgBinary> for Cow<'_, str> {
    #[inline]
    fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        encode_str::<Cow<'_, str>>(self, column, buf)
    }

    fn accepts(column: &PgType) -> Result<(), Reason> {
        accepts_str(column)
    }
}
