//! parley-loadgen: drives many simulated clients against a parley server.

fn main() {
    eprintln!("parley-loadgen: no scenarios yet");
    std::process::exit(2);
}
