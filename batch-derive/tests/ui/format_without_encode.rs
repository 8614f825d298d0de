// A sink whose database cannot store a field type (like `u64` in PostgreSQL) refuses
// the row where it is used with that sink, not at run time.
use batchrow::{BatchRow, Encode, EncodeError, EncodeRow, Format};

/// A format that, like PostgreSQL, has no unsigned integers.
struct Signed;

impl Format for Signed {
    type Column = ();
    const NAME: &'static str = "Signed";

    fn begin_row(_columns: u16, _buf: &mut Vec<u8>) {}

    fn encode_enum(
        _label: &'static str,
        _value: i16,
        _column: &(),
        _buf: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        Ok(())
    }
}

impl Encode<Signed> for i64 {
    fn encode(&self, _column: &(), buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        buf.extend_from_slice(&self.to_be_bytes());
        Ok(())
    }
}

#[derive(BatchRow)]
struct Event {
    id: i64,
    count: u64,
}

fn send<R: EncodeRow<Signed>>(row: &R) -> Vec<u8> {
    let mut buf = Vec::new();
    let _ = row.encode_row(&[(), ()], &mut buf);
    buf
}

fn main() {
    let _ = send(&Event { id: 1, count: 2 });
}
