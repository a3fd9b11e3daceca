//! Comparing two traces of one seed event by event: the first event that differs is where the runs diverged.

/// Where two traces part: the event's number (from 1) and each trace's line there (None past its end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    pub event: usize,
    pub first: Option<String>,
    pub second: Option<String>,
}

/// None when the traces are the same event for event.
pub fn first_divergence(first: &str, second: &str) -> Option<Divergence> {
    let (mut a, mut b) = (first.lines(), second.lines());
    let mut event = 0;
    loop {
        event += 1;
        match (a.next(), b.next()) {
            (None, None) => return None,
            (x, y) if x == y => continue,
            (x, y) => {
                return Some(Divergence {
                    event,
                    first: x.map(str::to_owned),
                    second: y.map(str::to_owned),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_differing_event_is_named_and_a_shorter_trace_ends_early() {
        assert_eq!(first_divergence("1 a\n2 b\n", "1 a\n2 b\n"), None);
        assert_eq!(
            first_divergence("1 a\n2 b\n3 c\n", "1 a\n2 x\n3 c\n"),
            Some(Divergence {
                event: 2,
                first: Some("2 b".into()),
                second: Some("2 x".into()),
            })
        );
        assert_eq!(
            first_divergence("1 a\n", "1 a\n2 b\n"),
            Some(Divergence {
                event: 2,
                first: None,
                second: Some("2 b".into()),
            })
        );
    }
}
