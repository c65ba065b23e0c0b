//! Who among a rule's people takes a lead: the strategies and the availability checks, pure, so
//! each is tested without a store. Every person considered gets a line saying why they were
//! chosen or passed over; that list is what the assignment record shows.

use chrono::NaiveDate;
use entity::enums::AssignmentStrategy;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A person a rule could give the lead to, as the store stands in the assigning transaction.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: Uuid,
    pub active: bool,
    pub away_from: Option<NaiveDate>,
    pub away_until: Option<NaiveDate>,
    pub max_open_leads: Option<i32>,
    /// Counted only where the strategy or a capacity needs it: counting a team's open leads
    /// for every new lead costs more the more leads it holds.
    pub open_leads: Option<i64>,
}

impl Person {
    /// Out of office on `today`: a missing end runs on, a missing start began long ago.
    pub fn away_on(&self, today: NaiveDate) -> bool {
        if self.away_from.is_none() && self.away_until.is_none() {
            return false;
        }
        self.away_from.is_none_or(|from| from <= today)
            && self.away_until.is_none_or(|until| today <= until)
    }

    fn open(&self) -> i64 {
        self.open_leads.unwrap_or_default()
    }

    fn at_capacity(&self) -> bool {
        self.max_open_leads
            .is_some_and(|max| self.open() >= i64::from(max))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Chosen,
    /// Available, but the strategy preferred someone else.
    Passed,
    /// Not available at all (inactive, away, at capacity, excluded).
    Skipped,
}

/// One line of an assignment's explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub user_id: Uuid,
    pub outcome: Outcome,
    pub reason: String,
    /// `None` when the strategy had no need to count them.
    pub open_leads: Option<i64>,
    pub max_open_leads: Option<i32>,
    pub away: bool,
}

