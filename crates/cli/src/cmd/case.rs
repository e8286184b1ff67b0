//! `oversight case …`: open cases from findings, review, decide, approve, enforce and lift them (crate `cases`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use cases::{Act, Action, CaseError, Cases, Family, Outcome, Provider, Ruling, Scope, State, Unit};
use chrono::Utc;
use clap::{Args, Subcommand, ValueEnum};

use crate::exit;

/// Cases and human review: findings open cases, a reviewer is assigned and decides, `restrict` and `suspend` need
/// approvals by two different reviewers, `enforce` writes the provider's enforcement documents, `lift` ends it. The
/// case keeps each log entry's index and inclusion proof (`show`). State lives in SQLite (a file) or PostgreSQL
/// (`--db postgres://user@host/db`), created by `oversight case init`. Logging and exit codes: [`EXIT_CODES`].
#[derive(Args)]
#[command(after_help = EXIT_CODES)]
pub struct CaseArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: CaseCommand,
}

/// The reviewer roster: the people who may act on cases, each with a role. Names are compared after NFKC and case
/// folding (`Ann` is `ann`); invisible and control characters are refused. A removed reviewer's past actions stand.
///
/// Roles: reviewer (assign, decide), approver and admin (also approve, enforce, lift), auditor (reads only).
#[derive(Args)]
pub struct ReviewerArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: ReviewerCommand,
}

