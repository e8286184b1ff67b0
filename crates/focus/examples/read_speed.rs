//! Reads a FOCUS file and prints rows kept and quarantined, to time the reader alone:
//! `cargo run --release -p focus --example read_speed -- FILE`.

fn main() {
    let path = std::env::args().nth(1).expect("usage: read_speed FILE");
    let opts = focus::ReadOptions { name: path.clone(), delivery: "bench".into(), batch_rows: 65_536, limits: Default::default() };
    let t = std::time::Instant::now();
    let mut r = focus::open(std::path::Path::new(&path), &opts).expect("open");
    let (mut kept, mut bad) = (0, 0);
    while let Some(b) = r.next_batch().expect("read") {
        kept += b.data.num_rows();
        bad += b.rows_quarantined;
    }
    println!("{kept} kept, {bad} quarantined in {:.2} s", t.elapsed().as_secs_f64());
}
