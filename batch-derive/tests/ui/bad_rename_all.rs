use batchrow::BatchRow;

#[derive(BatchRow)]
#[batch(rename_all = "camelcase")]
struct Event {
    user_id: u64,
}

fn main() {}
