//! `serde_json::Value` into `json`, `jsonb` (version byte 1, then the text), and
//! `text` / `citext` (the JSON text). It is serialized straight into the row buffer.

#[cfg(feature = "serde_json")]
mod value {
    use batch_core::{Encode, EncodeError, Reason};

    use crate::copy::text::JSONB_VERSION;
    use crate::copy::{oid, put_with_len, unsupported, PgBinary, PgType, PgTypeKind};

    impl Encode<PgBinary> for serde_json::Value {
        fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
            let jsonb = match (column.kind(), column.base_oid()) {
                (PgTypeKind::Base, oid::JSONB) => true,
                (PgTypeKind::Base, oid::JSON | oid::TEXT) | (PgTypeKind::Citext, _) => false,
                _ => return Err(unsupported::<serde_json::Value>(column)),
            };
            put_with_len(buf, |buf| {
                if jsonb {
                    buf.push(JSONB_VERSION);
                }
                serde_json::to_writer(&mut *buf, self)
                    .map_err(|e| EncodeError::Other(format!("serializing JSON failed: {e}")))
            })
        }

        fn accepts(column: &PgType) -> Result<(), Reason> {
            match (column.kind(), column.base_oid()) {
                (PgTypeKind::Base, oid::JSON | oid::JSONB | oid::TEXT)
                | (PgTypeKind::Citext, _) => Ok(()),
                _ => Err(Reason::needs("json, jsonb, text or citext")),
            }
        }
    }
}
