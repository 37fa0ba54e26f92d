//! The pair lifecycle as a pure state machine: which events a pair accepts
//! in each state, and what each transition does to the mentor's places, to
//! the mentee's place in the pool and to the association's counters.
//! Storage applies what the machine decides, in one transaction
//! conditioned on the state the decision was made from.
//!
//! ```text
//!            accept (one side)            accept (the other side)
//!  propose ─▶ Proposed ───────────▶ Proposed ──────────────────────▶ Active
//!               │ decline / close / erase      │                        │ close / erase
//!               ▼                              ▼                        ▼
//!            Declined (decline)  or  Closed (close, erase)           Closed
//! ```
//!
//! Declined and Closed are final: only an erasure still reaches them, and
//! it only takes the erased person's id out of the pair.

use serde::{Deserialize, Serialize};

use crate::{directory::CounterChange, people::Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairStatus {
    Proposed,
    Active,
    Declined,
    Closed,
}

impl PairStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PairStatus::Proposed => "proposed",
            PairStatus::Active => "active",
            PairStatus::Declined => "declined",
            PairStatus::Closed => "closed",
        }
    }

    /// Whether the pair still holds the mentor's place.
    pub fn is_going(self) -> bool {
        matches!(self, PairStatus::Proposed | PairStatus::Active)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    Completed,
    NoContact,
    Moved,
    Other,
    /// One of the two asked for their data to be erased.
    Erased,
}

impl CloseReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Completed => "completed",
            CloseReason::NoContact => "no_contact",
            CloseReason::Moved => "moved",
            CloseReason::Other => "other",
            CloseReason::Erased => "erased",
        }
    }
}

/// Where a pair stands: its status and who has accepted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairState {
    pub status: PairStatus,
    pub mentee_accepted: bool,
    pub mentor_accepted: bool,
}

impl PairState {
    fn accepted(&self, side: Role) -> bool {
        match side {
            Role::Mentee => self.mentee_accepted,
            Role::Mentor => self.mentor_accepted,
        }
    }
}

/// What can happen to a pair once proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairEvent {
    Accept(Role),
    Decline(Role),
    /// The association ends it.
    Close(CloseReason),
    /// One side's data is erased.
    Erase(Role),
}

/// What becomes of the mentee's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenteeMove {
    /// Nothing changes for it.
    Stays,
    /// Out of the pool while the proposal waits for answers.
    Proposed,
    /// In an active pair.
    Paired,
    /// Back in the association's pool, to be paired again.
    BackToPool,
    /// Out of the pool for good: the mentoring is over.
    Done,
}

/// What one transition does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: Option<PairState>,
    pub to: PairState,
    /// The change of the mentor's `pairs_held`: +1 takes a place, −1 gives it back.
    pub mentor_places: i8,
    pub mentee: MenteeMove,
    /// Both accepted: each receives the other's contact details.
    pub exchange_contacts: bool,
    /// The side that did not act is told the proposal will not go ahead.
    pub tell_other_side: Option<Role>,
}

impl Transition {
    /// Whether anything is written: an event that changes nothing (an
    /// answer given twice) writes nothing and sends nothing.
    pub fn changes(&self) -> bool {
        self.from != Some(self.to)
    }

    /// What the transition does to the association's counters: the
    /// mentees waiting in its pool and the free places of its mentors.
    pub fn counters(&self) -> CounterChange {
        CounterChange {
            routed: None,
            waiting_mentees: match self.mentee {
                MenteeMove::Proposed => -1,
                MenteeMove::BackToPool => 1,
                MenteeMove::Stays | MenteeMove::Paired | MenteeMove::Done => 0,
            },
            free_mentor_places: -i64::from(self.mentor_places),
        }
    }
}

/// An event the pair does not accept in its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {status:?} pair does not accept {event:?}", status = state.status)]
pub struct NotAllowed {
    pub state: PairState,
    pub event: PairEvent,
}

/// A new proposal: the mentor's place is taken, the mentee leaves the pool.
/// The guards (the mentor has room, the mentee waits in the pool, these two
/// were never proposed) are conditions of the write that applies it.
pub fn propose() -> Transition {
    Transition {
        from: None,
        to: PairState {
            status: PairStatus::Proposed,
            mentee_accepted: false,
            mentor_accepted: false,
        },
        mentor_places: 1,
        mentee: MenteeMove::Proposed,
        exchange_contacts: false,
        tell_other_side: None,
    }
}

