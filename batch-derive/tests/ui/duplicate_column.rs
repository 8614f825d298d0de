use batchrow::BatchRow;

#[derive(BatchRow)]
#[batch(rename_all = "lowercase")]
struct Event {
    user_id: u64,
    #[batch(rename = "user_id")]
    account: u64,
    userid: u64,
}

fn main() {}
