use batchrow::BatchEnum;

#[derive(BatchEnum)]
#[batch(rename_all = "lowercase")]
enum Level {
    Info,
    #[batch(rename = "info")]
    Notice,
    Warn = 40000,
}

fn main() {}