#[derive(Subcommand)]
enum ReviewerCommand {
    /// Add a reviewer to the roster, with their password (read from standard input, or a prompt on a terminal) and
    /// their approval key (made by the store; its public half goes on the log).
    Add {
        /// The name, as actions will give it (`--actor`).
        name: String,
        /// What they may do.
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// Set a reviewer's password (standard input, or a prompt); ends their console sessions.
    Password {
        /// The name.
        name: String,
    },
    /// Issue a bearer token for a reviewer, after their password: the command line's alternative to typing it
    /// (`OVERSIGHT_TOKEN` or `--token-file`). Printed once; only its hash is kept.
    Token {
        /// The name.
        name: String,
        /// What the token is for.
        #[arg(long, default_value = "command line")]
        label: String,
        /// Days until it expires.
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
    /// List the sign-in audit, newest first.
    SignIns {
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// List the roster, removed reviewers included.
    List,
    /// Remove a reviewer: their past actions stand, new ones are refused, and the name is never given again.
    Remove {
        /// The name (any spelling with the same key).
        name: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Reviewer,
    Approver,
    Admin,
    Auditor,
}

/// Where the case store and its log are.
#[derive(Args)]
pub(super) struct StoreArgs {
    /// The case store: a SQLite file path, or a `postgres://` URL (`oversight case init` creates it).
    #[arg(long, global = true, default_value = "oversight-cases.db", env = "OVERSIGHT_DB")]
    db: String,
    /// The public transparency-log folder (as `oversight log --dir`).
    #[arg(long, visible_alias = "log-dir", global = true, default_value = "./oversight-log", env = "OVERSIGHT_LOG_DIR")]
    pub(super) dir: PathBuf,
    /// The log's private folder. Default: DIR.private
    #[arg(long, global = true)]
    private: Option<PathBuf>,
    /// The provider's pseudonym key file (as `oversight log pseudonym --key-file`). Default: PRIVATE/pseudonym-key,
    /// created with 32 random bytes (base64) if missing.
    #[arg(long, global = true, env = "OVERSIGHT_PSEUDONYM_KEY")]
    pub(super) pseudonym_key: Option<PathBuf>,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

/// Shown after `oversight case --help`.
const EXIT_CODES: &str = "Every change records who (--actor, a name on the reviewer roster: `oversight reviewer add`), \
when and why (--reason) and appends an entry to the transparency log (`oversight log init` creates it), where the \
tenant appears only as its pseudonym and the reason and each document only as their SHA-256. The actor signs in: \
with a token (OVERSIGHT_TOKEN, or --token-file; `oversight reviewer token`), or with their password (one line on \
standard input with --password-stdin, or a prompt on a terminal). Names are matched to the roster after NFKC and \
case folding; an approval is signed with the approver's key.

Exit codes: 0 done; 1 failed, or input refused (unknown case or account, bad flags for the decision); 2 bad command \
line; 5 the review rules refused the action (the case is closed or in the wrong state, the same reviewer approved \
twice, approvals are missing, the actor is not on the roster or their role does not allow the action) or someone \
else changed the case first (a conflict): nothing was written.";

/// Who acts and why, for every change.
#[derive(Args)]
struct Who {
    /// Who acts (a name on the roster; recorded, and logged).
    #[arg(long, env = "OVERSIGHT_ACTOR")]
    actor: String,
    /// Read the actor's password from the first line of standard input.
    #[arg(long, conflicts_with = "token_file")]
    password_stdin: bool,
    /// A file holding the actor's token (`oversight reviewer token`); OVERSIGHT_TOKEN gives it too.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Why (recorded; the log carries its SHA-256).
    #[arg(long)]
    reason: String,
    /// The case version you reviewed; if the case changed since, the action is refused (exit 5).
    #[arg(long)]
    expect_version: Option<i64>,
}

#[derive(Subcommand)]
enum CaseCommand {
    /// Create the case store (the SQLite file, mode 0600, or the PostgreSQL database) and its schema; on an existing
    /// store, bring the schema up to date. Every other command refuses a store that does not exist.
    Init,
    /// Place findings (the JSON of `oversight scan --format json`): each joins the open case of its account, or an
    /// enforced case of its organisation (its parent or a sibling account), or opens a new case.
    Open {
        /// The findings file.
        #[arg(long)]
        findings: PathBuf,
        /// The tenant registry; every finding's account must be in it.
        #[arg(long)]
        registry: PathBuf,
        /// Who places them.
        #[arg(long, env = "OVERSIGHT_ACTOR", default_value = "oversight scan")]
        actor: String,
    },
    /// List cases, oldest first.
    List {
        /// Only cases in this state.
        #[arg(long, value_enum)]
        state: Option<StateArg>,
    },
    /// Show a case: findings, history with log indexes, documents.
    Show {
        /// The case id.
        id: String,
        /// Also write its enforcement documents into this folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Assign the reviewer: open → under-review (or reassign).
    Assign {
        /// The case id.
        id: String,
        /// The reviewer.
        #[arg(long)]
        reviewer: String,
        #[command(flatten)]
        who: Who,
    },
    /// Decide the outcome: under-review → decided. `restrict` and `suspend` name the unit: --provider, and --scope
    /// (subscriptions, accounts or projects; default the case's subject) or --group (management group, OU, folder).
    Decide {
        /// The case id.
        id: String,
        /// The outcome.
        #[arg(long, value_enum)]
        outcome: OutcomeArg,
        /// The unit's cloud (restrict and suspend).
        #[arg(long, value_enum)]
        provider: Option<ProviderArg>,
        /// Azure subscription ids, AWS account ids or Google Cloud project ids, comma-separated.
        #[arg(long, value_delimiter = ',', conflicts_with = "group")]
        scope: Vec<String>,
        /// An Azure management group, AWS organizational unit or Google Cloud folder instead of --scope.
        #[arg(long)]
        group: Option<String>,
        /// Service families, comma-separated (default: all).
        #[arg(long, value_enum, value_delimiter = ',')]
        services: Vec<FamilyArg>,
        /// AWS: the organization's management account (SCPs never affect it; a unit that is it is refused).
        #[arg(long)]
        aws_management_account: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Approve a restrict or suspend decision as --actor (two different reviewers are needed; the decider may be one).
    Approve {
        /// The case id.
        id: String,
        #[command(flatten)]
        who: Who,
    },
    /// Issue the enforcement documents of an approved decision into --out, log each one's SHA-256: decided → enforced.
    Enforce {
        /// The case id.
        id: String,
        /// The folder for the documents.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        who: Who,
    },
    /// Lift the enforcement: enforced → lifted.
    Lift {
        /// The case id.
        id: String,
        #[command(flatten)]
        who: Who,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum StateArg {
    Open,
    UnderReview,
    Decided,
    Enforced,
    Lifted,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutcomeArg {
    NoAction,
    Notice,
    Restrict,
    Suspend,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProviderArg {
    Azure,
    Aws,
    Gcp,
}

#[derive(Clone, Copy, ValueEnum)]
enum FamilyArg {
    Storage,
    Ai,
    Compute,
    Network,
}

/// Run the command.
pub fn run(a: CaseArgs) -> anyhow::Result<ExitCode> {
    let rt = super::runtime()?;
    refusal_to_exit(rt.block_on(run_async(a)))
}

/// A refusal by the review rules or a refused sign-in is exit 5, with its message; other errors go on.
fn refusal_to_exit(result: anyhow::Result<ExitCode>) -> anyhow::Result<ExitCode> {
    let Err(e) = result else { return result };
    let refused = match (e.downcast_ref::<CaseError>(), e.downcast_ref::<cases::AuthError>()) {
        (Some(c), _) => c.is_refusal(),
        (_, Some(cases::AuthError::Store(c))) => c.is_refusal(),
        (_, Some(_)) => true,
        _ => false,
    };
    if refused {
        eprintln!("refused: {e:#}");
        return Ok(ExitCode::from(exit::REFUSED));
    }
    Err(e)
}

/// Open the case store and its log, with messages that say how to make either.
async fn open_store(a: &StoreArgs) -> anyhow::Result<Cases> {
    Ok(open_store_at(a).await?.0)
}

/// [`open_store`], with the log's private folder.
pub(super) async fn open_store_at(a: &StoreArgs) -> anyhow::Result<(Cases, PathBuf)> {
    let private = match a.private.clone() {
        Some(p) => p,
        None => tlog::storage::private_beside(&a.dir)?,
    };
    let key = pseudonym_key(a.pseudonym_key.as_deref(), &private)?;
    let (dir, priv_dir) = (a.dir.clone(), private.clone());
    // Check the log first, for a message that says how to make one.
    tlog::log::Log::open(&dir, &priv_dir).with_context(|| {
        format!("opening the transparency log at {} (create one with `oversight log --dir {} init --origin ORIGIN`)", dir.display(), dir.display())
    })?;
    let store = Cases::open(&a.db, move || tlog::log::Log::open(&dir, &priv_dir), &key).await.with_context(|| format!("opening the case store {}", a.db))?;
    Ok((store, private))
}

/// A password: the first line of standard input when it is not a terminal (or `stdin` is asked for), else a prompt
/// without echo (twice when `confirm`).
fn read_password(prompt: &str, stdin: bool, confirm: bool) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("reading the password from standard input")?;
        let password = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line).to_string();
        if password.is_empty() {
            bail!("no password on standard input (one line)");
        }
        return Ok(password);
    }
    let password = rpassword::prompt_password(prompt).context("reading the password")?;
    if confirm && rpassword::prompt_password("again: ").context("reading the password")? != password {
        bail!("the two passwords differ");
    }
    Ok(password)
}

/// Sign the actor in: with a token (OVERSIGHT_TOKEN or --token-file) that must be theirs, or with their password.
async fn sign_in(store: &Cases, who: &Who) -> anyhow::Result<cases::Account> {
    let token = match &who.token_file {
        Some(f) => Some(std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?.trim().to_string()),
        None => std::env::var("OVERSIGHT_TOKEN").ok().filter(|t| !t.is_empty()),
    };
    let attempt = cases::Attempt::now(None);
    let account = match token {
        Some(t) if !who.password_stdin => store.authenticate_token(&t, &attempt).await.with_context(|| format!("signing in as {} with a token", who.actor))?,
        _ => {
            let password = read_password(&format!("password for {}: ", who.actor), who.password_stdin, false)?;
            store.authenticate(&who.actor, &password, &attempt).await.with_context(|| format!("signing in as {}", who.actor))?
        }
    };
    if account.key() != cases::identity::key(&who.actor).map_err(|e| anyhow::anyhow!("--actor {:?}: {e}", who.actor))? {
        return Err(cases::AuthError::Refused).context(format!("the token is {}'s, not {}'s", account.name(), who.actor));
    }
    Ok(account)
}

/// Run `oversight reviewer`.
pub fn reviewer(a: ReviewerArgs) -> anyhow::Result<ExitCode> {
    let rt = super::runtime()?;
    let code = rt.block_on(async {
        let mut store = open_store(&a.store).await?;
        let mut o = String::new();
        let list = match a.command {
            ReviewerCommand::Add { name, role } => {
                let role = match role {
                    RoleArg::Reviewer => cases::Role::Reviewer,
                    RoleArg::Approver => cases::Role::Approver,
                    RoleArg::Admin => cases::Role::Admin,
                    RoleArg::Auditor => cases::Role::Auditor,
                };
                let password = read_password(&format!("password for {name}: "), false, true)?;
                store.add_reviewer(&name, role).await?;
                vec![store.set_password(&name, &password).await?]
            }
            ReviewerCommand::Password { name } => {
                let password = read_password(&format!("new password for {name}: "), false, true)?;
                vec![store.set_password(&name, &password).await?]
            }
            ReviewerCommand::Token { name, label, days } => {
                let password = read_password(&format!("password for {name}: "), false, false)?;
                let account = store.authenticate(&name, &password, &cases::Attempt::now(None)).await?;
                let now = Utc::now();
                let issued = store.issue_token(&account, &label, now + chrono::TimeDelta::days(days), now).await?;
                if a.store.json {
                    writeln!(
                        o,
                        "{}",
                        serde_json::to_string_pretty(&serde_json::json!({"id": issued.id, "token": issued.token, "expires_at": issued.expires_at}))?
                    )?;
                } else {
                    writeln!(o, "{}", issued.token)?;
                    eprintln!(
                        "token {} for {} until {} (shown once; keep it like a password)",
                        issued.id,
                        account.name(),
                        issued.expires_at.format("%Y-%m-%d")
                    );
                }
                std::io::stdout().lock().write_all(o.as_bytes())?;
                return Ok(ExitCode::from(exit::OK));
            }
            ReviewerCommand::SignIns { limit } => {
                let rows = store.sign_ins(limit).await?;
                if a.store.json {
                    writeln!(o, "{}", serde_json::to_string_pretty(&rows)?)?;
                } else {
                    for r in &rows {
                        writeln!(
                            o,
                            "{} {:<8} {:<9} {:<24} {:<16} {}",
                            r.at.format("%Y-%m-%d %H:%M:%S"),
                            r.method.as_str(),
                            r.outcome.as_str(),
                            r.name.as_deref().unwrap_or("-"),
                            r.address.as_deref().unwrap_or("-"),
                            r.detail
                        )?;
                    }
                }
                std::io::stdout().lock().write_all(crate::term::clean(&o).as_bytes())?;
                return Ok(ExitCode::from(exit::OK));
            }
            ReviewerCommand::Remove { name } => vec![store.remove_reviewer(&name).await?],
            ReviewerCommand::List => store.list_reviewers().await?,
        };
        if a.store.json {
            writeln!(o, "{}", serde_json::to_string_pretty(&list)?)?;
        } else {
            for r in &list {
                let removed = r.removed_at.map_or(String::new(), |t| format!(", removed {}", t.format("%Y-%m-%d %H:%M")));
                writeln!(o, "{:<32} {:<9} added {}{removed}", r.name, r.role, r.created_at.format("%Y-%m-%d %H:%M"))?;
            }
        }
        let o = if a.store.json { o.into() } else { crate::term::clean(&o) };
        std::io::stdout().lock().write_all(o.as_bytes())?;
        Ok(ExitCode::from(exit::OK))
    });
    refusal_to_exit(code)
}

async fn run_async(a: CaseArgs) -> anyhow::Result<ExitCode> {
    if let CaseCommand::Init = a.command {
        let done = Cases::init(&a.store.db).await.with_context(|| format!("creating the case store {}", a.store.db))?;
        match done {
            cases::Init::Created => println!("created the case store {}", a.store.db),
            cases::Init::Existing => println!("the case store {} exists; its schema is up to date", a.store.db),
        }
        return Ok(ExitCode::from(exit::OK));
    }
    let mut store = open_store(&a.store).await?;
    let json = a.store.json;
    // The output is written at the end in one go, so a closed pipe is an error main() recognises, not a panic.
    let mut o = String::new();
    match a.command {
        CaseCommand::Init => unreachable!("handled above"),
        CaseCommand::Open { findings, registry, actor } => {
            let text = std::fs::read_to_string(&findings).with_context(|| format!("reading {}", findings.display()))?;
            let list = cases::findings_from_json(&text).with_context(|| format!("reading {}", findings.display()))?;
            let reg = registry::Registry::from_path(&registry)?;
            let placed = store.add_findings(&list, &reg, &actor, Utc::now()).await?;
            if json {
                writeln!(o, "{}", serde_json::to_string_pretty(&placed)?)?;
            } else {
                for p in &placed {
                    writeln!(o, "{:<12} {:<9} {:<40} {} {}", p.case_id, p.how, p.account_id, p.policy_id, p.as_of)?;
                }
                let opened = placed.iter().filter(|p| p.how == "opened").count();
                writeln!(o, "{} finding(s): {opened} case(s) opened", placed.len())?;
            }
        }
        CaseCommand::List { state } => {
            let list = store.list(state.map(state_of)).await?;
            if json {
                writeln!(o, "{}", serde_json::to_string_pretty(&list)?)?;
            } else {
                writeln!(o, "{:<12} {:<13} {:<10} {:<40} {:<8} {:<12} {:<12} version", "case", "state", "outcome", "subject", "kind", "assignee", "approvals")?;
                for c in &list {
                    writeln!(
                        o,
                        "{:<12} {:<13} {:<10} {:<40} {:<8} {:<12} {:<12} {}",
                        c.id,
                        c.state,
                        c.outcome.map_or("-".into(), |o| o.to_string()),
                        c.subject,
                        c.subject_kind.as_str(),
                        c.assignee.as_deref().unwrap_or("-"),
                        if c.approvals.is_empty() { "-".into() } else { c.approvals.join(",") },
                        c.version
                    )?;
                }
            }
        }
        CaseCommand::Show { id, out } => {
            let rec = store.show(&id).await?;
            if let Some(out) = &out {
                for d in &rec.documents {
                    write_document(out, &d.file_name, &d.json)?;
                }
            }
            if json {
                writeln!(o, "{}", serde_json::to_string_pretty(&rec)?)?;
            } else {
                print_record(&mut o, &rec, out.as_deref())?;
            }
        }
        CaseCommand::Assign { id, reviewer, who } => {
            apply(&mut o, &mut store, &id, &who, Action::Assign { reviewer }, json).await?;
        }
        CaseCommand::Decide { id, outcome, provider, scope, group, services, aws_management_account, who } => {
            let outcome = match outcome {
                OutcomeArg::NoAction => Outcome::NoAction,
                OutcomeArg::Notice => Outcome::Notice,
                OutcomeArg::Restrict => Outcome::Restrict,
                OutcomeArg::Suspend => Outcome::Suspend,
            };
            let unit = match provider {
                None if !scope.is_empty() || group.is_some() || aws_management_account.is_some() => {
                    eprintln!("error: --scope, --group and --aws-management-account need --provider");
                    return Ok(ExitCode::from(exit::USAGE));
                }
                None => None,
                Some(p) => {
                    let ids = if scope.is_empty() { vec![store.get(&id).await?.subject] } else { scope };
                    Some(unit(p, ids, group, aws_management_account))
                }
            };
            let services = services.into_iter().map(family_of).collect();
            apply(&mut o, &mut store, &id, &who, Action::Decide(Ruling { outcome, unit, services }), json).await?;
        }
        CaseCommand::Approve { id, who } => {
            apply(&mut o, &mut store, &id, &who, Action::Approve, json).await?;
        }
        CaseCommand::Lift { id, who } => {
            apply(&mut o, &mut store, &id, &who, Action::Lift, json).await?;
        }
        CaseCommand::Enforce { id, out, who } => {
            let act = act(&store, &who).await?;
            let (case, docs) = match store.apply(&id, &act, Action::Enforce).await {
                Ok(applied) => (applied.case, applied.documents.into_iter().map(|d| (d.file_name, d.json, d.sha256, d.summary)).collect::<Vec<_>>()),
                // Enforced, but the log append failed: the documents are issued all the same, so write them.
                Err(CaseError::Unlogged { case, source }) => {
                    let rec = store.show(&case).await?;
                    for d in &rec.documents {
                        write_document(&out, &d.file_name, &d.json)?;
                    }
                    bail!(
                        "case {case} is enforced and its documents are in {}, but logging failed ({source}); the next `oversight case` command appends the entries",
                        out.display()
                    );
                }
                Err(e) => return Err(e.into()),
            };
            let mut written = Vec::new();
            for (name, body, sha256, summary) in docs {
                let path = write_document(&out, &name, &body)?;
                written.push(serde_json::json!({"path": path, "sha256": sha256, "summary": summary}));
            }
            if json {
                writeln!(o, "{}", serde_json::to_string_pretty(&serde_json::json!({"case": case, "documents": written}))?)?;
            } else {
                writeln!(o, "{}: {} (version {}), {} document(s):", case.id, case.state, case.version, written.len())?;
                for w in &written {
                    writeln!(o, "  {}  sha256 {}", w["path"].as_str().unwrap_or_default(), w["sha256"].as_str().unwrap_or_default())?;
                }
            }
        }
    }
    let o = if json { o.into() } else { crate::term::clean(&o) };
    std::io::stdout().lock().write_all(o.as_bytes())?;
    Ok(ExitCode::from(exit::OK))
}

/// The actor, signed in, with the reason, for an action now.
async fn act(store: &Cases, who: &Who) -> anyhow::Result<Act> {
    Ok(Act { actor: sign_in(store, who).await?, reason: who.reason.clone(), at: Utc::now(), expect_version: who.expect_version })
}

/// Apply an action and print the case with the log entries of the change.
async fn apply(o: &mut String, store: &mut Cases, id: &str, who: &Who, action: Action, json: bool) -> anyhow::Result<()> {
    let act = act(store, who).await?;
    let applied = store.apply(id, &act, action).await?;
    let rec = store.show(id).await?;
    let last = rec.history.last().context("a changed case has a history")?;
    if json {
        writeln!(o, "{}", serde_json::to_string_pretty(&serde_json::json!({"case": applied.case, "transition": last}))?)?;
    } else {
        let c = &applied.case;
        let outcome = c.outcome.map_or(String::new(), |o| format!(" ({o})"));
        let approvals = if c.approvals.is_empty() { String::new() } else { format!(", approved by {}", c.approvals.join(" and ")) };
        writeln!(o, "{}: {}{outcome}, version {}{approvals}", c.id, c.state, c.version)?;
        for e in &last.entries {
            writeln!(o, "  logged {} entry at index {}", e.kind, e.index.map_or("(pending)".into(), |i| i.to_string()))?;
        }
    }
    Ok(())
}

fn print_record(o: &mut String, rec: &cases::CaseRecord, out: Option<&Path>) -> std::fmt::Result {
    let c = &rec.case;
    writeln!(
        o,
        "{} on {} {} (parent {}): {}{}, version {}",
        c.id,
        c.subject_kind.as_str(),
        c.subject,
        c.parent_id.as_deref().unwrap_or("-"),
        c.state,
        c.outcome.map_or(String::new(), |o| format!(" ({o})")),
        c.version
    )?;
    if let Some(u) = &c.unit {
        let services: Vec<&str> = c.services.iter().map(|f| f.as_str()).collect();
        writeln!(o, "  unit: {} {:?}, services {}", u.provider, u.scope, if services.is_empty() { "all".into() } else { services.join(",") })?;
    }
    writeln!(o, "  assignee {}, approvals {}", c.assignee.as_deref().unwrap_or("-"), if c.approvals.is_empty() { "-".into() } else { c.approvals.join(", ") })?;
    writeln!(o, "findings ({}):", rec.findings.len())?;
    for f in &rec.findings {
        let x = &f.finding;
        writeln!(
            o,
            "  {} {:<32} {:<8} {} v{} score {:.2}{}",
            x.as_of,
            x.account_id,
            x.severity,
            x.policy.id,
            x.policy.version,
            x.score,
            if f.via == "watch" { "  (watch)" } else { "" }
        )?;
    }
    writeln!(o, "history:")?;
    for t in &rec.history {
        let from = t.from.map_or("-".to_string(), |s| s.to_string());
        writeln!(o, "  v{} {} {:<9} {} → {} by {}: {}", t.version, t.at.format("%Y-%m-%d %H:%M:%S"), t.action, from, t.to, t.actor, t.reason)?;
        for e in &t.entries {
            match (&e.index, &e.proof) {
                (Some(i), Some(p)) => writeln!(o, "      {} entry {i}, inclusion proof in tree {} ({} hashes)", e.kind, p.size, p.hashes.len())?,
                _ => writeln!(o, "      {} entry pending (the next command appends it)", e.kind)?,
            }
        }
    }
    if !rec.documents.is_empty() {
        writeln!(o, "documents:")?;
        for d in &rec.documents {
            let place = out.map_or(String::new(), |dir| format!(" → {}", dir.join(&d.file_name).display()));
            writeln!(o, "  {} sha256 {}{place}", d.file_name, d.sha256)?;
        }
    }
    Ok(())
}

/// Write an enforcement document, readable by its owner only (mode 0600): it names the tenant's unit.
fn write_document(out: &Path, name: &str, json: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&path).with_context(|| format!("writing {}", path.display()))?;
    // `mode` applies only to a new file: an older one keeps its bits unless set here.
    #[cfg(unix)]
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).with_context(|| format!("writing {}", path.display()))?;
    f.write_all(json.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The pseudonym key: the given file, or PRIVATE/pseudonym-key, made on first use.
pub(super) fn pseudonym_key(file: Option<&Path>, private: &Path) -> anyhow::Result<Vec<u8>> {
    if let Some(f) = file {
        return std::fs::read(f).with_context(|| format!("reading the pseudonym key {}", f.display()));
    }
    let path = private.join("pseudonym-key");
    let (key, made) =
        tlog::storage::pseudonym_key_in(private).with_context(|| format!("reading the pseudonym key {} (or give --pseudonym-key)", path.display()))?;
    if made {
        eprintln!("made a new pseudonym key in {}", path.display());
    }
    Ok(key)
}

fn unit(p: ProviderArg, ids: Vec<String>, group: Option<String>, aws_management_account: Option<String>) -> Unit {
    let (provider, scope) = match (p, group) {
        (ProviderArg::Azure, None) => (Provider::Azure, Scope::Subscriptions(ids)),
        (ProviderArg::Azure, Some(g)) => (Provider::Azure, Scope::ManagementGroup(g)),
        (ProviderArg::Aws, None) => (Provider::Aws, Scope::Accounts(ids)),
        (ProviderArg::Aws, Some(g)) => (Provider::Aws, Scope::OrganizationalUnit(g)),
        (ProviderArg::Gcp, None) => (Provider::Gcp, Scope::Projects(ids)),
        (ProviderArg::Gcp, Some(g)) => (Provider::Gcp, Scope::Folder(g)),
    };
    Unit { provider, scope, aws_management_account }
}

fn family_of(f: FamilyArg) -> Family {
    match f {
        FamilyArg::Storage => Family::Storage,
        FamilyArg::Ai => Family::Ai,
        FamilyArg::Compute => Family::Compute,
        FamilyArg::Network => Family::Network,
    }
}

fn state_of(s: StateArg) -> State {
    match s {
        StateArg::Open => State::Open,
        StateArg::UnderReview => State::UnderReview,
        StateArg::Decided => State::Decided,
        StateArg::Enforced => State::Enforced,
        StateArg::Lifted => State::Lifted,
    }
}

impl StoreArgs {
    /// The store at `db` with its log at `dir` (private folder and pseudonym key as the flags default them), for
    /// commands that place findings without the `case` flags (`oversight run --cases DB`).
    pub(super) fn at(db: String, dir: PathBuf, private: Option<PathBuf>, pseudonym_key: Option<PathBuf>) -> StoreArgs {
        StoreArgs { db, dir, private, pseudonym_key, json: false }
    }
}
