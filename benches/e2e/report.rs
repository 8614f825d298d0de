//! The table: one per server, a line per contender.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::measure::Figures;
use crate::{Backend, Contender};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Thousands separated by commas.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The Markdown tables.
pub(crate) fn table(
    contenders: &[&Contender],
    results: &BTreeMap<&str, Vec<Figures>>,
    rows: u64,
    runs: usize,
) -> String {
    let per_million = 1e6 / rows as f64;
    let rate = |name: &str| -> f64 {
        results.get(name).map_or(f64::NAN, |fs| {
            median(fs.iter().map(|f| rows as f64 / f.wall_s).collect())
        })
    };
    let cpu = |fs: &Vec<Figures>| median(fs.iter().map(|f| f.client_cpu_s * per_million).collect());
    let user =
        |fs: &Vec<Figures>| median(fs.iter().map(|f| f.client_user_s * per_million).collect());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} rows per run, {runs} runs of each contender, alternating; medians, with the \
         range of rows/s; the order of the contenders rotates between rounds. CPU in \
         seconds and page faults per 1M rows.\n",
        thousands(rows as f64)
    );
    for (backend, title, baselines) in [
        (
            Backend::ClickHouse,
            "ClickHouse",
            &[
                ("ch-crate-inserter", "× Inserter"),
                ("ch-crate-insert", "× Insert"),
                ("ch-curl-native", "× Native POST"),
            ][..],
        ),
        (
            Backend::Postgres,
            "PostgreSQL",
            &[
                ("pg-binary-copy", "× BinaryCopyInWriter"),
                ("pg-server-copy", "× server COPY"),
            ][..],
        ),
    ] {
        let mine: Vec<&&Contender> = contenders.iter().filter(|c| c.backend == backend).collect();
        if mine.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### {title}\n");
        let _ = write!(out, "| contender | rows/s (median) | min–max |");
        for (_, label) in baselines {
            let _ = write!(out, " {label} |");
        }
        let cpu_label = match backend {
            Backend::ClickHouse => "client CPU × Inserter (same compression)",
            Backend::Postgres => "client CPU × BinaryCopyInWriter",
        };
        let _ = writeln!(
            out,
            " client CPU | {cpu_label} | of it user CPU, × the same | client page faults | \
             server CPU | peak RSS |"
        );
        let _ = write!(out, "|---|---:|---:|");
        for _ in baselines.iter() {
            let _ = write!(out, "---:|");
        }
        let _ = writeln!(out, "---:|---:|---:|---:|---:|---:|");
        for c in mine {
            let Some(fs) = results.get(c.name) else {
                continue;
            };
            let rates: Vec<f64> = fs.iter().map(|f| rows as f64 / f.wall_s).collect();
            let lo = rates.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = rates.iter().copied().fold(0.0, f64::max);
            let med = median(rates);
            let _ = write!(
                out,
                "| {} | {} | {}–{} |",
                c.label,
                thousands(med),
                thousands(lo),
                thousands(hi)
            );
            for (base, _) in baselines {
                let _ = write!(out, " {:.2} |", med / rate(base));
            }
            let client = cpu(fs);
            let faults = median(
                fs.iter()
                    .map(|f| f.client_faults as f64 * per_million)
                    .collect(),
            );
            let server = median(fs.iter().map(|f| f.server_cpu_s * per_million).collect());
            let rss = fs.iter().map(|f| f.peak_rss_kib).max().unwrap_or(0);
            let who = if c.external { " (tool)" } else { "" };
            let baseline = c.cpu_baseline.and_then(|b| results.get(b));
            let versus =
                baseline.map_or_else(|| "–".to_owned(), |b| format!("{:.2}", client / cpu(b)));
            let in_user = user(fs);
            let user_versus =
                baseline.map_or_else(String::new, |b| format!(", {:.2}", in_user / user(b)));
            let _ = writeln!(
                out,
                " {client:.2} s | {versus} | {in_user:.2} s{user_versus} | {} | {server:.2} s | \
                 {} MiB{who} |",
                thousands(faults),
                rss / 1024
            );
        }
        let _ = writeln!(out);
    }
    out
}
