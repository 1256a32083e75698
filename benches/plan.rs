//! `plan` on the bundled example and on a 5,000-line compose file.
//! Run with `cargo bench --bench plan`.

use std::time::Instant;

use o11y::integrations::all;
use o11y::patch::plan::{plan, Inputs, Source, Target};
use o11y::spec::PyFile;

fn read(rel: &str) -> Source {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/cruddur/");
    Source {
        path: rel.to_string(),
        text: std::fs::read_to_string(format!("{root}{rel}")).unwrap(),
    }
}

fn example() -> Inputs {
    Inputs {
        compose: read("docker-compose.yml"),
        service: "backend-flask".into(),
        backend_dir: "backend-flask".into(),
        requirements: Some(read("backend-flask/requirements.txt")),
        python: vec![
            (PyFile::App, Some(read("backend-flask/app.py"))),
            (
                PyFile::HomeActivities,
                Some(read("backend-flask/services/home_activities.py")),
            ),
            (
                PyFile::UserActivities,
                Some(read("backend-flask/services/user_activities.py")),
            ),
        ],
        gitpod: Some(read(".gitpod.yml")),
        devcontainer: None,
        automations: None,
        present: Vec::new(),
        config: None,
        app_file: "app.py".into(),
        linked: Vec::new(),
        env_files: Vec::new(),
    }
}

/// The example's compose file with services added until it has 5,000 lines.
fn big_compose() -> String {
    let mut text = read("docker-compose.yml").text;
    let at = text.find("services:\n").unwrap() + "services:\n".len();
    let mut extra = String::new();
    let mut n = 0;
    while text.lines().count() + extra.lines().count() < 5000 {
        extra.push_str(&format!(
            "  worker-{n}:\n    image: \"python:3.10\"\n    environment:\n      - QUEUE=jobs-{n}\n      - LEVEL=info\n    # worker {n}\n    ports:\n      - \"{}:80\"\n",
            10000 + n
        ));
        n += 1;
    }
    text.insert_str(at, &extra);
    text
}

fn bench(name: &str, inputs: &Inputs, rounds: u32) {
    let target = Target {
        all: all().to_vec(),
        enabled: all().to_vec(),
        only: None,
        local: false,
        forced: Vec::new(),
        adopt: Vec::new(),
    };
    // Warm up, and check the work is real.
    let p = plan(inputs, &target).unwrap();
    assert!(!p.edits.is_empty());
    let mut times = Vec::with_capacity(rounds as usize);
    for _ in 0..rounds {
        let t = Instant::now();
        std::hint::black_box(plan(std::hint::black_box(inputs), &target).unwrap());
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = times[times.len() / 2];
    let p95 = times[(times.len() * 95 / 100).min(times.len() - 1)];
    println!(
        "{name:<28} lines={:<6} median {median:>8.3} ms   p95 {p95:>8.3} ms   ({rounds} rounds)",
        inputs.compose.text.lines().count()
    );
}

fn main() {
    let small = example();
    bench("plan: example project", &small, 200);
    let mut big = example();
    big.compose.text = big_compose();
    bench("plan: 5,000-line compose", &big, 20);
}
