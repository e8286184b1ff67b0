//! The state machine: which action is legal in which state, and what it changes. Pure: no store, no log, no clock.
//!
//! ```text
//! open ──assign──► under-review ──decide──► decided ──(2 approvals) enforce──► enforced ──lift──► lifted
//!                   ▲    │ assign            │ no-action / notice: closed here
//!                   └────┘                   └─ approve (restrict / suspend, two different reviewers)
//! ```
//!
//! The two-person rule: `restrict` and `suspend` are enforced only after two different reviewers approved them. The
//! reviewer who decided may be one of the two: the rule asks for two people to agree before a provider acts, and
//! a decider who approves is one of them. A decision is not an approval by itself, so a lone reviewer can never
//! reach `enforced`. Reviewers are compared as identities ([`crate::identity`]): `ann` and `Ann` are one reviewer.

use enforce::Family;

use crate::CaseError;
use crate::model::{Action, Case, Outcome, State};

/// What a legal action changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Next {
    pub state: State,
    pub outcome: Option<Outcome>,
    pub unit: Option<crate::model::Unit>,
    pub services: Vec<Family>,
    pub assignee: Option<String>,
    /// Approvals after the action, in order.
    pub approvals: Vec<String>,
}

/// The change `action` by `actor` makes to `case`, or why it is refused.
pub(crate) fn step(case: &Case, actor: &str, action: &Action) -> Result<Next, CaseError> {
    if !case.is_active() {
        return Err(CaseError::Closed { case: case.id.clone(), state: state_name(case) });
    }
    let refuse = || CaseError::Transition { case: case.id.clone(), action: action.name(), state: state_name(case) };
    let mut next = Next {
        state: case.state,
        outcome: case.outcome,
        unit: case.unit.clone(),
        services: case.services.clone(),
        assignee: case.assignee.clone(),
        approvals: case.approvals.clone(),
    };
    match action {
        Action::Assign { reviewer } => {
            if !matches!(case.state, State::Open | State::UnderReview) {
                return Err(refuse());
            }
            let reviewer = reviewer.trim();
            if reviewer.is_empty() {
                return Err(CaseError::Input("assign needs a reviewer".into()));
            }
            next.state = State::UnderReview;
            next.assignee = Some(reviewer.to_string());
        }
        Action::Decide(ruling) => {
            if case.state != State::UnderReview {
                return Err(refuse());
            }
            match (ruling.outcome.enforces(), &ruling.unit) {
                (true, None) => {
                    return Err(CaseError::Input(format!("{} needs the unit to enforce on (provider and scope)", ruling.outcome)));
                }
                (false, Some(_)) => {
                    return Err(CaseError::Input(format!("{} enforces nothing, so it takes no unit", ruling.outcome)));
                }
                (false, None) if !ruling.services.is_empty() => {
                    return Err(CaseError::Input(format!("{} enforces nothing, so it takes no services", ruling.outcome)));
                }
                _ => {}
            }
            if let Some(unit) = &ruling.unit
                && unit.scope.provider() != unit.provider
            {
                return Err(CaseError::Input(format!("the unit is on {} but its scope is a {} unit", unit.provider, unit.scope.provider())));
            }
            let mut services = ruling.services.clone();
            services.sort();
            services.dedup();
            next.state = State::Decided;
            next.outcome = Some(ruling.outcome);
            next.unit = ruling.unit.clone();
            next.services = services;
        }
        Action::Approve => {
            if case.state != State::Decided {
                return Err(refuse());
            }
            // Active and decided means restrict or suspend (the other outcomes closed the case).
            // One person under two spellings is one reviewer: compare identities, not strings.
            if case.approvals.iter().any(|a| crate::identity::same(a, actor)) {
                return Err(CaseError::SameReviewer { case: case.id.clone(), reviewer: actor.to_string() });
            }
            if case.approvals.len() >= 2 {
                return Err(CaseError::AlreadyApproved { case: case.id.clone() });
            }
            next.approvals.push(actor.to_string());
        }
        Action::Enforce => {
            if case.state != State::Decided {
                return Err(refuse());
            }
            if case.approvals.len() < 2 {
                return Err(CaseError::NeedsApprovals { case: case.id.clone(), have: case.approvals.len() });
            }
            next.state = State::Enforced;
        }
        Action::Lift => {
            if case.state != State::Enforced {
                return Err(refuse());
            }
            next.state = State::Lifted;
        }
    }
    Ok(next)
}

