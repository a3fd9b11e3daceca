//! Kafka's exact results: every case in `kafka_golden.txt` (inputs and the assignment Kafka's own assignor
//! classes computed for them) must come out the same here, member for member.

use super::*;

struct Case {
    line: usize,
    assignor: Assignor,
    partitions_per_topic: PartitionsPerTopic,
    members: Vec<Member>,
    expected: GroupAssignment,
}

fn list(field: &str) -> Vec<&str> {
    if field == "-" {
        Vec::new()
    } else {
        field.split(',').collect()
    }
}

fn partitions(field: &str) -> Vec<TopicPartition> {
    list(field)
        .into_iter()
        .map(|tp| {
            let (topic, partition) = tp.split_once(':').expect("topic:partition");
            TopicPartition::new(topic, partition.parse::<i32>().expect("a partition number"))
        })
        .collect()
}

fn member(fields: &[&str]) -> Member {
    let [id, instance, generation, topics, owned] = fields else {
        panic!("member <id> <instance> <generation> <topics> <owned>: {fields:?}");
    };
    let mut member = Member::new(*id, list(topics));
    let generation = if *generation == "-" {
        DEFAULT_GENERATION
    } else {
        generation.parse().unwrap()
    };
    member = member.owning(partitions(owned), generation);
    if *instance != "-" {
        member = member.with_group_instance_id(*instance);
    }
    member
}

fn parse(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut case: Option<Case> = None;
    for (number, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields[0] {
            "" | "#" => {}
            "case" => {
                case = Some(Case {
                    line: number + 1,
                    assignor: Assignor::from_name(fields[1]).expect("a known assignor"),
                    partitions_per_topic: PartitionsPerTopic::new(),
                    members: Vec::new(),
                    expected: GroupAssignment::new(),
                })
            }
            "topic" => {
                let case = case.as_mut().expect("inside a case");
                case.partitions_per_topic
                    .insert(fields[1].to_string(), fields[2].parse().unwrap());
            }
            "member" => case
                .as_mut()
                .expect("inside a case")
                .members
                .push(member(&fields[1..])),
            "expect" => {
                let case = case.as_mut().expect("inside a case");
                case.expected
                    .insert(fields[1].to_string(), partitions(fields[2]));
            }
            "end" => cases.push(case.take().expect("inside a case")),
            other => panic!("line {}: unknown line kind {other}", number + 1),
        }
    }
    cases
}

#[test]
fn every_assignor_matches_kafka_on_random_groups() {
    let cases = parse(include_str!("kafka_golden.txt"));
    assert!(cases.len() >= 200, "the golden file holds the cases");
    let mut mismatches = Vec::new();
    for case in &cases {
        let actual = case
            .assignor
            .assign(&case.partitions_per_topic, &case.members);
        if actual != case.expected {
            mismatches.push(format!(
                "case at line {} ({}):\n  kafka: {:?}\n  model: {:?}",
                case.line, case.assignor, case.expected, actual
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ from Kafka:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
}
