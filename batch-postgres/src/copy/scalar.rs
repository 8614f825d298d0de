//! Integers, floats, booleans and NULL.
//!
//! Integers go only into the column type of the same width (`i16` into `int2`, `i32`
//! into `int4`, `i64` into `int8`): PostgreSQL's binary `receive` functions read exactly
//! that many bytes. PostgreSQL has no unsigned integers and no 1-byte integer, so `u8`
//! (except inside `Vec<u8>` for `bytea`), `u16`, `u32`, `u64`, `u128`, `i8` and `i128`
//! have no `Encode<PgBinary>` impl: using them with this sink is a compile error.

use batch_core::{Encode, EncodeError, Reason};

use super::{accept_base, expect, oid, put_fixed, PgBinary, PgType};

macro_rules! fixed {
    ($($ty:ty => $oid:expr, $pg:literal;)*) => {$(
        impl Encode<PgBinary> for $ty {
            #[inline]
            fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
                expect::<Self>(column)?;
                put_fixed(buf, self.to_be_bytes());
                Ok(())
            }

            fn accepts(column: &PgType) -> Result<(), Reason> {
                accept_base(column, &[$oid], $pg)
            }
        }
    )*};
}

fixed! {
    i16 => oid::INT2, "smallint";
    i32 => oid::INT4, "integer";
    i64 => oid::INT8, "bigint";
    f32 => oid::FLOAT4, "real";
    f64 => oid::FLOAT8, "double precision";
}

impl Encode<PgBinary> for bool {
    #[inline]
    fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        expect::<Self>(column)?;
        put_fixed(buf, [u8::from(*self)]);
        Ok(())
    }

    fn accepts(column: &PgType) -> Result<(), Reason> {
        accept_base(column, &[oid::BOOL], "boolean")
    }
}

/// `None` is NULL: the length -1 and no value.
impl<T: Encode<PgBinary>> Encode<PgBinary> for Option<T> {
    #[inline]
    fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Some(value) => value.encode(column, buf),
            None => {
                buf.extend_from_slice(&(-1i32).to_be_bytes());
                Ok(())
            }
        }
    }

    /// Any column that takes `T`: the schema check refuses a NOT NULL column itself.
    fn accepts(column: &PgType) -> Result<(), Reason> {
        T::accepts(column)
    }
}