/// The state as a message shows it (`decided (restrict)`).
fn state_name(case: &Case) -> String {
    match case.outcome {
        Some(o) if case.state == State::Decided => format!("decided ({o})"),
        _ => case.state.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use enforce::{Provider, Scope};

    use super::*;
    use crate::model::{Ruling, Unit};

    fn case(state: State, outcome: Option<Outcome>, approvals: &[&str]) -> Case {
        crate::fixtures::case("case-000001", "sub-1", state, outcome, approvals)
    }

    fn unit() -> Unit {
        Unit { provider: Provider::Aws, scope: Scope::Accounts(vec!["111122223333".into()]), aws_management_account: None }
    }

    fn decide(outcome: Outcome) -> Action {
        Action::Decide(Ruling { outcome, unit: outcome.enforces().then(unit), services: vec![] })
    }

    /// Every (state, outcome, approvals) a case can be in.
    fn every_case() -> Vec<Case> {
        let mut out = vec![case(State::Open, None, &[]), case(State::UnderReview, None, &[])];
        for o in Outcome::ALL {
            out.push(case(State::Decided, Some(o), &[]));
        }
        for o in [Outcome::Restrict, Outcome::Suspend] {
            out.push(case(State::Decided, Some(o), &["ann"]));
            out.push(case(State::Decided, Some(o), &["ann", "bob"]));
            out.push(case(State::Enforced, Some(o), &["ann", "bob"]));
            out.push(case(State::Lifted, Some(o), &["ann", "bob"]));
        }
        out
    }

    fn every_action() -> Vec<Action> {
        let mut out = vec![Action::Assign { reviewer: "rev".into() }, Action::Approve, Action::Enforce, Action::Lift];
        out.extend(Outcome::ALL.map(decide));
        out
    }

    /// The one table of what is legal: (state, outcome, approvals, action) → the state after.
    fn expected(c: &Case, a: &Action) -> Option<State> {
        let n = c.approvals.len();
        match (c.state, c.outcome, a) {
            (State::Open | State::UnderReview, _, Action::Assign { .. }) => Some(State::UnderReview),
            (State::UnderReview, _, Action::Decide(_)) => Some(State::Decided),
            (State::Decided, Some(o), Action::Approve) if o.enforces() && n < 2 => Some(State::Decided),
            (State::Decided, Some(o), Action::Enforce) if o.enforces() && n == 2 => Some(State::Enforced),
            (State::Enforced, _, Action::Lift) => Some(State::Lifted),
            _ => None,
        }
    }

    #[test]
    fn every_state_and_action_follows_the_table() {
        let mut legal = 0;
        for c in every_case() {
            for a in every_action() {
                let got = step(&c, "cat", &a);
                match (expected(&c, &a), got) {
                    (Some(want), Ok(next)) => {
                        assert_eq!(next.state, want, "{:?} {:?}", c.state, a);
                        legal += 1;
                    }
                    (None, Err(e)) => {
                        let closed = !c.is_active();
                        assert_eq!(matches!(e, CaseError::Closed { .. }), closed, "{:?}/{:?} {a:?}: {e}", c.state, c.outcome);
                    }
                    (want, got) => panic!("{:?}/{:?} {:?} approvals {:?}: expected {want:?}, got {got:?}", c.state, c.outcome, a, c.approvals),
                }
            }
        }
        // assign ×2 states, decide ×4 outcomes, approve ×4 (0 or 1 approval, 2 outcomes), enforce ×2, lift ×2.
        assert_eq!(legal, 2 + 4 + 4 + 2 + 2);
    }

    #[test]
    fn closed_cases_refuse_everything_with_a_closed_error() {
        for c in [
            case(State::Decided, Some(Outcome::NoAction), &[]),
            case(State::Decided, Some(Outcome::Notice), &[]),
            case(State::Lifted, Some(Outcome::Suspend), &["a", "b"]),
        ] {
            for a in every_action() {
                assert!(matches!(step(&c, "x", &a), Err(CaseError::Closed { .. })), "{:?} {a:?}", c.state);
            }
        }
    }

    #[test]
    fn two_person_rule() {
        let c = case(State::Decided, Some(Outcome::Restrict), &["ann"]);
        assert!(matches!(step(&c, "ann", &Action::Approve), Err(CaseError::SameReviewer { reviewer, .. }) if reviewer == "ann"));
        assert_eq!(step(&c, "bob", &Action::Approve).unwrap().approvals, vec!["ann", "bob"]);
        assert!(matches!(step(&c, "x", &Action::Enforce), Err(CaseError::NeedsApprovals { have: 1, .. })));
        let none = case(State::Decided, Some(Outcome::Suspend), &[]);
        assert!(matches!(step(&none, "x", &Action::Enforce), Err(CaseError::NeedsApprovals { have: 0, .. })));
        let two = case(State::Decided, Some(Outcome::Suspend), &["ann", "bob"]);
        assert!(matches!(step(&two, "cat", &Action::Approve), Err(CaseError::AlreadyApproved { .. })));
        assert!(matches!(step(&two, "ann", &Action::Approve), Err(CaseError::SameReviewer { .. })));
        // Another spelling of the same name is the same reviewer.
        for spelling in ["Ann", "ANN", " ann ", "ann\u{200b}", "\u{ff41}nn"] {
            assert!(matches!(step(&c, spelling, &Action::Approve), Err(CaseError::SameReviewer { .. })), "{spelling:?}");
        }
        let jose = case(State::Decided, Some(Outcome::Restrict), &["Jos\u{e9}"]);
        assert!(matches!(step(&jose, "Jose\u{301}", &Action::Approve), Err(CaseError::SameReviewer { .. })));
    }

    #[test]
    fn a_decision_names_a_unit_exactly_when_it_enforces() {
        let c = case(State::UnderReview, None, &[]);
        let no_unit = Action::Decide(Ruling { outcome: Outcome::Suspend, unit: None, services: vec![] });
        assert!(matches!(step(&c, "x", &no_unit), Err(CaseError::Input(_))));
        let notice_unit = Action::Decide(Ruling { outcome: Outcome::Notice, unit: Some(unit()), services: vec![] });
        assert!(matches!(step(&c, "x", &notice_unit), Err(CaseError::Input(_))));
        let notice_services = Action::Decide(Ruling { outcome: Outcome::Notice, unit: None, services: vec![Family::Ai] });
        assert!(matches!(step(&c, "x", &notice_services), Err(CaseError::Input(_))));
        let mut wrong = unit();
        wrong.provider = Provider::Gcp;
        let mismatch = Action::Decide(Ruling { outcome: Outcome::Restrict, unit: Some(wrong), services: vec![] });
        assert!(matches!(step(&c, "x", &mismatch), Err(CaseError::Input(_))));
        let ok = Action::Decide(Ruling { outcome: Outcome::Restrict, unit: Some(unit()), services: vec![Family::Storage, Family::Ai, Family::Ai] });
        let next = step(&c, "x", &ok).unwrap();
        assert_eq!(next.services, vec![Family::Storage, Family::Ai]);
        assert_eq!(next.outcome, Some(Outcome::Restrict));
    }
}
