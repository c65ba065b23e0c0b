//! RFM: how recently, how often and how much a customer paid, each scored 1 to 5 by quintile
//! against the whole customer base, and the standard segment the three scores fall in.
//!
//! A score is `1 + ⌊5 × b / n⌋`, where `b` is how many of the `n` customers did worse on that
//! measure (paid longer ago, fewer times, less). Customers with equal measures share a score,
//! and a customer better than four fifths of the base scores 5.

use chrono::{DateTime, Duration, Utc};

mod recompute;

pub use recompute::{recompute, run};

/// How far back purchases count towards frequency and monetary value.
pub const WINDOW_DAYS: i64 = 365;

/// One payment by a customer, in the base currency's minor units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Purchase {
    pub at: DateTime<Utc>,
    pub amount_minor: i64,
}

/// A customer's measures at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measures {
    /// Whole days since the last purchase.
    pub recency_days: i64,
    /// Purchases in the last [`WINDOW_DAYS`].
    pub frequency: i64,
    /// What those purchases came to.
    pub monetary_minor: i64,
}

impl Measures {
    /// The measures of a customer with these purchases at `now`; `None` for one who never paid.
    /// Purchases stamped after `now` count as made now.
    pub fn of(purchases: &[Purchase], now: DateTime<Utc>) -> Option<Self> {
        let last = purchases.iter().map(|p| p.at.min(now)).max()?;
        let since = now - Duration::days(WINDOW_DAYS);
        let recent = purchases.iter().filter(|p| p.at > since);
        Some(Measures {
            recency_days: (now - last).num_days(),
            frequency: recent.clone().count() as i64,
            monetary_minor: recent.map(|p| p.amount_minor).sum(),
        })
    }
}

/// The three scores, each 1 to 5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scores {
    pub recency: u8,
    pub frequency: u8,
    pub monetary: u8,
}

/// Scores every customer against the others; the result is in the order of `base`.
pub fn score(base: &[Measures]) -> Vec<Scores> {
    // Lower recency is better: scored on its negation.
    let recency = quintiles(base.iter().map(|m| -m.recency_days));
    let frequency = quintiles(base.iter().map(|m| m.frequency));
    let monetary = quintiles(base.iter().map(|m| m.monetary_minor));
    (0..base.len())
        .map(|i| Scores {
            recency: recency[i],
            frequency: frequency[i],
            monetary: monetary[i],
        })
        .collect()
}

/// `1 + ⌊5 × (values below it) / n⌋` for each value, where higher is better.
fn quintiles(values: impl Iterator<Item = i64>) -> Vec<u8> {
    let values: Vec<i64> = values.collect();
    let mut sorted = values.clone();
    sorted.sort_unstable();
    let n = values.len();
    values
        .iter()
        .map(|v| {
            let below = sorted.partition_point(|x| x < v);
            // below < n, so the score is at most 5.
            1 + (5 * below / n) as u8
        })
        .collect()
}

/// The standard RFM segments, in the order they are tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Segment {
    Champions,
    LoyalCustomers,
    PotentialLoyalist,
    NewCustomers,
    Promising,
    NeedAttention,
    AboutToSleep,
    AtRisk,
    CantLoseThem,
    Hibernating,
    Lost,
}

/// Each segment's inclusive ranges of R, F and M scores; the first that holds wins, since the
/// ranges overlap. In this standard order four segments are never reached: Potential Loyalist
/// covers New Customers and Promising, At Risk covers Can't Lose Them, and Hibernating has the
/// ranges of Lost. They are kept so the list stays the one analysts know.
const RULES: [(Segment, [(u8, u8); 3]); 11] = [
    (Segment::Champions, [(4, 5), (4, 5), (4, 5)]),
    (Segment::LoyalCustomers, [(2, 5), (3, 5), (3, 5)]),
    (Segment::PotentialLoyalist, [(3, 5), (1, 3), (1, 3)]),
    (Segment::NewCustomers, [(4, 5), (1, 1), (1, 1)]),
    (Segment::Promising, [(3, 4), (1, 1), (1, 1)]),
    (Segment::NeedAttention, [(2, 3), (2, 3), (2, 3)]),
    (Segment::AboutToSleep, [(2, 3), (1, 2), (1, 2)]),
    (Segment::AtRisk, [(1, 2), (2, 5), (2, 5)]),
    (Segment::CantLoseThem, [(1, 1), (4, 5), (4, 5)]),
    (Segment::Hibernating, [(1, 2), (1, 2), (1, 2)]),
    (Segment::Lost, [(1, 2), (1, 2), (1, 2)]),
];

