use batchrow::BatchRow;

#[derive(BatchRow)]
enum Level {
    Info,
    Warn,
}

fn main() {}
