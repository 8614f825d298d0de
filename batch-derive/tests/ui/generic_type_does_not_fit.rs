// With a generic field the declared type is checked where the row type is used.
use batchrow::BatchRow;

#[derive(BatchRow)]
struct Keyed<K> {
    #[batch(type = "UInt64")]
    key: K,
}

fn table<R: BatchRow>() -> &'static str {
    R::TABLE
}

fn main() {
    let _ = table::<Keyed<u64>>();
    let _ = table::<Keyed<String>>();
}
