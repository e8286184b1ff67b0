//! Which case a finding belongs to: the active case of its account or organisation, an enforced case it watches, or
//! a new one.

use registry::Registry;

use crate::model::{Case, Finding, State};

/// Where a finding goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// The active case whose subject the finding names.
    Joined(String),
    /// An enforced case of the finding's parent, a sibling, or a child account.
    Watch(String),
    /// A new case.
    New,
}

/// The case `finding` goes to, given the active cases (oldest first). The finding's account must be in the
/// registry (checked by the caller).
pub(crate) fn route(finding: &Finding, registry: &Registry, active: &[Case]) -> Target {
    let a = finding.account_id.as_str();
    if let Some(c) = active.iter().find(|c| c.subject == a) {
        return Target::Joined(c.id.clone());
    }
    // The organisation around the account: its parent, the parent's other accounts, and its own accounts.
    let parent = registry.parent_of(a);
    let mut family: Vec<&str> = registry.children_of(a).into_iter().map(|t| t.account_id.as_str()).collect();
    if let Some(p) = parent {
        family.push(p);
        family.extend(registry.children_of(p).into_iter().map(|t| t.account_id.as_str()).filter(|s| *s != a));
    }
    match active.iter().find(|c| c.state == State::Enforced && family.contains(&c.subject.as_str())) {
        Some(c) => Target::Watch(c.id.clone()),
        None => Target::New,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        let csv = "account_id,name,parent_id,sector,country,purposes,approvals\n\
                   org-1,Org,,intelligence,XX,,\n\
                   sub-a,A,org-1,intelligence,XX,,\n\
                   sub-b,B,org-1,intelligence,XX,,\n\
                   org-2,Other,,commercial,XX,,\n\
                   sub-c,C,org-2,commercial,XX,,\n";
        Registry::from_reader("registry.csv", csv.as_bytes()).unwrap()
    }

    fn finding(account: &str) -> Finding {
        crate::fixtures::finding(account, "p", 1)
    }

    fn case(id: &str, subject: &str, state: State) -> Case {
        crate::fixtures::case(id, subject, state, None, &[])
    }

    #[test]
    fn a_finding_joins_its_accounts_case_then_watches_its_organisation() {
        let reg = registry();
        assert_eq!(route(&finding("sub-a"), &reg, &[]), Target::New);
        let open = [case("c1", "sub-a", State::UnderReview)];
        assert_eq!(route(&finding("sub-a"), &reg, &open), Target::Joined("c1".into()));
        // A sibling of an account whose case is only under review opens its own case.
        assert_eq!(route(&finding("sub-b"), &reg, &open), Target::New);
        let enforced = [case("c1", "sub-a", State::Enforced)];
        assert_eq!(route(&finding("sub-b"), &reg, &enforced), Target::Watch("c1".into()));
        assert_eq!(route(&finding("org-1"), &reg, &enforced), Target::Watch("c1".into()));
        assert_eq!(route(&finding("sub-c"), &reg, &enforced), Target::New);
        // A case on the parent organisation watches its accounts.
        let parent = [case("c2", "org-1", State::Enforced)];
        assert_eq!(route(&finding("sub-b"), &reg, &parent), Target::Watch("c2".into()));
        // The subject's own active case wins over watching.
        let both = [case("c1", "sub-a", State::Enforced), case("c3", "sub-b", State::Open)];
        assert_eq!(route(&finding("sub-b"), &reg, &both), Target::Joined("c3".into()));
    }
}
