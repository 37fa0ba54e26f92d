//! The solver command on a pool file: the pairs a run would make, with
//! their points, reasons and the certificate.

use std::{io::Write, process::Command};

use serde_json::{Value, json};

fn solve(pool: &Value) -> (bool, Value, String) {
    let path = std::env::temp_dir().join(format!("pool-{}.json", std::process::id()));
    std::fs::File::create(&path)
        .and_then(|mut file| file.write_all(pool.to_string().as_bytes()))
        .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_matching-solve"))
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).ok();
    let stdout = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (
        output.status.success(),
        stdout,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn person(id: &str, role: &str, extra: Value) -> Value {
    let mut person = json!({
        "id": id, "role": role, "status": "acknowledged", "first_name": id,
        "departement": "93", "mode": "indifferent", "languages": ["fr"],
        "verified_at": "2026-11-01T09:00:00Z",
    });
    for (name, value) in extra.as_object().unwrap() {
        person[name] = value.clone();
    }
    person
}

#[test]
fn a_pool_file_is_paired_with_its_points_reasons_and_certificate() {
    let mentee = |id: &str, needs: Value| {
        person(
            id,
            "mentee",
            json!({"birth_date": "2004-05-01", "situation": "etudiant", "needs": needs}),
        )
    };
    let mentor = |id: &str, expertise: Value| {
        person(
            id,
            "mentor",
            json!({"audiences": ["etudiant"], "expertise": expertise, "capacity": 1}),
        )
    };
    // Only one way gives both their need: lea with bob, sam with ana.
    let pool = json!({
        "association": "tremplin-93",
        "candidates": 1,
        "mentees": [
            mentee("lea", json!(["insertion_pro"])),
            mentee("sam", json!(["orientation"])),
        ],
        "mentors": [
            mentor("ana", json!(["orientation", "insertion_pro"])),
            mentor("bob", json!(["insertion_pro"])),
        ],
    });
    let (ok, solved, stderr) = solve(&pool);
    assert!(ok, "{stderr}");
    let pairs: Vec<(&str, &str)> = solved["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["mentee_id"].as_str().unwrap(),
                p["mentor_id"].as_str().unwrap(),
            )
        })
        .collect();
    let mut pairs = pairs;
    pairs.sort_unstable();
    assert_eq!(pairs, [("lea", "bob"), ("sam", "ana")], "{solved}");
    assert_eq!(solved["certificate"]["optimal"], true);
    assert!(solved["pairs"][0]["points"]["needs"].as_u64().unwrap() > 0);
    assert!(!solved["pairs"][0]["reasons"].as_array().unwrap().is_empty());
    assert_eq!(solved["unmatched"], json!([]));

    // A file the command cannot read says why, and pairs nothing.
    let (ok, _, stderr) =
        solve(&json!({"association": "x", "mentees": [], "mentors": [], "extra": 1}));
    assert!(!ok && stderr.contains("unknown field"), "{stderr}");
}
