//! Writes the enforcement documents of a set of example decisions, one file each, into a folder, and lists them
//! (file, kind, SHA-256) on standard output. `.ci/parliament.sh` lints the `*.scp.json` files it writes and checks
//! the Google Cloud ones against the published API schema.
//!
//! `cargo run -p enforce --example documents -- OUT_DIR [--print]` (`--print` also prints each document and summary).

use std::path::PathBuf;

use enforce::{Decision, DecisionKind, Family, Scope, documents};

/// Every provider, both decisions, all families and the storage + AI pair of the public record.
pub fn example_decisions() -> Vec<Decision> {
    let scopes = [
        ("azure", Scope::Subscriptions(vec!["3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c".into()])),
        ("aws", Scope::Accounts(vec!["210987654321".into(), "123456789012".into()])),
        ("gcp", Scope::Projects(vec!["unit-8200-archive".into()])),
    ];
    let mut out = Vec::new();
    for (name, scope) in scopes {
        for kind in [DecisionKind::Restrict, DecisionKind::Suspend] {
            for (services, label) in [(vec![Family::Storage, Family::Ai], "storage-ai"), (vec![], "all")] {
                out.push(Decision {
                    case_id: format!("example-{name}-{}-{label}", kind.as_str()),
                    provider: scope.provider(),
                    scope: scope.clone(),
                    decision: kind,
                    services,
                    approved_by: vec!["reviewer-a".into(), "reviewer-b".into()],
                    decided_at: "2025-08-15T09:30:00Z".parse().expect("a valid time"),
                    aws_management_account: (name == "aws").then(|| "999999999999".into()),
                });
            }
        }
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: documents OUT_DIR [--print]")?);
    let print = args.next().as_deref() == Some("--print");
    std::fs::create_dir_all(&dir)?;
    for decision in example_decisions() {
        for doc in documents(&decision)? {
            std::fs::write(dir.join(&doc.file_name), &doc.json)?;
            println!("{}\t{}\t{}", doc.file_name, doc.kind.as_str(), doc.sha256);
            if print {
                println!("{}\n# {}\n", doc.json, doc.summary);
            }
        }
    }
    Ok(())
}
