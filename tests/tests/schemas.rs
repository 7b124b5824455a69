//! Schema evolution through the registry, judged from the trace of `schema-evolution`.
//!
//! Reference: Confluent Schema Registry's compatibility rules (a BACKWARD subject accepts a
//! new field with a default and refuses a type Avro cannot promote, such as int to string)
//! and its wire format; Kafka Connect's task lifecycle (a converter error fails the task, an
//! operator's restart starts it from its committed offsets).

use kafkasim_core::actor::Event;
use kafkasim_core::connect::source;
use kafkasim_core::registry::compatibility::Compatibility;
use kafkasim_core::registry::server;
use kafkasim_scenarios::trace::Line;
use kafkasim_sim::trace::TraceKind;
use kafkasim_tests::simulate_builtin;

fn events(lines: &[Line]) -> impl Iterator<Item = (&Line, &Event)> {
    lines.iter().filter_map(|l| match &l.kind {
        TraceKind::Node { event } => Some((l, event)),
        _ => None,
    })
}

/// The compatible change gets version 2 under BACKWARD; the type change is refused with the
/// registry's reason and fails the source task, which writes nothing framed with it; after
/// the operator's NONE and restart, version 3 — and every acknowledged event names an id
/// given for its subject.
#[test]
fn a_compatible_change_flows_and_an_incompatible_one_is_refused() {
    for seed in [1, 2, 3] {
        let sim = simulate_builtin("schema-evolution", seed);
        let lines = sim.lines();
        let registered: Vec<(usize, Compatibility)> = events(lines)
            .filter_map(|(_, e)| match e {
                Event::Registry(server::Event::Registered {
                    version,
                    compatibility,
                    new: true,
                    ..
                }) => Some((*version, *compatibility)),
                _ => None,
            })
            .collect();
        assert_eq!(
            registered,
            [
                (1, Compatibility::Backward),
                (2, Compatibility::Backward),
                (3, Compatibility::None)
            ],
            "seed {seed}"
        );
        let refused: Vec<&str> = events(lines)
            .filter_map(|(_, e)| match e {
                Event::Registry(server::Event::Refused { reason, .. }) => Some(reason.as_str()),
                _ => None,
            })
            .collect();
        assert!(
            !refused.is_empty(),
            "seed {seed}: the type change is refused"
        );
        assert!(
            refused
                .iter()
                .all(|r| r.contains("TYPE_MISMATCH") && r.contains("'amount'")),
            "seed {seed}: {refused:?}"
        );
        let failed_at = events(lines).find_map(|(l, e)| match e {
            Event::Source(source::Event::TaskFailed { reason }) => {
                assert!(reason.contains("error code: 409"), "{reason}");
                Some(l.time)
            }
            _ => None,
        });
        let restarted_at = events(lines).find_map(|(l, e)| {
            matches!(e, Event::Source(source::Event::Restarted)).then_some(l.time)
        });
        let (failed_at, restarted_at) = (failed_at.unwrap(), restarted_at.unwrap());
        let framed_between: Vec<i32> = events(lines)
            .filter(|(l, _)| l.time > failed_at && l.time < restarted_at)
            .filter_map(|(_, e)| match e {
                Event::Source(source::Event::Acked(a)) => a.schema_id,
                _ => None,
            })
            .filter(|id| *id == 3)
            .collect();
        assert!(
            framed_between.is_empty(),
            "seed {seed}: nothing of the refused schema reached Kafka while the task was failed"
        );
        let report = sim.report();
        assert!(
            report.passed(),
            "seed {seed}: the expectations of schema-evolution"
        );
    }
}
