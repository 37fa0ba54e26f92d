//! One routing decision over a directory of fifty associations (the size of
//! the network). Target: ≤ 5 µs median.

use criterion::{Criterion, criterion_group, criterion_main};
use routing::rules::{
    Association, Bits, MenteeCase, Weights, group_index, need_index, route_mentee,
};
use shared::{
    people::{Mode, Need, PriorityGroup, Situation},
    place::Departement,
};

/// Fifty associations: a few national ones, the others over two to six
/// départements each, with mixed needs, ages, specialities and loads.
fn directory() -> Vec<Association> {
    let departements: Vec<u8> = (1..=95).filter(|n| *n != 20).map(|n| n as u8).collect();
    (0..50u32)
        .map(|i| {
            let span = 2 + (i % 5) as usize;
            let start = (i as usize * 7) % (departements.len() - span);
            Association {
                slug: format!("association-{i:02}"),
                active: i % 17 != 3,
                departements: Bits::of(departements[start..start + span].iter().copied()),
                national: i % 10 == 0,
                presentiel: i % 4 != 1,
                distance: i % 3 != 2,
                ages: if i % 6 == 0 { 11..=18 } else { 15..=30 },
                needs: Bits::of((0..6u8).filter(|n| (i + u32::from(*n)) % 3 != 0)),
                situations: Bits::of((0..6u8).filter(|s| (i + u32::from(*s)) % 2 == 0)),
                specialities: if i % 5 == 0 {
                    vec![(group_index(PriorityGroup::Qpv), 30)]
                } else {
                    Vec::new()
                },
                reserved_for: if i == 7 {
                    Bits::of([group_index(PriorityGroup::Refugie)])
                } else {
                    Bits::default()
                },
                monthly_capacity: 20 + i * 3,
                routed_this_month: (i * 11) % 25,
                mentor_intake: i % 4 != 0,
                waiting_mentees: (i * 13) % 40,
                free_mentor_places: (i * 7) % 9,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let directory = directory();
    let declined = vec!["association-12".to_owned()];
    let mentee = MenteeCase {
        request_id: "01a21988dcc870ca831bd660b79dc33a",
        departement: Departement::parse("93").expect("a département").index(),
        mode: Mode::Indifferent,
        age: 16,
        needs: Bits::of([
            need_index(Need::Orientation),
            need_index(Need::StageAlternance),
        ]),
        situation: Situation::Lyceen as u8,
        groups: Bits::of([
            group_index(PriorityGroup::Qpv),
            group_index(PriorityGroup::Boursier),
        ]),
        declined_by: &declined,
    };
    let weights = Weights::default();
    assert!(
        route_mentee(&directory, &mentee, &weights)
            .chosen()
            .is_some()
    );
    c.bench_function("routing decision over 50 associations", |b| {
        b.iter(|| {
            route_mentee(
                std::hint::black_box(&directory),
                std::hint::black_box(&mentee),
                &weights,
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
