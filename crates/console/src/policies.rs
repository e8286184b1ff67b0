//! The policy pack's texts, to quote the clause each finding enforces. A finding names its policy by id, version and
//! the SHA-256 of the policy file; the store keeps no clause, so the console reads the pack's files. Only `id`,
//! `version`, `title` and `[clause]` are read here (without `detect`, whose job the rest is).

use std::path::Path;

use cases::PolicyRef;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::ConsoleError;

/// The acceptable-use clause a policy enforces, as its file quotes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Clause {
    /// Whose clause (`AWS`, `Microsoft`, ...).
    pub provider: String,
    /// Where it is written, with its date.
    pub source: String,
    /// The words quoted.
    pub text: String,
}

/// What the console shows of one policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyText {
    /// Policy id.
    pub id: String,
    /// Policy version.
    pub version: u32,
    /// Its title.
    pub title: String,
    /// The clause it enforces.
    pub clause: Clause,
    /// SHA-256 of the file, as findings name it.
    pub sha256: String,
}

/// The parts of a policy file read here; the rest is ignored.
#[derive(Deserialize)]
struct File {
    id: String,
    version: u32,
    title: String,
    clause: Clause,
}

/// The policy texts the console knows.
#[derive(Debug, Clone, Default)]
pub struct Policies(Vec<PolicyText>);

impl Policies {
    /// Read policy files given as (file name, text), such as `detect::policy::BUILT_IN`.
    pub fn from_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Policies, ConsoleError> {
        let mut out = Vec::new();
        for (name, text) in files {
            let f: File = toml::from_str(text).map_err(|e| ConsoleError::Policy { file: name.to_string(), why: e.to_string() })?;
            out.push(PolicyText { id: f.id, version: f.version, title: f.title, clause: f.clause, sha256: hex::encode(Sha256::digest(text.as_bytes())) });
        }
        Ok(Policies(out))
    }

    /// Read every `*.toml` file of a policy folder.
    pub fn from_dir(dir: &Path) -> Result<Policies, ConsoleError> {
        let bad = |file: &Path, e: std::io::Error| ConsoleError::Policy { file: file.display().to_string(), why: e.to_string() };
        let mut files = Vec::new();
        for e in std::fs::read_dir(dir).map_err(|e| bad(dir, e))? {
            let path = e.map_err(|e| bad(dir, e))?.path();
            if path.extension().is_some_and(|x| x == "toml") {
                files.push((path.display().to_string(), std::fs::read_to_string(&path).map_err(|e| bad(&path, e))?));
            }
        }
        files.sort();
        Policies::from_files(files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
    }

    /// The text of the policy a finding names: the file with its hash (`true`: exactly the policy that fired), else one
    /// with its id and version (`false`: the file changed since).
    pub fn find(&self, policy: &PolicyRef) -> Option<(&PolicyText, bool)> {
        match self.0.iter().find(|p| p.sha256 == policy.sha256) {
            Some(p) => Some((p, true)),
            None => self.0.iter().find(|p| p.id == policy.id && p.version == policy.version).map(|p| (p, false)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "id = \"p\"\nversion = 2\ntitle = \"T\"\nseverity = \"high\"\n[clause]\nprovider = \"AWS\"\nsource = \"AUP\"\ntext = \"no\"\n[[condition]]\nsignal = \"s\"\n";

    #[test]
    fn a_finding_finds_its_policy_by_hash_then_by_version() {
        let p = Policies::from_files([("p.toml", FILE)]).unwrap();
        let sha256 = hex::encode(Sha256::digest(FILE.as_bytes()));
        let (text, exact) = p.find(&PolicyRef { id: "p".into(), version: 2, sha256 }).unwrap();
        assert!(exact && text.clause.text == "no" && text.title == "T");
        let (_, exact) = p.find(&PolicyRef { id: "p".into(), version: 2, sha256: "00".into() }).unwrap();
        assert!(!exact);
        assert!(p.find(&PolicyRef { id: "p".into(), version: 1, sha256: "00".into() }).is_none());
        let e = Policies::from_files([("bad.toml", "id = 1")]).unwrap_err();
        assert!(e.to_string().starts_with("policy file bad.toml: "), "{e}");
    }
}
