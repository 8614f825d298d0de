// A declared type is in one database's spelling: ClickHouse's when its first name is a
// ClickHouse type name, else PostgreSQL's. Mixing them, or writing a ClickHouse name in
// the wrong case, is a compile error at the string.
use batchrow::BatchRow;

#[derive(BatchRow)]
struct Event {
    #[batch(type = "Nullable(int4)")]
    id: i32,
    #[batch(type = "Array(text)")]
    tags: Vec<String>,
    #[batch(type = "datetime64(3)")]
    at: String,
}

fn main() {}