/// The person who takes the lead (if any), and the line for every person considered.
///
/// `people` come in a fixed order (by id); `turn` is the rule's count of assignments so far,
/// taken under its row lock, so the round robin starts at `turn mod n` and concurrent
/// assignments each get a turn of their own. Ties under the other strategies go to whoever
/// comes first from that same starting point, so they rotate too. `excluded` are passed over
/// whatever their state (the owner whose SLA was breached).
pub fn choose(
    strategy: AssignmentStrategy,
    people: &[Person],
    turn: u64,
    today: NaiveDate,
    excluded: &[Uuid],
) -> (Option<Uuid>, Vec<Candidate>) {
    let mut lines: Vec<Candidate> = people
        .iter()
        .map(|p| Candidate {
            user_id: p.id,
            outcome: Outcome::Skipped,
            reason: String::new(),
            open_leads: p.open_leads,
            max_open_leads: p.max_open_leads,
            away: p.away_on(today),
        })
        .collect();
    for (person, line) in people.iter().zip(lines.iter_mut()) {
        line.reason = if excluded.contains(&person.id) {
            "breached the SLA on this lead".into()
        } else if !person.active {
            "inactive".into()
        } else if line.away {
            match person.away_until {
                Some(until) => format!("away until {until}"),
                None => "away".into(),
            }
        } else if person.at_capacity() {
            format!(
                "at capacity: {} of {} open leads",
                person.open(),
                person.max_open_leads.unwrap_or_default()
            )
        } else if strategy == AssignmentStrategy::WeightedByCapacity
            && person.max_open_leads.is_none_or(|max| max <= 0)
        {
            "no capacity set".into()
        } else {
            line.outcome = Outcome::Passed;
            String::new()
        };
    }
    let n = people.len();
    if n == 0 {
        return (None, lines);
    }
    // Everyone available, in the rotation that starts at this turn.
    let start = usize::try_from(turn % n as u64).unwrap_or_default();
    let rotation: Vec<usize> = (0..n)
        .map(|k| (start + k) % n)
        .filter(|&i| lines[i].outcome == Outcome::Passed)
        .collect();
    let pick = match strategy {
        AssignmentStrategy::User | AssignmentStrategy::RoundRobin => rotation.first().copied(),
        AssignmentStrategy::FewestOpen => {
            rotation.iter().copied().min_by_key(|&i| people[i].open())
        }
        AssignmentStrategy::WeightedByCapacity => rotation.iter().copied().min_by(|&a, &b| {
            // open_a / cap_a against open_b / cap_b, multiplied out to stay in integers.
            let share = |i: usize, j: usize| {
                (people[i].open() + 1) * i64::from(people[j].max_open_leads.unwrap_or(1))
            };
            share(a, b).cmp(&share(b, a))
        }),
    };
    for &i in &rotation {
        let person = &people[i];
        let line = &mut lines[i];
        let capacity = person
            .max_open_leads
            .map(|max| format!(" of {max}"))
            .unwrap_or_default();
        line.reason = match (strategy, Some(i) == pick) {
            (AssignmentStrategy::User, _) => "the rule's user".into(),
            (AssignmentStrategy::RoundRobin, true) => "next in turn".into(),
            (AssignmentStrategy::RoundRobin, false) => "not their turn".into(),
            (AssignmentStrategy::FewestOpen, true) => {
                format!("fewest open leads: {}", person.open())
            }
            (AssignmentStrategy::FewestOpen, false) => {
                format!("more open leads, or later in turn: {}", person.open())
            }
            (AssignmentStrategy::WeightedByCapacity, true) => {
                format!(
                    "most room for their capacity: {}{capacity} open leads",
                    person.open()
                )
            }
            (AssignmentStrategy::WeightedByCapacity, false) => {
                format!(
                    "less room for their capacity, or later in turn: {}{capacity} open leads",
                    person.open()
                )
            }
        };
        if Some(i) == pick {
            line.outcome = Outcome::Chosen;
        }
    }
    (pick.map(|i| people[i].id), lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    fn person(n: u128) -> Person {
        Person {
            id: Uuid::from_u128(n),
            active: true,
            away_from: None,
            away_until: None,
            max_open_leads: None,
            open_leads: Some(0),
        }
    }

    fn chosen(strategy: AssignmentStrategy, people: &[Person], turn: u64) -> Option<u128> {
        choose(strategy, people, turn, day(10), &[])
            .0
            .map(|id| id.as_u128())
    }

    #[test]
    fn round_robin_takes_turns_and_skips_the_unavailable() {
        let people: Vec<Person> = (1..=4).map(person).collect();
        let picks: Vec<_> = (0..8)
            .map(|turn| chosen(AssignmentStrategy::RoundRobin, &people, turn).unwrap())
            .collect();
        assert_eq!(picks, [1, 2, 3, 4, 1, 2, 3, 4]);

        let mut people = people;
        people[1].active = false;
        people[2].away_from = Some(day(9));
        people[2].away_until = Some(day(11));
        let (pick, lines) = choose(AssignmentStrategy::RoundRobin, &people, 1, day(10), &[]);
        assert_eq!(pick, Some(Uuid::from_u128(4)));
        assert_eq!(lines[1].reason, "inactive");
        assert_eq!(lines[2].reason, "away until 2026-12-11");
        assert!(lines[2].away);
        assert_eq!(lines[3].outcome, Outcome::Chosen);
        assert_eq!(lines[0].outcome, Outcome::Passed);
    }

    #[test]
    fn away_dates_are_inclusive_and_open_ended() {
        let mut p = person(1);
        p.away_from = Some(day(10));
        assert!(p.away_on(day(10)) && p.away_on(day(30)) && !p.away_on(day(9)));
        p.away_from = None;
        p.away_until = Some(day(10));
        assert!(p.away_on(day(1)) && p.away_on(day(10)) && !p.away_on(day(11)));
    }

    #[test]
    fn fewest_open_prefers_the_least_loaded_and_rotates_ties() {
        let mut people: Vec<Person> = (1..=3).map(person).collect();
        people[0].open_leads = Some(5);
        people[1].open_leads = Some(2);
        people[2].open_leads = Some(2);
        assert_eq!(chosen(AssignmentStrategy::FewestOpen, &people, 0), Some(2));
        assert_eq!(chosen(AssignmentStrategy::FewestOpen, &people, 2), Some(3));
    }

    #[test]
    fn capacity_skips_the_full_and_weights_the_rest() {
        let mut people: Vec<Person> = (1..=3).map(person).collect();
        people[0].max_open_leads = Some(2);
        people[0].open_leads = Some(2);
        people[1].max_open_leads = Some(10);
        people[1].open_leads = Some(4);
        people[2].max_open_leads = Some(4);
        people[2].open_leads = Some(2);
        let (pick, lines) = choose(
            AssignmentStrategy::WeightedByCapacity,
            &people,
            0,
            day(10),
            &[],
        );
        // 5/10 beats 3/4 once this lead is counted.
        assert_eq!(pick, Some(Uuid::from_u128(2)));
        assert_eq!(lines[0].reason, "at capacity: 2 of 2 open leads");
        assert_eq!(lines[0].outcome, Outcome::Skipped);
        // Capacity also bounds the other strategies.
        assert_eq!(chosen(AssignmentStrategy::RoundRobin, &people, 0), Some(2));
        // Weighting needs a capacity.
        people[1].max_open_leads = None;
        let (pick, lines) = choose(
            AssignmentStrategy::WeightedByCapacity,
            &people,
            0,
            day(10),
            &[],
        );
        assert_eq!(pick, Some(Uuid::from_u128(3)));
        assert_eq!(lines[1].reason, "no capacity set");
    }

    #[test]
    fn the_excluded_and_an_unavailable_single_user_leave_nobody() {
        let people = [person(1), person(2)];
        let excluded = [Uuid::from_u128(1)];
        let (pick, lines) = choose(
            AssignmentStrategy::RoundRobin,
            &people,
            0,
            day(10),
            &excluded,
        );
        assert_eq!(pick, Some(Uuid::from_u128(2)));
        assert_eq!(lines[0].reason, "breached the SLA on this lead");
        let mut single = [person(7)];
        assert_eq!(chosen(AssignmentStrategy::User, &single, 0), Some(7));
        single[0].active = false;
        assert_eq!(chosen(AssignmentStrategy::User, &single, 0), None);
        assert_eq!(chosen(AssignmentStrategy::RoundRobin, &[], 3), None);
    }
}