impl Segment {
    /// The first segment whose ranges hold all three scores; `None` for the few combinations no
    /// standard segment covers (a recent, frequent buyer of little value, say).
    pub fn of(scores: Scores) -> Option<Segment> {
        let values = [scores.recency, scores.frequency, scores.monetary];
        RULES
            .iter()
            .find(|(_, ranges)| {
                ranges
                    .iter()
                    .zip(values)
                    .all(|((low, high), v)| (*low..=*high).contains(&v))
            })
            .map(|(segment, _)| *segment)
    }
}

impl From<Segment> for entity::enums::RfmSegment {
    fn from(segment: Segment) -> Self {
        use entity::enums::RfmSegment as S;
        match segment {
            Segment::Champions => S::Champions,
            Segment::LoyalCustomers => S::LoyalCustomers,
            Segment::PotentialLoyalist => S::PotentialLoyalist,
            Segment::NewCustomers => S::NewCustomers,
            Segment::Promising => S::Promising,
            Segment::NeedAttention => S::NeedAttention,
            Segment::AboutToSleep => S::AboutToSleep,
            Segment::AtRisk => S::AtRisk,
            Segment::CantLoseThem => S::CantLoseThem,
            Segment::Hibernating => S::Hibernating,
            Segment::Lost => S::Lost,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days_ago: i64, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::days(days_ago)
    }

    fn scores(recency: u8, frequency: u8, monetary: u8) -> Scores {
        Scores {
            recency,
            frequency,
            monetary,
        }
    }

    #[test]
    fn measures_count_the_last_year_and_the_last_purchase() {
        let now = Utc::now();
        let purchases = [
            Purchase {
                at: at(400, now),
                amount_minor: 9_000,
            },
            Purchase {
                at: at(365, now),
                amount_minor: 7_000,
            },
            Purchase {
                at: at(364, now),
                amount_minor: 1_000,
            },
            Purchase {
                at: at(3, now),
                amount_minor: 250,
            },
        ];
        let measures = Measures::of(&purchases, now).unwrap();
        assert_eq!(
            measures,
            Measures {
                recency_days: 3,
                frequency: 2,
                monetary_minor: 1_250
            }
        );
        assert_eq!(Measures::of(&[], now), None);
        // A payment stamped in the future is a payment now.
        let ahead = [Purchase {
            at: now + Duration::days(2),
            amount_minor: 5,
        }];
        assert_eq!(Measures::of(&ahead, now).unwrap().recency_days, 0);
    }

    #[test]
    fn quintiles_split_ten_customers_in_pairs_and_share_ties() {
        assert_eq!(
            quintiles((1..=10).map(i64::from)),
            [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        );
        assert_eq!(quintiles([7, 7, 7].into_iter()), [1, 1, 1]);
        assert_eq!(quintiles([1, 9, 9, 9, 9].into_iter()), [1, 2, 2, 2, 2]);
        assert_eq!(quintiles([5].into_iter()), [1]);
    }

    #[test]
    fn recent_buyers_score_high_on_recency() {
        let base: Vec<Measures> = (0..5)
            .map(|i| Measures {
                recency_days: i * 30,
                frequency: i,
                monetary_minor: i * 100,
            })
            .collect();
        let scored = score(&base);
        let recency: Vec<u8> = scored.iter().map(|s| s.recency).collect();
        let frequency: Vec<u8> = scored.iter().map(|s| s.frequency).collect();
        assert_eq!(recency, [5, 4, 3, 2, 1]);
        assert_eq!(frequency, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn each_segment_holds_at_its_boundaries_and_order_breaks_overlaps() {
        use Segment::*;
        let cases = [
            (scores(4, 4, 4), Champions),
            (scores(5, 5, 5), Champions),
            // One short of Champions on recency falls to Loyal.
            (scores(3, 5, 5), LoyalCustomers),
            (scores(2, 3, 3), LoyalCustomers),
            (scores(5, 3, 3), LoyalCustomers),
            (scores(5, 3, 2), PotentialLoyalist),
            (scores(3, 1, 3), PotentialLoyalist),
            // New Customers (4–5, 1, 1) are all Potential Loyalists first, as listed.
            (scores(4, 1, 1), PotentialLoyalist),
            (scores(2, 2, 2), NeedAttention),
            (scores(2, 3, 2), NeedAttention),
            // The same scores a step more recent are a Potential Loyalist's.
            (scores(3, 3, 2), PotentialLoyalist),
            (scores(2, 1, 2), AboutToSleep),
            (scores(2, 2, 1), AboutToSleep),
            (scores(2, 4, 2), AtRisk),
            (scores(1, 5, 5), AtRisk),
            (scores(1, 2, 1), Hibernating),
            (scores(1, 1, 1), Hibernating),
        ];
        for (scores, segment) in cases {
            assert_eq!(Segment::of(scores), Some(segment), "{scores:?}");
        }
        // Frequent, recent, but of little value: no standard segment.
        assert_eq!(Segment::of(scores(4, 4, 1)), None);
    }
}
