//! `uuid::Uuid` into `uuid`: the 16 bytes.

#[cfg(feature = "uuid")]
impl batch_core::Encode<super::PgBinary> for uuid::Uuid {
    #[inline]
    fn encode(
        &self,
        column: &super::PgType,
        buf: &mut Vec<u8>,
    ) -> Result<(), batch_core::EncodeError> {
        super::expect::<Self>(column)?;
        super::put_fixed(buf, *self.as_bytes());
        Ok(())
    }

    fn accepts(column: &super::PgType) -> Result<(), batch_core::Reason> {
        super::accept_base(column, &[super::oid::UUID], "uuid")
    }
}