fn other(side: Role) -> Role {
    match side {
        Role::Mentee => Role::Mentor,
        Role::Mentor => Role::Mentee,
    }
}

/// The transition `event` makes from `state`, or why it is refused.
pub fn apply(state: PairState, event: PairEvent) -> Result<Transition, NotAllowed> {
    let stay = Transition {
        from: Some(state),
        to: state,
        mentor_places: 0,
        mentee: MenteeMove::Stays,
        exchange_contacts: false,
        tell_other_side: None,
    };
    let refused = Err(NotAllowed { state, event });
    let ended = |status: PairStatus| PairState { status, ..state };
    match (state.status, event) {
        (PairStatus::Proposed, PairEvent::Accept(side)) if state.accepted(side) => Ok(stay),
        (PairStatus::Proposed, PairEvent::Accept(side)) => {
            let mut to = state;
            match side {
                Role::Mentee => to.mentee_accepted = true,
                Role::Mentor => to.mentor_accepted = true,
            }
            let both = to.mentee_accepted && to.mentor_accepted;
            if both {
                to.status = PairStatus::Active;
            }
            Ok(Transition {
                to,
                mentee: if both {
                    MenteeMove::Paired
                } else {
                    MenteeMove::Stays
                },
                exchange_contacts: both,
                ..stay
            })
        }
        // Started already: the late answer is the same as the first.
        (PairStatus::Active, PairEvent::Accept(_)) => Ok(stay),
        (PairStatus::Proposed, PairEvent::Decline(side)) => Ok(Transition {
            to: ended(PairStatus::Declined),
            mentor_places: -1,
            mentee: MenteeMove::BackToPool,
            tell_other_side: Some(other(side)),
            ..stay
        }),
        (PairStatus::Declined, PairEvent::Decline(_)) => Ok(stay),
        (PairStatus::Proposed | PairStatus::Active, PairEvent::Close(CloseReason::Erased)) => {
            refused
        }
        (PairStatus::Proposed | PairStatus::Active, PairEvent::Close(reason)) => Ok(Transition {
            to: ended(PairStatus::Closed),
            mentor_places: -1,
            // A mentee who never heard from the mentor is paired again.
            mentee: if reason == CloseReason::NoContact {
                MenteeMove::BackToPool
            } else {
                MenteeMove::Done
            },
            ..stay
        }),
        (PairStatus::Proposed | PairStatus::Active, PairEvent::Erase(side)) => Ok(Transition {
            to: ended(PairStatus::Closed),
            // The erased side's profile is gone: nothing of theirs to change.
            mentor_places: if side == Role::Mentor { 0 } else { -1 },
            mentee: if side == Role::Mentee {
                MenteeMove::Stays
            } else {
                MenteeMove::BackToPool
            },
            tell_other_side: (state.status == PairStatus::Proposed).then_some(other(side)),
            ..stay
        }),
        // Over: only the erased person's id leaves it (storage does that).
        (PairStatus::Declined | PairStatus::Closed, PairEvent::Erase(_)) => Ok(stay),
        _ => refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposed() -> PairState {
        propose().to
    }

    fn state(status: PairStatus) -> PairState {
        PairState {
            status,
            mentee_accepted: status == PairStatus::Active,
            mentor_accepted: status == PairStatus::Active,
        }
    }

    #[test]
    fn a_proposal_takes_a_place_and_the_mentee_out_of_the_pool() {
        let t = propose();
        assert_eq!(t.to.status, PairStatus::Proposed);
        assert_eq!((t.mentor_places, t.mentee), (1, MenteeMove::Proposed));
        assert_eq!(t.counters().waiting_mentees, -1);
        assert_eq!(t.counters().free_mentor_places, -1);
    }

    #[test]
    fn one_acceptance_waits_for_the_other() {
        let t = apply(proposed(), PairEvent::Accept(Role::Mentee)).unwrap();
        assert_eq!(t.to.status, PairStatus::Proposed);
        assert!(t.to.mentee_accepted && !t.to.mentor_accepted);
        assert!(t.changes() && !t.exchange_contacts);
        assert!(t.counters().is_empty());
    }

    #[test]
    fn the_second_acceptance_starts_the_pair_and_exchanges_contacts() {
        let half = apply(proposed(), PairEvent::Accept(Role::Mentor))
            .unwrap()
            .to;
        let t = apply(half, PairEvent::Accept(Role::Mentee)).unwrap();
        assert_eq!(t.to.status, PairStatus::Active);
        assert!(t.exchange_contacts);
        assert_eq!((t.mentor_places, t.mentee), (0, MenteeMove::Paired));
        assert!(t.counters().is_empty());
    }

    #[test]
    fn an_answer_given_twice_changes_nothing() {
        let half = apply(proposed(), PairEvent::Accept(Role::Mentee))
            .unwrap()
            .to;
        assert!(
            !apply(half, PairEvent::Accept(Role::Mentee))
                .unwrap()
                .changes()
        );
        let active = state(PairStatus::Active);
        assert!(
            !apply(active, PairEvent::Accept(Role::Mentor))
                .unwrap()
                .changes()
        );
        let declined = state(PairStatus::Declined);
        assert!(
            !apply(declined, PairEvent::Decline(Role::Mentor))
                .unwrap()
                .changes()
        );
    }

    #[test]
    fn a_decline_frees_the_place_returns_the_mentee_and_tells_the_other() {
        let t = apply(proposed(), PairEvent::Decline(Role::Mentor)).unwrap();
        assert_eq!(t.to.status, PairStatus::Declined);
        assert_eq!((t.mentor_places, t.mentee), (-1, MenteeMove::BackToPool));
        assert_eq!(t.tell_other_side, Some(Role::Mentee));
        assert_eq!(t.counters().waiting_mentees, 1);
        assert_eq!(t.counters().free_mentor_places, 1);
    }

    #[test]
    fn an_active_pair_cannot_be_declined() {
        assert!(apply(state(PairStatus::Active), PairEvent::Decline(Role::Mentee)).is_err());
    }

    #[test]
    fn closing_ends_the_mentoring_unless_nobody_made_contact() {
        for from in [PairStatus::Proposed, PairStatus::Active] {
            let done = apply(state(from), PairEvent::Close(CloseReason::Completed)).unwrap();
            assert_eq!(done.to.status, PairStatus::Closed);
            assert_eq!((done.mentor_places, done.mentee), (-1, MenteeMove::Done));
            let again = apply(state(from), PairEvent::Close(CloseReason::NoContact)).unwrap();
            assert_eq!(again.mentee, MenteeMove::BackToPool);
            assert_eq!(again.tell_other_side, None);
        }
    }

    #[test]
    fn only_an_erasure_closes_a_pair_as_erased() {
        assert!(apply(proposed(), PairEvent::Close(CloseReason::Erased)).is_err());
    }

    #[test]
    fn final_states_refuse_everything_but_an_erasure() {
        for status in [PairStatus::Declined, PairStatus::Closed] {
            for event in [
                PairEvent::Accept(Role::Mentee),
                PairEvent::Close(CloseReason::Completed),
            ] {
                assert!(apply(state(status), event).is_err(), "{status:?} {event:?}");
            }
            let erased = apply(state(status), PairEvent::Erase(Role::Mentee)).unwrap();
            assert!(!erased.changes());
        }
        assert!(apply(state(PairStatus::Closed), PairEvent::Decline(Role::Mentee)).is_err());
    }

    #[test]
    fn an_erasure_releases_only_the_side_that_remains() {
        let mentee_gone = apply(proposed(), PairEvent::Erase(Role::Mentee)).unwrap();
        assert_eq!(mentee_gone.to.status, PairStatus::Closed);
        assert_eq!(
            (mentee_gone.mentor_places, mentee_gone.mentee),
            (-1, MenteeMove::Stays)
        );
        assert_eq!(mentee_gone.tell_other_side, Some(Role::Mentor));
        let mentor_gone = apply(state(PairStatus::Active), PairEvent::Erase(Role::Mentor)).unwrap();
        assert_eq!(
            (mentor_gone.mentor_places, mentor_gone.mentee),
            (0, MenteeMove::BackToPool)
        );
        assert_eq!(mentor_gone.tell_other_side, None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// One mentor, a few mentees, the guards storage checks on a proposal.
        #[derive(Debug)]
        struct Model {
            capacity: u8,
            held: i32,
            mentor_erased: bool,
            /// Per mentee: waiting in the pool, and still there (not erased).
            in_pool: Vec<bool>,
            erased: Vec<bool>,
            /// Per mentee: its pair with the mentor, if ever proposed.
            pairs: Vec<Option<PairState>>,
            waiting: i64,
            free_places: i64,
        }

        #[derive(Debug, Clone)]
        enum Step {
            Propose(usize),
            Event(usize, PairEvent),
        }

        fn role() -> impl Strategy<Value = Role> {
            prop_oneof![Just(Role::Mentee), Just(Role::Mentor)]
        }

        fn event() -> impl Strategy<Value = PairEvent> {
            let reason = prop_oneof![
                Just(CloseReason::Completed),
                Just(CloseReason::NoContact),
                Just(CloseReason::Moved),
                Just(CloseReason::Other),
            ];
            prop_oneof![
                role().prop_map(PairEvent::Accept),
                role().prop_map(PairEvent::Decline),
                reason.prop_map(PairEvent::Close),
                role().prop_map(PairEvent::Erase),
            ]
        }

        fn step(mentees: usize) -> impl Strategy<Value = Step> {
            prop_oneof![
                (0..mentees).prop_map(Step::Propose),
                (0..mentees, event()).prop_map(|(m, e)| Step::Event(m, e)),
            ]
        }

        impl Model {
            fn new(capacity: u8, mentees: usize) -> Self {
                Self {
                    capacity,
                    held: 0,
                    mentor_erased: false,
                    in_pool: vec![true; mentees],
                    erased: vec![false; mentees],
                    pairs: vec![None; mentees],
                    waiting: mentees as i64,
                    free_places: i64::from(capacity),
                }
            }

            fn run(&mut self, transition: Transition, mentee: usize, event: Option<PairEvent>) {
                if !transition.changes() {
                    return;
                }
                // An erased side's profile is gone: what it held goes with it.
                if let Some(PairEvent::Erase(side)) = event {
                    match side {
                        Role::Mentee => self.erased[mentee] = true,
                        Role::Mentor => {
                            self.mentor_erased = true;
                            self.free_places = 0;
                        }
                    }
                }
                if !self.mentor_erased {
                    self.held += i32::from(transition.mentor_places);
                }
                match transition.mentee {
                    MenteeMove::Proposed => self.in_pool[mentee] = false,
                    MenteeMove::BackToPool => self.in_pool[mentee] = true,
                    MenteeMove::Stays | MenteeMove::Paired | MenteeMove::Done => {}
                }
                let change = transition.counters();
                self.waiting += change.waiting_mentees;
                if !self.mentor_erased {
                    self.free_places += change.free_mentor_places;
                }
                self.pairs[mentee] = Some(transition.to);
            }

            fn check(&self) {
                let going = self
                    .pairs
                    .iter()
                    .flatten()
                    .filter(|p| p.status.is_going())
                    .count() as i32;
                if !self.mentor_erased {
                    assert!(self.held <= i32::from(self.capacity), "{self:?}");
                    assert_eq!(self.held, going, "{self:?}");
                    assert_eq!(
                        self.free_places,
                        i64::from(self.capacity) - i64::from(self.held)
                    );
                }
                for (m, pair) in self.pairs.iter().enumerate() {
                    let in_pair = pair.is_some_and(|p| p.status.is_going());
                    assert!(!(in_pair && self.in_pool[m]), "mentee {m}: {self:?}");
                }
                let waiting = (0..self.in_pool.len())
                    .filter(|m| self.in_pool[*m] && !self.erased[*m])
                    .count() as i64;
                assert_eq!(self.waiting, waiting, "{self:?}");
            }
        }

        proptest! {
            #[test]
            fn no_sequence_overfills_a_mentor_or_leaves_a_mentee_in_two_places(
                capacity in 1u8..4,
                steps in proptest::collection::vec(step(5), 1..60),
            ) {
                let mut model = Model::new(capacity, 5);
                for step in steps {
                    match step {
                        Step::Propose(m) => {
                            // The write's guards: room, the mentee in the
                            // pool, never proposed to each other.
                            let room = i32::from(capacity) > model.held;
                            if room && model.in_pool[m] && !model.erased[m]
                                && !model.mentor_erased && model.pairs[m].is_none()
                            {
                                model.run(propose(), m, None);
                            }
                        }
                        Step::Event(m, event) => {
                            let Some(state) = model.pairs[m] else { continue };
                            let gone = match event {
                                PairEvent::Erase(Role::Mentee) => model.erased[m],
                                PairEvent::Erase(Role::Mentor) => model.mentor_erased,
                                _ => false,
                            };
                            if gone {
                                continue;
                            }
                            if let Ok(transition) = apply(state, event) {
                                model.run(transition, m, Some(event));
                            }
                        }
                    }
                    model.check();
                }
            }
        }
    }
}
