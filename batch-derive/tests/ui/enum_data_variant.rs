use batchrow::BatchEnum;

#[derive(BatchEnum)]
enum Level {
    Info,
    Custom(String),
    Other { code: u8 },
}

fn main() {}
